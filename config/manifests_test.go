// Package config holds the kustomize configuration of spaces-operator; this
// test renders it as users will and has a real API server validate it.
package config

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/avayacloud/spaces-operator/internal/testenv"
)

// TestInstallerAppliesToARealAPIServer renders dist/install.yaml with
// `make build-installer` and applies it to the envtest API server with
// server-side dry run, so every manifest is valid against a real server;
// then does the same for the samples against the installed CRDs.
func TestInstallerAppliesToARealAPIServer(t *testing.T) {
	env := controlPlane(t)
	dir := t.TempDir()
	kubeconfig, err := env.Kubeconfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	root := testenv.RepoRoot()
	kubectl := env.Kubectl()
	run := func(stdin []byte, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "KUBECTL="+kubectl)
		cmd.Stdin = bytes.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return string(out)
	}

	run(nil, "make", "-s", "build-installer", "IMG=registry.example/spaces-operator:test", "DIST="+dir, "KUBECTL="+kubectl)
	install, err := os.ReadFile(filepath.Join(dir, "install.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kind: Deployment", "image: registry.example/spaces-operator:test", "readOnlyRootFilesystem: true", "runAsNonRoot: true",
		"kind: CustomResourceDefinition", "name: spaces-operator-manager-role", "kind: Service", "--leader-elect"} {
		if !strings.Contains(string(install), want) {
			t.Errorf("install.yaml lacks %q", want)
		}
	}
	// Server-side dry run validates against the live schemas, but cannot
	// see a namespace it has not created: create that one for real.
	run(nil, kubectl, "create", "namespace", "spaces-operator-system")
	out := run(install, kubectl, "apply", "--server-side", "--dry-run=server", "-f", "-")
	if strings.Count(out, "(server dry run)") < 15 {
		t.Errorf("fewer objects than expected were validated:\n%s", out)
	}

	run(nil, kubectl, "create", "namespace", "samples")
	out = run(nil, kubectl, "apply", "--server-side", "--dry-run=server", "-n", "samples", "-k", "config/samples")
	for _, kind := range []string{"space.spaces.avayacloud.com/payments", "spaceinvite.spaces.avayacloud.com/payments-members", "serviceaccountuserset.spaces.avayacloud.com/payments-users"} {
		if !strings.Contains(out, kind) {
			t.Errorf("samples: %s not applied:\n%s", kind, out)
		}
	}
}
