// Package stack runs the whole of spaces-operator on one machine, as
// separate processes: the envtest control plane, the standalone fake Spaces,
// and managers. make demo and the end-to-end tests use it.
package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/avayacloud/spaces-operator/internal/testenv"
)

// Binaries are the programs the stack runs.
type Binaries struct {
	Manager    string
	SpacesFake string
}

// Build compiles the manager and the fake into dir with the flags of the
// Dockerfile (static, trimmed), so what is tested is what ships.
func Build(dir string) (Binaries, error) {
	b := Binaries{Manager: filepath.Join(dir, "manager"), SpacesFake: filepath.Join(dir, "spaces-fake")}
	for out, pkg := range map[string]string{b.Manager: "./cmd", b.SpacesFake: "./cmd/spaces-fake"} {
		cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
		cmd.Dir = testenv.RepoRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return b, fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return b, nil
}

// Stack is a running control plane and fake Spaces.
type Stack struct {
	Env        *testenv.Environment
	Dir        string
	Kubeconfig string
	KeyFile    string
	FakeURL    string
	bins       Binaries
	fake       *exec.Cmd
	procs      []*exec.Cmd
	// Log receives the output of the processes (nil: discarded).
	Log io.Writer
}

// Options configure Start.
type Options struct {
	// Dir holds the kubeconfig, key file and logs (created if missing).
	Dir string
	// Users the fake company has, so invitations find them.
	Users []string
	// Log receives process output.
	Log io.Writer
}

// Start starts the control plane (CRDs installed) and the fake Spaces.
func Start(bins Binaries, opts Options) (*Stack, error) {
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	s := &Stack{Dir: opts.Dir, bins: bins, Log: opts.Log, KeyFile: filepath.Join(opts.Dir, "service-key.json")}
	var err error
	if s.Env, err = testenv.Start(); err != nil {
		return nil, err
	}
	if s.Kubeconfig, err = s.Env.Kubeconfig(opts.Dir); err != nil {
		s.Stop()
		return nil, err
	}
	urlFile := filepath.Join(opts.Dir, "spaces-url")
	_ = os.Remove(urlFile)
	s.fake = s.command(bins.SpacesFake, "--listen", "127.0.0.1:0", "--key-file", s.KeyFile, "--url-file", urlFile, "--users", strings.Join(opts.Users, ","))
	if err := s.fake.Start(); err != nil {
		s.Stop()
		return nil, err
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(urlFile); err == nil && len(b) > 0 {
			s.FakeURL = strings.TrimSpace(string(b))
			break
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, errors.New("the fake Spaces did not start")
		}
	}
	return s, nil
}

// StartInTemp is Start for a test suite's TestMain: the binaries are built
// into a new temporary folder named after the suite, the stack starts
// there (process output on stderr when TEST_LOG is set), and stop ends it
// all and removes the folder.
func StartInTemp(suite string, users ...string) (s *Stack, stop func(), err error) {
	dir, err := os.MkdirTemp("", "spaces-"+suite+"-")
	if err != nil {
		return nil, nil, err
	}
	removeDir := func() { _ = os.RemoveAll(dir) }
	bins, err := Build(dir)
	if err != nil {
		removeDir()
		return nil, nil, err
	}
	opts := Options{Dir: dir, Users: users}
	if os.Getenv("TEST_LOG") != "" {
		opts.Log = os.Stderr
	}
	if s, err = Start(bins, opts); err != nil {
		removeDir()
		return nil, nil, err
	}
	return s, func() { s.Stop(); removeDir() }, nil
}

func (s *Stack) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+s.Kubeconfig)
	cmd.Stdout, cmd.Stderr = s.Log, s.Log
	// Its own process group, so a stop reaches it and only it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// Manager is a running manager process.
type Manager struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// StartManager runs a manager against the stack's API server and fake;
// args are added to the defaults (metrics and probes off, fake API URL).
func (s *Stack) StartManager(args ...string) (*Manager, error) {
	return s.StartManagerWith(s.Kubeconfig, args...)
}

// StartManagerWith is StartManager with another kubeconfig (one that
// impersonates the operator's service account, say).
func (s *Stack) StartManagerWith(kubeconfig string, args ...string) (*Manager, error) {
	base := []string{"--api-url", s.FakeURL, "--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--api-qps", "100", "--api-burst", "50"}
	cmd := s.command(s.bins.Manager, append(base, args...)...)
	cmd.Env = append(cmd.Env, "KUBECONFIG="+kubeconfig) // the last of a repeated variable wins (os/exec)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s.procs = append(s.procs, cmd)
	m := &Manager{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(m.done) }()
	return m, nil
}

// Kill ends the manager with SIGKILL, as a crash would.
func (m *Manager) Kill() {
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.done
}

// Stop ends the manager gracefully.
func (m *Manager) Stop() {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(15 * time.Second):
		m.Kill()
	}
}

// Exited reports whether the process has ended.
func (m *Manager) Exited() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// PID is the manager's process id.
func (m *Manager) PID() int { return m.cmd.Process.Pid }

// KubeconfigAs writes a kubeconfig that acts as the service account
// ns/name (the admin's credentials, impersonating it and its groups), so
// what runs with it has exactly the service account's permissions.
func (s *Stack) KubeconfigAs(ns, name string) (string, error) {
	cfg, err := clientcmd.LoadFromFile(s.Kubeconfig)
	if err != nil {
		return "", err
	}
	for _, auth := range cfg.AuthInfos {
		auth.Impersonate = "system:serviceaccount:" + ns + ":" + name
		auth.ImpersonateGroups = []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
	}
	path := filepath.Join(s.Dir, "kubeconfig-"+ns+"-"+name)
	return path, clientcmd.WriteToFile(*cfg, path)
}

// Kubectl runs kubectl against the stack, stdin optional.
func (s *Stack) Kubectl(ctx context.Context, stdin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, s.Env.Kubectl(), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+s.Kubeconfig)
	cmd.Dir = testenv.RepoRoot()
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// CreateCredentials stores the fake's key file as the Secret name in ns.
func (s *Stack) CreateCredentials(ctx context.Context, ns, name string) error {
	if _, err := s.Kubectl(ctx, "", "create", "namespace", ns); err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
		return err
	}
	_, err := s.Kubectl(ctx, "", "create", "secret", "generic", name, "-n", ns,
		"--from-file=service-key.json="+s.KeyFile, "--from-literal=api-url="+s.FakeURL)
	return err
}

// FakeState is the part of the fake's state the stack's users read.
type FakeState struct {
	Spaces map[string]struct {
		ID      string `json:"_id"`
		Title   string `json:"title"`
		Members []struct {
			UserID string `json:"member"`
			Role   string `json:"role"`
		} `json:"members"`
	} `json:"spaces"`
	Users map[string]struct {
		Email          string `json:"email"`
		Service        bool   `json:"serviceAccount"`
		PasswordSHA256 string `json:"passwordSHA256"`
	} `json:"users"`
	Calls map[string]int `json:"calls"`
	// Invitations counts invitations per invitee (lower-case email or id).
	Invitations map[string]int `json:"invitations"`
	// CreateAttempts counts user creates per lower-case email.
	CreateAttempts map[string]int `json:"createAttempts"`
	// Mints counts distinct tokens seen, per key id.
	Mints map[string]int `json:"mints"`
	// CallsInsideRetryAfter counts requests that came while a Retry-After
	// the fake sent was running.
	CallsInsideRetryAfter int `json:"callsInsideRetryAfter"`
}

// State fetches the fake's state.
func (s *Stack) State(ctx context.Context) (*FakeState, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(s.FakeURL, "/api")+"/_fake/state", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	var st FakeState
	return &st, json.NewDecoder(resp.Body).Decode(&st)
}

// AddFaults posts faults (JSON) to the fake.
func (s *Stack) AddFaults(ctx context.Context, faultsJSON string) error {
	return s.fakeControl(ctx, http.MethodPost, faultsJSON)
}

// ClearFaults removes the fake's faults.
func (s *Stack) ClearFaults(ctx context.Context) error {
	return s.fakeControl(ctx, http.MethodDelete, "")
}

func (s *Stack) fakeControl(ctx context.Context, method, body string) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(s.FakeURL, "/api")+"/_fake/faults", bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s /_fake/faults: %s", method, resp.Status)
	}
	return nil
}

// Stop ends every process and the control plane.
func (s *Stack) Stop() {
	for _, p := range s.procs {
		if p.Process != nil {
			_ = syscall.Kill(-p.Process.Pid, syscall.SIGTERM)
		}
	}
	if s.fake != nil && s.fake.Process != nil {
		_ = syscall.Kill(-s.fake.Process.Pid, syscall.SIGTERM)
		_ = s.fake.Wait()
	}
	if s.Env != nil {
		_ = s.Env.Stop()
	}
}

// FreeAddr finds a free loopback address for a process to listen on
// (closed again before it is returned; good enough for tests).
func FreeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}
