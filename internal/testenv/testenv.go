// Package testenv starts the envtest control plane (a real kube-apiserver and
// etcd, built offline by hack/envtest-assets.sh) with this project's CRDs
// installed, for tests in any package.
package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// RepoRoot is the root of this repository, found from this file's location so
// tests work from any package directory.
func RepoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("testenv: cannot locate source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// AssetsDir returns the folder holding kube-apiserver and etcd: the
// KUBEBUILDER_ASSETS variable when set (make test sets it), otherwise whatever
// hack/envtest-assets.sh prints, which builds the binaries only if they are
// not there yet. Nothing is ever downloaded.
func AssetsDir() (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	root := RepoRoot()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(root, "hack", "envtest-assets.sh"), filepath.Join(root, "bin"))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("hack/envtest-assets.sh failed (run `make envtest` to see why): %w\n%s", err, stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}

// Environment is a running control plane.
type Environment struct {
	Config *rest.Config
	env    *envtest.Environment
	// AssetsDir is the folder of the control-plane binaries.
	AssetsDir string
}

// Start starts a control plane with the CRDs of config/crd/bases installed.
// Call Stop when done (typically from TestMain).
func Start() (*Environment, error) {
	assets, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting envtest with assets from %s: %w", assets, err)
	}
	return &Environment{Config: cfg, env: env, AssetsDir: assets}, nil
}

// Stop stops the control plane.
func (e *Environment) Stop() error { return e.env.Stop() }

// Kubectl returns the kubectl tests should run: $KUBECTL when set, otherwise
// the one hack/envtest-assets.sh built from the same Kubernetes release as the
// API server, so client and server never drift apart.
func (e *Environment) Kubectl() string {
	if k := os.Getenv("KUBECTL"); k != "" {
		return k
	}
	return filepath.Join(e.AssetsDir, "kubectl")
}

// Kubeconfig writes a kubeconfig for an admin user of the control plane into
// dir and returns its path, for tools such as kubectl.
func (e *Environment) Kubeconfig(dir string) (string, error) {
	user, err := e.env.ControlPlane.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", err
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "kubeconfig")
	return path, os.WriteFile(path, data, 0o600)
}
