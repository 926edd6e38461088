// Package e2e runs the real manager binary, the standalone fake Spaces and
// kubectl against a real API server, as a platform team would.
package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/avayacloud/spaces-operator/internal/monitoring"
	"github.com/avayacloud/spaces-operator/internal/stack"
)

var (
	// probeAddr and metricsAddr are where the first manager serves.
	probeAddr, metricsAddr string
	st                     *stack.Stack
	// mgr is the manager the tests share; tests that kill it replace it.
	mgr   *stack.Manager
	mgrMu sync.Mutex
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	var stop func()
	var err error
	if st, stop, err = stack.StartInTemp("e2e", "bob@corp.example", "carol@corp.example"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stop()
	probeAddr, metricsAddr = stack.FreeAddr(), stack.FreeAddr()
	if mgr, err = startManager("--resync-period", "20s", "--health-probe-bind-address", probeAddr, "--metrics-bind-address", metricsAddr, "--metrics-secure=false"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// startManager starts a manager with a short Spaces request timeout: an
// interrupted create is looked for twice that long after it was sent, and
// the suite should not wait the production minute for it.
func startManager(args ...string) (*stack.Manager, error) {
	return st.StartManager(append([]string{"--api-timeout", "5s"}, args...)...)
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func kubectl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	out, err := st.Kubectl(ctx, stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func namespace(t *testing.T, name string) string {
	t.Helper()
	if err := st.CreateCredentials(context.Background(), name, "spaces-credentials"); err != nil {
		t.Fatal(err)
	}
	return name
}

func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
	}
}

func spacesTitled(t *testing.T, title string) []string {
	t.Helper()
	state, err := st.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for id, sp := range state.Spaces {
		if sp.Title == title {
			ids = append(ids, id)
		}
	}
	return ids
}

func TestE2E_SamplesBecomeReadyAndEditsReachSpaces(t *testing.T) {
	ns := namespace(t, "samples")
	kubectl(t, "", "apply", "-n", ns, "-k", "config/samples")
	kubectl(t, "", "wait", "--for=condition=Ready", "avayaspaces", "--all", "-n", ns, "--timeout=120s")
	if ids := spacesTitled(t, "Payments Team"); len(ids) != 1 {
		t.Fatalf("%d spaces titled Payments Team", len(ids))
	}
	kubectl(t, "", "patch", "space", "payments", "-n", ns, "--type", "merge", "-p", `{"spec":{"title":"Payments Renamed"}}`)
	eventually(t, "the new title in Spaces", time.Minute, func() bool { return len(spacesTitled(t, "Payments Renamed")) == 1 })
	kubectl(t, "", "wait", "--for=condition=Ready", "space/payments", "-n", ns, "--timeout=60s")
}

// TestE2E_ProbesAndMetrics: the manager serves its probes and, on /metrics,
// the Spaces client's metrics and the objects gauge next to
// controller-runtime's own.
func TestE2E_ProbesAndMetrics(t *testing.T) {
	ns := namespace(t, "metrics")
	kubectl(t, "apiVersion: spaces.avayacloud.com/v1alpha1\nkind: Space\nmetadata: {name: measured}\nspec: {title: Measured, credentialsRef: {name: spaces-credentials}}\n", "apply", "-n", ns, "-f", "-")
	kubectl(t, "", "wait", "--for=condition=Ready", "space/measured", "-n", ns, "--timeout=60s")
	for _, path := range []string{"/healthz", "/readyz"} {
		eventually(t, path, 30*time.Second, func() bool { code, _ := httpGet(t, "http://"+probeAddr+path); return code == 200 })
	}
	var body string
	eventually(t, "metrics after some work", 30*time.Second, func() bool {
		_, body = httpGet(t, "http://"+metricsAddr+"/metrics")
		return strings.Contains(body, "spaces_api_requests_total")
	})
	for _, want := range []string{"spaces_api_request_duration_seconds", "spaces_jwt_mints_total", `spaces_operator_objects{kind="Space",ready="True",reason="Synced",stalled="False"}`, "controller_runtime_reconcile_total"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The shipped alerts and dashboard query controller-runtime's metrics
	// too: a running manager exports each (internal/monitoring checks ours).
	_, names, err := monitoring.Shipped(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if (strings.HasPrefix(name, "controller_runtime_") || strings.HasPrefix(name, "workqueue_")) && !strings.Contains(body, "\n"+name+"{") {
			t.Errorf("the alerts or dashboard query %s, which /metrics lacks", name)
		}
	}

	// By default metrics are served over HTTPS, to authorized callers only.
	// (This manager watches a namespace that does not exist: it reconciles
	// nothing beside the shared one.)
	secureAddr := stack.FreeAddr()
	secure, err := startManager("--watch-namespaces", "no-such-namespace", "--metrics-bind-address", secureAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer secure.Stop()
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	eventually(t, "the secure endpoint to refuse an anonymous scrape", 60*time.Second, func() bool {
		resp, err := insecure.Get("https://" + secureAddr + "/metrics")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden
	})
	if resp, err := http.Get("http://" + secureAddr + "/metrics"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if strings.Contains(string(b), "spaces_api") {
			t.Fatal("metrics answered over plain HTTP")
		}
	}
}

func TestE2E_ReverseOrderConverges(t *testing.T) {
	ns := namespace(t, "reverse")
	manifests := `
apiVersion: spaces.avayacloud.com/v1alpha1
kind: SpaceInvite
metadata: {name: late-members}
spec:
  spaceRef: {name: late}
  invitees: [{email: bob@corp.example}, {email: carol@corp.example, role: admin}]
---
apiVersion: spaces.avayacloud.com/v1alpha1
kind: Space
metadata: {name: late}
spec:
  title: Late Space
  credentialsRef: {name: spaces-credentials}
`
	kubectl(t, manifests, "apply", "-n", ns, "-f", "-")
	kubectl(t, "", "wait", "--for=condition=Ready", "spaceinvite/late-members", "space/late", "-n", ns, "--timeout=120s")
	out := kubectl(t, "", "get", "spaceinvite", "late-members", "-n", ns, "-o", "jsonpath={.status.invitees[*].state}")
	if strings.Count(out, "Invited")+strings.Count(out, "Joined") != 2 {
		t.Fatalf("invitee states %q", out)
	}
}

func TestE2E_DeleteWithRetainAndDelete(t *testing.T) {
	ns := namespace(t, "deletion")
	kubectl(t, `
apiVersion: spaces.avayacloud.com/v1alpha1
kind: Space
metadata: {name: kept}
spec: {title: Kept Space, credentialsRef: {name: spaces-credentials}}
---
apiVersion: spaces.avayacloud.com/v1alpha1
kind: Space
metadata: {name: removed}
spec: {title: Removed Space, deletionPolicy: Delete, credentialsRef: {name: spaces-credentials}}
`, "apply", "-n", ns, "-f", "-")
	kubectl(t, "", "wait", "--for=condition=Ready", "space/kept", "space/removed", "-n", ns, "--timeout=120s")
	kubectl(t, "", "delete", "space", "kept", "removed", "-n", ns, "--timeout=60s")
	if n := len(spacesTitled(t, "Kept Space")); n != 1 {
		t.Errorf("Retain: %d spaces left, want 1", n)
	}
	if n := len(spacesTitled(t, "Removed Space")); n != 0 {
		t.Errorf("Delete: %d spaces left, want 0", n)
	}
}

// TestE2E_KillDuringCreatesLeavesNoDuplicates: the manager is SIGKILLed
// while 50 Spaces are being created (creates are slowed down to be sure),
// and restarted: every Space ends Ready with exactly one space in Spaces.
func TestE2E_KillDuringCreatesLeavesNoDuplicates(t *testing.T) {
	ns := namespace(t, "crash")
	ctx := context.Background()
	if err := st.AddFaults(ctx, `{"route":"POST /spaces/invite","latency":250000000}`); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.ClearFaults(ctx) }()
	var b strings.Builder
	for i := range 50 {
		fmt.Fprintf(&b, "---\napiVersion: spaces.avayacloud.com/v1alpha1\nkind: Space\nmetadata: {name: crash-%02d}\nspec: {title: Crash %02d, credentialsRef: {name: spaces-credentials}}\n", i, i)
	}
	kubectl(t, b.String(), "apply", "-n", ns, "-f", "-")
	eventually(t, "some creates under way", time.Minute, func() bool {
		state, _ := st.State(ctx)
		return state != nil && state.Calls["POST /spaces/invite"] >= 8
	})
	mgrMu.Lock()
	mgr.Kill()
	var err error
	mgr, err = startManager("--resync-period", "20s")
	mgrMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	kubectl(t, "", "wait", "--for=condition=Ready", "spaces", "--all", "-n", ns, "--timeout=180s")
	for i := range 50 {
		if ids := spacesTitled(t, fmt.Sprintf("Crash %02d", i)); len(ids) != 1 {
			t.Errorf("Crash %02d: %d spaces in Spaces, want exactly 1", i, len(ids))
		}
	}
}

// TestE2E_LeaderElectionFailover: two managers with leader election; the
// leader is SIGKILLed; the other takes over and reconciles.
func TestE2E_LeaderElectionFailover(t *testing.T) {
	ns := namespace(t, "failover")
	mgrMu.Lock()
	defer mgrMu.Unlock()
	mgr.Stop()
	args := []string{"--resync-period", "20s", "--leader-elect", "--leader-election-namespace", "default"}
	leader, err := startManager(args...)
	if err != nil {
		t.Fatal(err)
	}
	lease := func() string {
		out, err := st.Kubectl(context.Background(), "", "get", "lease", "-n", "default", "spaces-operator.spaces.avayacloud.com", "-o", "jsonpath={.spec.holderIdentity}")
		if err != nil {
			return ""
		}
		return out
	}
	eventually(t, "the first manager to lead", time.Minute, func() bool { return lease() != "" })
	first := lease()
	follower, err := startManager(args...)
	if err != nil {
		t.Fatal(err)
	}
	mgr = follower
	kubectl(t, "apiVersion: spaces.avayacloud.com/v1alpha1\nkind: Space\nmetadata: {name: before}\nspec: {title: Before Failover, credentialsRef: {name: spaces-credentials}}\n", "apply", "-n", ns, "-f", "-")
	kubectl(t, "", "wait", "--for=condition=Ready", "space/before", "-n", ns, "--timeout=60s")

	leader.Kill()
	kubectl(t, "apiVersion: spaces.avayacloud.com/v1alpha1\nkind: Space\nmetadata: {name: after}\nspec: {title: After Failover, credentialsRef: {name: spaces-credentials}}\n", "apply", "-n", ns, "-f", "-")
	kubectl(t, "", "wait", "--for=condition=Ready", "space/after", "-n", ns, "--timeout=90s")
	if now := lease(); now == first || now == "" {
		t.Fatalf("the lease is still held by %q", now)
	}
	if follower.Exited() {
		t.Fatal("the follower exited")
	}
}

// TestE2E_WatchNamespacesAndDefaultCredentials: a manager sharded to one
// namespace reconciles only there, with a default account whose key is kept
// in another namespace (the operator's own).
func TestE2E_WatchNamespacesAndDefaultCredentials(t *testing.T) {
	namespace(t, "ops") // holds the default credentials
	kubectl(t, "", "create", "namespace", "shard")
	kubectl(t, "", "create", "namespace", "elsewhere")
	mgrMu.Lock()
	defer mgrMu.Unlock()
	mgr.Stop()
	var err error
	kubectl(t, "", "label", "namespace", "shard", "spaces.avayacloud.com/account=corp")
	kubectl(t, `
apiVersion: spaces.avayacloud.com/v1alpha1
kind: ClusterSpacesAccount
metadata: {name: corp}
spec:
  secretRef: {namespace: ops, name: spaces-credentials}
  namespaceSelector: {matchLabels: {spaces.avayacloud.com/account: corp}}
  allow: {createSpaces: true}
`, "apply", "-f", "-")
	mgr, err = startManager("--watch-namespaces", "shard", "--default-account", "corp", "--operator-namespace", "ops")
	if err != nil {
		t.Fatal(err)
	}
	space := "apiVersion: spaces.avayacloud.com/v1alpha1\nkind: Space\nmetadata: {name: sharded}\nspec: {title: %s}\n"
	kubectl(t, fmt.Sprintf(space, "In The Shard"), "apply", "-n", "shard", "-f", "-")
	kubectl(t, fmt.Sprintf(space, "Out Of The Shard"), "apply", "-n", "elsewhere", "-f", "-")
	kubectl(t, "", "wait", "--for=condition=Ready", "space/sharded", "-n", "shard", "--timeout=60s")
	if n := len(spacesTitled(t, "In The Shard")); n != 1 {
		t.Fatalf("%d spaces in Spaces for the sharded Space", n)
	}
	time.Sleep(3 * time.Second)
	if out := kubectl(t, "", "get", "space", "sharded", "-n", "elsewhere", "-o", "jsonpath={.status.conditions}"); out != "" {
		t.Fatalf("a Space outside the shard was reconciled: %s", out)
	}
	if n := len(spacesTitled(t, "Out Of The Shard")); n != 0 {
		t.Fatal("a Space outside the shard reached Spaces")
	}
	// The default account's Secret is in use, so it carries the finalizer,
	// and the account reports the key works.
	kubectl(t, "", "wait", "--for=condition=Ready", "clusterspacesaccount/corp", "--timeout=60s")
	if out := kubectl(t, "", "get", "secret", "spaces-credentials", "-n", "ops", "-o", "jsonpath={.metadata.finalizers}"); !strings.Contains(out, "spaces.avayacloud.com/in-use") {
		t.Fatalf("default credentials finalizers: %q", out)
	}
}

// TestE2E_RestartIsFree: a manager started over 40 Ready Spaces does not
// re-read them all at once (one Spaces call each, ahead of any new work):
// their drift checks are spread over the resync period, and a Space
// created right after the restart is Ready at once.
func TestE2E_RestartIsFree(t *testing.T) {
	ns := namespace(t, "restart")
	mgrMu.Lock()
	defer mgrMu.Unlock()
	mgr.Stop()
	args := []string{"--resync-period", "2m", "--watch-namespaces", ns}
	first, err := startManager(args...)
	if err != nil {
		t.Fatal(err)
	}
	mgr = first
	var b strings.Builder
	for i := range 40 {
		fmt.Fprintf(&b, "---\napiVersion: spaces.avayacloud.com/v1alpha1\nkind: Space\nmetadata: {name: steady-%02d}\nspec: {title: Steady %02d, credentialsRef: {name: spaces-credentials}}\n", i, i)
	}
	kubectl(t, b.String(), "apply", "-n", ns, "-f", "-")
	kubectl(t, "", "wait", "--for=condition=Ready", "spaces", "--all", "-n", ns, "--timeout=120s")

	first.Stop()
	gets := func() int {
		state, err := st.State(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return state.Calls["GET /spaces/{id}"]
	}
	before := gets()
	restarted, err := startManager(args...)
	if err != nil {
		t.Fatal(err)
	}
	mgr = restarted
	start := time.Now()
	kubectl(t, "apiVersion: spaces.avayacloud.com/v1alpha1\nkind: Space\nmetadata: {name: fresh}\nspec: {title: Fresh after restart, credentialsRef: {name: spaces-credentials}}\n", "apply", "-n", ns, "-f", "-")
	kubectl(t, "", "wait", "--for=condition=Ready", "space/fresh", "-n", ns, "--timeout=60s")
	ready := time.Since(start)
	time.Sleep(10*time.Second - min(ready, 10*time.Second)) // the window: 10 s of a 2 min period
	// Expected about 40 x 10 s / 2 min = 3.3 reads; re-reading all would be 40.
	if n := gets() - before; n > 15 {
		t.Errorf("%d reads of Ready spaces in the first 10 s after the restart; their checks are not spread", n)
	}
	if ready > 15*time.Second {
		t.Errorf("a Space created right after the restart took %s to be Ready", ready)
	}
	t.Logf("after the restart: %d reads of 40 Ready spaces in 10 s; a new Space Ready in %s", gets()-before, ready.Round(100*time.Millisecond))

	mgr.Stop()
	if mgr, err = startManager("--resync-period", "20s"); err != nil {
		t.Fatal(err)
	}
}
