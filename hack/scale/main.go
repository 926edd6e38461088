// Command scale measures what spaces-operator spends at scale, the way it
// runs in a cluster: the envtest control plane, the standalone fake Spaces
// answering every request after a latency, and the manager as a process.
// It prints one table of figures (make bench-scale; not part of make test):
//
//   - create: N Spaces with settings at the manager's defaults: Spaces
//     calls and Kubernetes writes per new Space, time to all Ready against
//     the rate bound of the two calls each, JWTs minted, in-use reconciles;
//   - restart: Spaces calls in the first minute after a restart with N
//     Ready (default resync period);
//   - backlog: a restart with a resync period the drift share cannot keep
//     (the effective period is read from the manager's metric), and the
//     create → Ready time of single new Spaces while the rechecks run;
//   - retry-after: two Secrets holding one key, a 429 with Retry-After:
//     requests either sends inside the window;
//   - fast: N Spaces with the quota out of the way (--api-qps 1000, 16
//     workers): time to all Ready against the latency bound, manager CPU
//     per new Space;
//   - memory: the manager's RSS with -memory-n Spaces and as many
//     SpaceInvites Ready.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/memlimit"
	"github.com/avayacloud/spaces-operator/internal/spaces"
	"github.com/avayacloud/spaces-operator/internal/stack"
)

// options are the flags that shape the runs and what they record.
type options struct {
	n, memoryN, singles int
	latency             time.Duration
	skip                []string
	// writers is how many objects createAll creates at once.
	writers int
	// memoryLimit is the container memory limit of the memory phase.
	memoryLimit string
	// cpuProfile and apiserverProfile receive CPU profiles of the manager
	// and of kube-apiserver taken while the fast phase creates;
	// heapProfile, the manager's heap at the end of the memory phase.
	cpuProfile, apiserverProfile, heapProfile string
}

type bench struct {
	options
	st      *stack.Stack
	k8s     client.WithWatch
	logPath string
	rows    [][3]string
	mgr     *stack.Manager
	metrics string
	// pprof is where the manager serves profiles.
	pprof string
	// managerBinary is the manager's executable.
	managerBinary string
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 1000, "Spaces in the fleet")
	flag.IntVar(&o.memoryN, "memory-n", 10000, "Spaces, and as many SpaceInvites, for the memory figure (0: skip it)")
	flag.DurationVar(&o.latency, "latency", 50*time.Millisecond, "latency of every Spaces request")
	flag.IntVar(&o.singles, "singles", 20, "single Spaces created one at a time while the rechecks run")
	skip := flag.String("skip", "", "comma-separated phases to skip (create, restart, backlog, retry-after, fast, memory)")
	flag.IntVar(&o.writers, "writers", 16, "objects created at once")
	flag.StringVar(&o.memoryLimit, "memory-limit", "128Mi", "the container memory limit the memory phase runs the manager under: GOMEMLIMIT is set as the manager sets it from its cgroup (memlimit.Soft: 90 % of the limit less the binary's image) (empty: none)")
	flag.StringVar(&o.cpuProfile, "cpu-profile", "", "write a CPU profile of the manager, taken while the fast phase creates, to this file")
	flag.StringVar(&o.apiserverProfile, "apiserver-cpu-profile", "", "write a CPU profile of kube-apiserver, taken while the fast phase creates, to this file")
	flag.StringVar(&o.heapProfile, "heap-profile", "", "write a heap profile of the manager, taken at the end of the memory phase, to this file")
	flag.Parse()
	o.skip = strings.Split(*skip, ",")
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	dir, err := os.MkdirTemp("", "spaces-scale-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	bins, err := stack.Build(dir)
	if err != nil {
		return err
	}
	logPath := filepath.Join(dir, "processes.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer func() { _ = logFile.Close() }()
	st, err := stack.Start(bins, stack.Options{Dir: dir, Users: []string{"bob@corp.example"}, Log: logFile})
	if err != nil {
		return err
	}
	defer st.Stop()
	cfg := rest.CopyConfig(st.Env.Config)
	cfg.QPS, cfg.Burst = 2000, 4000
	scheme := runtime.NewScheme()
	_ = corev1.AddToScheme(scheme)
	_ = spacesv1alpha1.AddToScheme(scheme)
	k8s, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	b := &bench{options: o, st: st, k8s: k8s, logPath: logPath, managerBinary: bins.Manager}
	defer func() {
		if b.mgr != nil {
			b.mgr.Stop()
		}
	}()
	if err := b.slowSpaces(); err != nil {
		return err
	}
	fmt.Printf("spaces-operator at scale: N=%d, Spaces latency %v, %s\n\n", o.n, o.latency, time.Now().UTC().Format(time.RFC3339))
	phases := []struct {
		name string
		run  func() error
	}{
		{"create", func() error { return b.create(o.n) }},
		{"restart", func() error { return b.restart(o.n) }},
		{"backlog", func() error { return b.backlog(o.n, o.singles) }},
		{"retry-after", b.retryAfter},
		{"fast", func() error { return b.fast(o.n) }},
		{"memory", func() error { return b.memory(o.memoryN) }},
	}
	for _, p := range phases {
		if slices.Contains(o.skip, p.name) || (p.name == "memory" && o.memoryN == 0) {
			continue
		}
		start := time.Now()
		if err := p.run(); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		fmt.Fprintf(os.Stderr, "phase %s done in %s\n", p.name, time.Since(start).Round(time.Second))
	}
	fmt.Println("| figure | measured | bound |")
	fmt.Println("|---|---|---|")
	for _, r := range b.rows {
		fmt.Printf("| %s | %s | %s |\n", r[0], r[1], r[2])
	}
	return nil
}

func (b *bench) row(figure, measured, bound string) {
	b.rows = append(b.rows, [3]string{figure, measured, bound})
	fmt.Fprintf(os.Stderr, "  %s: %s (%s)\n", figure, measured, bound)
}

// slowSpaces makes every Spaces request take the latency.
func (b *bench) slowSpaces() error {
	return b.st.AddFaults(context.Background(), fmt.Sprintf(`{"route":"*","latency":%d}`, b.latency.Nanoseconds()))
}

// startManager (re)starts the manager with metrics served on a free port.
func (b *bench) startManager(args ...string) error {
	if b.mgr != nil {
		b.mgr.Stop()
	}
	b.metrics, b.pprof = stack.FreeAddr(), stack.FreeAddr()
	m, err := b.st.StartManager(append([]string{"--metrics-bind-address", b.metrics, "--metrics-secure=false", "--pprof-bind-address", b.pprof,
		"--api-timeout", "10s", "--zap-log-level", "info"}, args...)...)
	if err != nil {
		return err
	}
	b.mgr = m
	return nil
}

// defaults are the manager's production defaults, spelled out: the stack
// starts it faster.
var defaults = []string{"--api-qps", strconv.FormatFloat(spaces.DefaultQPS, 'f', -1, 64), "--api-burst", strconv.Itoa(spaces.DefaultBurst), "--max-concurrent-reconciles", "4"}

func (b *bench) namespace(name string) error {
	return b.st.CreateCredentials(context.Background(), name, "spaces-credentials")
}

func spaceNamed(ns, name string) *spacesv1alpha1.Space {
	return &spacesv1alpha1.Space{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spacesv1alpha1.SpaceSpec{
		Title: "Scale " + ns + " " + name, Description: new("measured"),
		CredentialsRef: &spacesv1alpha1.CredentialsReference{Name: "spaces-credentials"},
		Settings:       &spacesv1alpha1.SpaceSettings{MemberOnly: new(true), DenyGuestHistory: new(true)},
	}}
}

// createAll creates objects, writers at once.
func (b *bench) createAll(objs []client.Object) error {
	work := make(chan client.Object)
	errs := make(chan error, b.writers)
	var wg sync.WaitGroup
	for range b.writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range work {
				if err := b.k8s.Create(context.Background(), o); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for _, o := range objs {
		select {
		case work <- o:
		case err := <-errs:
			close(work)
			wg.Wait()
			return err
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// fleetOf is n Spaces with settings in ns.
func fleetOf(ns string, n int) []client.Object {
	out := make([]client.Object, n)
	for i := range out {
		out[i] = spaceNamed(ns, fmt.Sprintf("s%05d", i))
	}
	return out
}

// readyAtGeneration reports Ready=True about the current generation.
func readyAtGeneration(generation int64, conds []metav1.Condition) bool {
	c := meta.FindStatusCondition(conds, spacesv1alpha1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == generation
}

// waitReady waits until n objects of list's kind in ns are Ready, by a
// watch: polling lists of thousands of objects would load the API server
// the operator is being measured against.
func (b *bench) waitReady(ns string, list client.ObjectList, n int, timeout time.Duration) (time.Time, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ready := map[string]bool{}
	count := func(o runtime.Object) {
		var gen int64
		var conds []metav1.Condition
		var name string
		switch x := o.(type) {
		case *spacesv1alpha1.Space:
			gen, conds, name = x.Generation, x.Status.Conditions, x.Name
		case *spacesv1alpha1.SpaceInvite:
			gen, conds, name = x.Generation, x.Status.Conditions, x.Name
		default:
			return
		}
		if readyAtGeneration(gen, conds) {
			ready[name] = true
		} else {
			delete(ready, name)
		}
	}
	for {
		// List, then watch from there; a watch the server ends is taken up
		// again from a new list.
		if err := b.k8s.List(ctx, list, client.InNamespace(ns)); err != nil {
			return time.Time{}, err
		}
		clear(ready)
		_ = meta.EachListItem(list, func(o runtime.Object) error { count(o); return nil })
		if len(ready) >= n {
			return time.Now(), nil
		}
		rv, _ := meta.NewAccessor().ResourceVersion(list)
		w, err := b.k8s.Watch(ctx, list, client.InNamespace(ns), &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv}})
		if err != nil {
			return time.Time{}, err
		}
		for e := range w.ResultChan() {
			count(e.Object)
			if len(ready) >= n {
				w.Stop()
				return time.Now(), nil
			}
		}
		w.Stop()
		if ctx.Err() != nil {
			return time.Time{}, fmt.Errorf("%d of %d Ready in %s after %s", len(ready), n, ns, timeout)
		}
	}
}

// create: N Spaces at the defaults.
func (b *bench) create(n int) error {
	ns := "fleet"
	if err := b.namespace(ns); err != nil {
		return err
	}
	if err := b.startManager(append(slices.Clone(defaults), "--resync-period", "10m")...); err != nil {
		return err
	}
	if err := b.waitMetrics(); err != nil {
		return err
	}
	before, err := b.snapshot()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := b.createAll(fleetOf(ns, n)); err != nil {
		return err
	}
	done, err := b.waitReady(ns, &spacesv1alpha1.SpaceList{}, n, 2*time.Hour)
	if err != nil {
		return err
	}
	took := done.Sub(start)
	time.Sleep(2 * time.Second) // the last status writes' events
	after, err := b.snapshot()
	if err != nil {
		return err
	}
	calls := sum(after.state.Calls) - sum(before.state.Calls)
	writes := after.since(before, "rest_client_requests_total", "method", "PATCH", "PUT")
	posts := after.since(before, "rest_client_requests_total", "method", "POST")
	b.row("Spaces calls per new Space (defaults)", fmt.Sprintf("%.2f (%s)", float64(calls)/float64(n), routes(before.state.Calls, after.state.Calls)), "2")
	b.row("Kubernetes writes per new Space", fmt.Sprintf("%.2f PATCH/PUT + %.2f POST (events)", float64(writes)/float64(n), float64(posts)/float64(n)), "3 + 1 event")
	bound := (2*float64(n) - float64(spaces.DefaultBurst)) / spaces.DefaultQPS
	b.row(fmt.Sprintf("%d Spaces Ready (qps %v, 4 workers)", n, spaces.DefaultQPS), fmt.Sprintf("%.0f s = %.3f × the rate bound", took.Seconds(), took.Seconds()/bound),
		fmt.Sprintf("1.05 × %.0f s (2 calls each)", bound))
	b.row("JWTs minted", fmt.Sprintf("%.0f", after.since(before, "spaces_jwt_mints_total")), "1 per key")
	b.row("in-use Secret reconciles", fmt.Sprintf("%.0f", after.since(before, "controller_runtime_reconcile_total", "controller", "credentials-in-use")),
		fmt.Sprintf("≤ N = %d", n))
	b.row("manager CPU per new Space (defaults)", fmt.Sprintf("%.1f ms", (after.cpu-before.cpu).Seconds()*1000/float64(n)), "")
	return nil
}

// restart: the first minute after a restart with N Ready.
func (b *bench) restart(n int) error {
	before, err := b.st.State(context.Background())
	if err != nil {
		return err
	}
	if err := b.startManager(append(slices.Clone(defaults), "--resync-period", "10m")...); err != nil {
		return err
	}
	time.Sleep(60 * time.Second)
	after, err := b.st.State(context.Background())
	if err != nil {
		return err
	}
	calls := sum(after.Calls) - sum(before.Calls)
	b.row(fmt.Sprintf("Spaces calls in the first minute after a restart, %d Ready, resync 10m", n), strconv.Itoa(calls), fmt.Sprintf("≤ %.0f (N × 60 s / resync × 1.1)", float64(n)*60/600*1.1))
	return nil
}

// backlog: rechecks the drift share cannot keep up with, and single new
// Spaces meanwhile.
func (b *bench) backlog(n, singles int) error {
	const resync = time.Minute
	if err := b.startManager(append(slices.Clone(defaults), "--resync-period", resync.String())...); err != nil {
		return err
	}
	if err := b.waitMetrics(); err != nil {
		return err
	}
	// Let the first looks come due and the drift share fill up.
	time.Sleep(resync / 2)
	ns := "singles"
	if err := b.namespace(ns); err != nil {
		return err
	}
	var took []time.Duration
	for i := range singles {
		sp := spaceNamed(ns, fmt.Sprintf("one-%02d", i))
		start := time.Now()
		if err := b.k8s.Create(context.Background(), sp); err != nil {
			return err
		}
		for {
			if err := b.k8s.Get(context.Background(), client.ObjectKeyFromObject(sp), sp); err != nil {
				return err
			}
			if readyAtGeneration(sp.Generation, sp.Status.Conditions) {
				break
			}
			if time.Since(start) > 5*time.Minute {
				return fmt.Errorf("single Space %s not Ready after 5 min", sp.Name)
			}
			time.Sleep(20 * time.Millisecond)
		}
		took = append(took, time.Since(start))
		time.Sleep(time.Second)
	}
	slices.Sort(took)
	own := 2 * (time.Second/time.Duration(spaces.DefaultQPS) + b.latency)
	b.row(fmt.Sprintf("create → Ready of a single new Space while %d others are rechecked (resync %s)", n, resync),
		fmt.Sprintf("p50 %.2f s, p99 %.2f s", took[len(took)/2].Seconds(), took[int(math.Ceil(0.99*float64(len(took))))-1].Seconds()),
		fmt.Sprintf("p99 ≤ 2 s + its own calls (%.2f s)", own.Seconds()))
	m, err := b.scrape()
	if err != nil {
		return err
	}
	period := m.sum("spaces_operator_drift_period_seconds")
	share := spaces.DefaultQPS * spaces.DefaultDriftShare
	b.row("effective drift period (metric)", fmt.Sprintf("%.0f s", period),
		fmt.Sprintf("max(resync %s, N / (share × qps) = %.0f s)", resync, float64(n)/share))
	said, err := countLines(b.logPath, "Drift checks stretch beyond the resync period")
	if err != nil {
		return err
	}
	stretches := 0
	if float64(n)/share > resync.Seconds()*1.1 {
		stretches = 1
	}
	b.row("the stretch said in the log", fmt.Sprintf("%d times", said), fmt.Sprintf("%d (once per stretch)", stretches))
	return nil
}

// retryAfter: two Secrets, one key, and a 429 with Retry-After.
func (b *bench) retryAfter() error {
	if err := b.startManager(append(slices.Clone(defaults), "--resync-period", "10m")...); err != nil {
		return err
	}
	ctx := context.Background()
	for _, ns := range []string{"twin-a", "twin-b"} {
		if err := b.namespace(ns); err != nil {
			return err
		}
	}
	if err := b.st.ClearFaults(ctx); err != nil {
		return err
	}
	if err := b.st.AddFaults(ctx, `{"route":"POST /spaces/invite","status":429,"retryAfter":"5","times":1}`); err != nil {
		return err
	}
	if err := b.slowSpaces(); err != nil {
		return err
	}
	before, err := b.st.State(ctx)
	if err != nil {
		return err
	}
	objs := append(fleetOf("twin-a", 10), fleetOf("twin-b", 10)...)
	if err := b.createAll(objs); err != nil {
		return err
	}
	for _, ns := range []string{"twin-a", "twin-b"} {
		if _, err := b.waitReady(ns, &spacesv1alpha1.SpaceList{}, 10, 5*time.Minute); err != nil {
			return err
		}
	}
	after, err := b.st.State(ctx)
	if err != nil {
		return err
	}
	b.row("requests inside a Retry-After window, two Secrets holding one key", strconv.Itoa(after.CallsInsideRetryAfter-before.CallsInsideRetryAfter), "0")
	return nil
}

// fast: the quota out of the way.
func (b *bench) fast(n int) error {
	const workers = 16
	if err := b.startManager("--api-qps", "1000", "--api-burst", "1000", "--max-concurrent-reconciles", strconv.Itoa(workers), "--resync-period", "10m"); err != nil {
		return err
	}
	if err := b.waitMetrics(); err != nil {
		return err
	}
	time.Sleep(5 * time.Second) // the restart's own start-up
	ns := "fast"
	if err := b.namespace(ns); err != nil {
		return err
	}
	profiled := make(chan error, 2)
	take := func(file string, profile func(seconds int, file string) error) {
		if file == "" {
			profiled <- nil
			return
		}
		go func() { profiled <- profile(20, file) }()
	}
	take(b.cpuProfile, func(seconds int, file string) error {
		return b.profile(fmt.Sprintf("profile?seconds=%d", seconds), file)
	})
	take(b.apiserverProfile, b.apiserverCPUProfile)
	before, err := b.snapshot()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := b.createAll(fleetOf(ns, n)); err != nil {
		return err
	}
	created := time.Since(start)
	done, err := b.waitReady(ns, &spacesv1alpha1.SpaceList{}, n, time.Hour)
	if err != nil {
		return err
	}
	after, err := b.snapshot()
	if err != nil {
		return err
	}
	cpu := after.cpu - before.cpu
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(after.others)) {
		parts = append(parts, fmt.Sprintf("%s %.1f s", name, (after.others[name]-before.others[name]).Seconds()))
	}
	var requests []string
	for _, method := range []string{"GET", "LIST", "POST", "PUT", "PATCH", "DELETE"} {
		if d := after.since(before, "rest_client_requests_total", "method", method); d > 0 {
			requests = append(requests, fmt.Sprintf("%s %.0f", method, d))
		}
	}
	var meanRequest time.Duration
	if count := after.since(before, "spaces_api_request_duration_seconds_count"); count > 0 {
		meanRequest = time.Duration(after.since(before, "spaces_api_request_duration_seconds_sum") / count * float64(time.Second))
	}
	b.row("  where the time went (qps 1000)", fmt.Sprintf("the %d objects created in %.1f s; a Spaces request took %v on average; the manager's Kubernetes requests: %s; CPU: manager %.1f s, %s",
		n, created.Seconds(), meanRequest.Round(time.Millisecond), strings.Join(requests, ", "), cpu.Seconds(), strings.Join(parts, ", ")), "")
	for range 2 {
		if err := <-profiled; err != nil {
			return err
		}
	}
	took := done.Sub(start)
	bound := time.Duration(2*n/workers) * b.latency
	b.row(fmt.Sprintf("%d Spaces Ready (qps 1000, %d workers)", n, workers), fmt.Sprintf("%.1f s = %.2f × the latency bound", took.Seconds(), took.Seconds()/bound.Seconds()),
		fmt.Sprintf("2 × %.1f s (2 calls × %v / %d workers each)", bound.Seconds(), b.latency, workers))
	b.row("manager CPU per new Space (qps 1000)", fmt.Sprintf("%.1f ms", cpu.Seconds()*1000/float64(n)), "≤ 5 ms")
	return nil
}

// memory: the manager's RSS with many objects Ready.
func (b *bench) memory(n int) error {
	const workers = 16
	limit := "no memory limit"
	if b.memoryLimit != "" {
		q, err := resource.ParseQuantity(b.memoryLimit)
		if err != nil {
			return fmt.Errorf("-memory-limit: %w", err)
		}
		soft := memlimit.Soft(q.Value(), memlimit.ImageSize(b.managerBinary))
		if err := os.Setenv("GOMEMLIMIT", strconv.FormatInt(soft, 10)); err != nil {
			return err
		}
		defer func() { _ = os.Unsetenv("GOMEMLIMIT") }()
		limit = fmt.Sprintf("limit %s, GOMEMLIMIT %d MiB", b.memoryLimit, soft>>20)
	}
	if err := b.startManager("--api-qps", "1000", "--api-burst", "1000", "--max-concurrent-reconciles", strconv.Itoa(workers), "--resync-period", "10m"); err != nil {
		return err
	}
	ns := "memory"
	if err := b.namespace(ns); err != nil {
		return err
	}
	if err := b.createAll(fleetOf(ns, n)); err != nil {
		return err
	}
	if _, err := b.waitReady(ns, &spacesv1alpha1.SpaceList{}, n, 2*time.Hour); err != nil {
		return err
	}
	rssSpaces := procStatus(b.mgr.PID())["VmRSS"]
	liveSpaces, err := b.liveHeap()
	if err != nil {
		return err
	}
	invites := make([]client.Object, n)
	for i := range invites {
		invites[i] = &spacesv1alpha1.SpaceInvite{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("i%05d", i)}, Spec: spacesv1alpha1.SpaceInviteSpec{
			SpaceRef: &spacesv1alpha1.SpaceReference{Name: fmt.Sprintf("s%05d", i)}, Notify: spacesv1alpha1.NotifyEmail,
			Invitees: []spacesv1alpha1.Invitee{{Email: "bob@corp.example"}},
		}}
	}
	if err := b.createAll(invites); err != nil {
		return err
	}
	if _, err := b.waitReady(ns, &spacesv1alpha1.SpaceInviteList{}, n, 2*time.Hour); err != nil {
		return err
	}
	time.Sleep(10 * time.Second)
	// One reading, before the profiles below force collections.
	st := procStatus(b.mgr.PID())
	if b.heapProfile != "" {
		if err := b.profile("heap?gc=1", b.heapProfile); err != nil {
			return err
		}
	}
	live, err := b.liveHeap()
	if err != nil {
		return err
	}
	b.row(fmt.Sprintf("manager RSS, %d Spaces Ready (%s)", n, limit), fmt.Sprintf("%d MiB (live heap %d MiB)", rssSpaces>>20, liveSpaces>>20), "")
	b.row(fmt.Sprintf("manager RSS, %d Spaces + %d SpaceInvites Ready (%s)", n, n, limit), fmt.Sprintf("%d MiB (anonymous %d MiB, the binary's pages %d MiB), peak %d MiB (live heap %d MiB)",
		st["VmRSS"]>>20, st["RssAnon"]>>20, st["RssFile"]>>20, st["VmHWM"]>>20, live>>20), "≤ 128 MiB")
	return nil
}

// profile writes the manager's /debug/pprof/<which> to file.
func (b *bench) profile(which, file string) error {
	return download(http.DefaultClient, fmt.Sprintf("http://%s/debug/pprof/%s", b.pprof, which), file)
}

// apiserverCPUProfile writes a CPU profile of kube-apiserver over seconds
// to file (its --profiling is on by default; the bench is an admin).
func (b *bench) apiserverCPUProfile(seconds int, file string) error {
	hc, err := rest.HTTPClientFor(b.st.Env.Config)
	if err != nil {
		return err
	}
	return download(hc, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", strings.TrimSuffix(b.st.Env.Config.Host, "/"), seconds), file)
}

func download(hc *http.Client, url, file string) error {
	resp, err := hc.Get(url)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// liveHeap is the manager's heap in use right after a collection.
func (b *bench) liveHeap() (int64, error) {
	resp, err := http.Get("http://" + b.pprof + "/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "# HeapAlloc = "); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, errors.New("the heap profile names no HeapAlloc")
}

// snapshot is what a phase compares before and after its work: the
// fake's state, the manager's metrics, and the CPU time of the manager and
// of the rest of the stack.
type snapshot struct {
	state   *stack.FakeState
	metrics metrics
	cpu     time.Duration
	others  map[string]time.Duration
}

func (b *bench) snapshot() (snapshot, error) {
	state, err := b.st.State(context.Background())
	if err != nil {
		return snapshot{}, err
	}
	m, err := b.scrape()
	if err != nil {
		return snapshot{}, err
	}
	return snapshot{state: state, metrics: m, cpu: processCPU(b.mgr.PID()), others: otherCPU()}, nil
}

// since is how much a metric (metrics.sum) grew from before to s.
func (s snapshot) since(before snapshot, name string, labelAndValues ...string) float64 {
	return s.metrics.sum(name, labelAndValues...) - before.metrics.sum(name, labelAndValues...)
}

// metrics is a scrape of the manager's /metrics: sample lines.
type metrics []string

func (b *bench) scrape() (metrics, error) {
	resp, err := http.Get("http://" + b.metrics + "/metrics")
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var out metrics
	for _, line := range strings.Split(string(body), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out, nil
}

func (b *bench) waitMetrics() error {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if _, err := b.scrape(); err == nil {
			return nil
		}
	}
	return errors.New("the manager serves no metrics")
}

// sum adds the samples of name whose label has one of values (no label:
// every sample).
func (m metrics) sum(name string, labelAndValues ...string) float64 {
	total := 0.0
	for _, line := range m {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		if len(labelAndValues) > 0 && !slices.ContainsFunc(labelAndValues[1:], func(v string) bool {
			return strings.Contains(line, labelAndValues[0]+`="`+v+`"`)
		}) {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err == nil {
			total += v
		}
	}
	return total
}

func sum(calls map[string]int) int {
	n := 0
	for _, c := range calls {
		n += c
	}
	return n
}

// routes names the routes called between two states, with their counts.
func routes(before, after map[string]int) string {
	var parts []string
	for route, c := range after {
		if d := c - before[route]; d > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", route, d))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// processCPU is the user and system CPU time a process has used.
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command (which may hold spaces) start after ") ".
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// otherCPU is the CPU time used so far by the rest of the stack and by
// this program, by name: the API server, etcd and the fake, which share
// the machine with the manager.
func otherCPU() map[string]time.Duration {
	out := map[string]time.Duration{"bench": processCPU(os.Getpid())}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil {
			continue
		}
		name := strings.TrimSpace(string(comm))
		if name == "kube-apiserver" || name == "etcd" || name == "spaces-fake" {
			out[name] += processCPU(pid)
		}
	}
	return out
}

// procStatus is the sizes /proc/PID/status gives, in bytes, by name
// (VmRSS, VmHWM, RssAnon, RssFile, ...).
func procStatus(pid int) map[string]int64 {
	out := map[string]int64{}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return out
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, _ := strings.Cut(sc.Text(), ":")
		if kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64); err == nil {
			out[key] = kb << 10
		}
	}
	return out
}

func countLines(path, text string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strings.Count(string(b), text), nil
}
