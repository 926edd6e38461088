package controller

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/credentials"
	"github.com/avayacloud/spaces-operator/internal/events"
	"github.com/avayacloud/spaces-operator/internal/spaces"
	"github.com/avayacloud/spaces-operator/internal/spaces/spacestest"
	"github.com/avayacloud/spaces-operator/internal/testenv"
)

// testResync is short so drift and steady-state tests take seconds.
const testResync = 2 * time.Second

// defaultAccount is the manager's --default-account in the suite.
const defaultAccount = "suite-default"

var (
	k8s client.Client // uncached, for assertions
	// restConfig is the control plane's admin config, for impersonation.
	restConfig *rest.Config
	scheme     = runtime.NewScheme()
	// wrappers lets a test wrap the Spaces API of the Spaces in its
	// namespace (to simulate a crash mid-reconcile).
	wrappers sync.Map // namespace -> func(*Space, spaceAPI) spaceAPI
	// logs holds everything the manager logged.
	logs syncBuffer
)

// The control plane and the manager start with the first test that needs
// them (newWorld): the pure tests of this package run without an API
// server, in seconds (go test -run 'Test[^_]*$' needs no KUBEBUILDER_ASSETS).
var (
	suiteOnce sync.Once
	suiteErr  error
	suiteStop = func() {}
)

func TestMain(m *testing.M) {
	// Everything is logged, at the most verbose level, into logs, so tests
	// can prove what never appears in them; TEST_LOG=1 also prints it.
	var out io.Writer = &logs
	if os.Getenv("TEST_LOG") != "" {
		out = io.MultiWriter(&logs, os.Stderr)
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(out), zap.UseDevMode(false), zap.Level(zapcore.Level(-MaxLogVerbosity))))
	code := m.Run()
	suiteStop()
	os.Exit(code)
}

// requireSuite starts the control plane and the manager once.
func requireSuite(t *testing.T) {
	t.Helper()
	suiteOnce.Do(func() { suiteErr = startSuite() })
	if suiteErr != nil {
		t.Fatal(suiteErr)
	}
}

func startSuite() error {
	env, err := testenv.Start()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	suiteStop = func() { cancel(); _ = env.Stop() }
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, spacesv1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	restConfig = env.Config
	if k8s, err = client.New(env.Config, client.Options{Scheme: scheme}); err != nil {
		panic(err)
	}
	// The manager runs as the operator's service account with exactly the
	// generated ClusterRole: a permission the code needs and the role lacks
	// fails these tests.
	operatorConfig, err := asOperator(env.Config)
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(operatorConfig, ctrl.Options{Scheme: scheme, Cache: CacheOptions(nil, ""), Metrics: metricsserver.Options{BindAddress: "0"},
		NewClient: countingSpaceWrites})
	if err != nil {
		panic(err)
	}
	resolver := credentials.NewResolver(mgr.GetClient(), mgr.GetAPIReader(), credentials.Options{
		QPS: 200, Burst: 50,
		// Every world's fake listens on its own loopback port.
		AllowAPIURL:    func(u string) bool { return strings.HasPrefix(u, "http://127.0.0.1:") },
		DefaultAccount: defaultAccount,
		ClientOptions:  spaces.ClientOptions{RequestTimeout: 5 * time.Second},
	})
	if err := SetupIndexes(ctx, mgr, resolver); err != nil {
		panic(err)
	}
	recorder, err := events.NewRecorder(ctx, mgr.GetClient(), scheme, "spaces-operator")
	if err != nil {
		return err
	}
	base := Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Credentials: resolver, Recorder: recorder, ResyncPeriod: testResync}
	sr := &SpaceReconciler{Reconciler: base,
		api: func(sp *spacesv1alpha1.Space, api spaceAPI) spaceAPI {
			if w, ok := wrappers.Load(sp.Namespace); ok {
				return w.(func(*spacesv1alpha1.Space, spaceAPI) spaceAPI)(sp, api)
			}
			return api
		}}
	if err := sr.SetupWithManager(mgr); err != nil {
		panic(err)
	}
	if err := (&SpaceInviteReconciler{Reconciler: base}).SetupWithManager(mgr); err != nil {
		panic(err)
	}
	if err := (&ServiceAccountUserSetReconciler{Reconciler: base}).SetupWithManager(mgr); err != nil {
		panic(err)
	}
	if err := (&CredentialsReconciler{Client: mgr.GetClient(), Credentials: resolver}).SetupWithManager(mgr); err != nil {
		panic(err)
	}
	if err := (&ClusterSpacesAccountReconciler{Reconciler: base}).SetupWithManager(mgr); err != nil {
		panic(err)
	}
	go func() {
		if err := mgr.Start(ctx); err != nil {
			panic(err)
		}
	}()
	return nil
}

// spaceWrites counts the manager's writes to Space objects, per namespace
// (*atomic.Int64 by namespace).
var spaceWrites sync.Map

// countingSpaceWrites is the manager's client, counting its writes to
// Spaces (of the object and its status) in spaceWrites.
func countingSpaceWrites(cfg *rest.Config, opts client.Options) (client.Client, error) {
	c, err := client.NewWithWatch(cfg, opts)
	if err != nil {
		return nil, err
	}
	count := func(obj client.Object) {
		if _, ok := obj.(*spacesv1alpha1.Space); ok {
			n, _ := spaceWrites.LoadOrStore(obj.GetNamespace(), &atomic.Int64{})
			n.(*atomic.Int64).Add(1)
		}
	}
	return interceptor.NewClient(c, interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			count(obj)
			return c.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			count(obj)
			return c.Update(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			count(obj)
			return c.Patch(ctx, obj, patch, opts...)
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			count(obj)
			return c.SubResource(sub).Update(ctx, obj, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			count(obj)
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	}), nil
}

// spaceWritesIn is how many writes the manager made to Spaces in w's
// namespace.
func (w *world) spaceWritesIn() int64 {
	if n, ok := spaceWrites.Load(w.ns); ok {
		return n.(*atomic.Int64).Load()
	}
	return 0
}

// syncBuffer is a bytes.Buffer safe for the manager's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// world is one test's namespace, fake Spaces and credentials Secret.
type world struct {
	t    *testing.T
	ns   string
	fake *spacestest.Server
	key  *spacestest.KeyFile
	ctx  context.Context
}

const secretName = "spaces-credentials"

func newWorld(t *testing.T, opts spacestest.Options, scopes ...string) *world {
	t.Helper()
	requireSuite(t)
	w := &world{t: t, ctx: context.Background(), fake: spacestest.NewServer(t, opts)}
	var err error
	if w.key, err = w.fake.AddServiceApp(scopes...); err != nil {
		t.Fatal(err)
	}
	w.inNewNamespace()
	return w
}

// newWorldIn is another namespace of the same fake Spaces, with a Secret
// holding the same key.
func newWorldIn(t *testing.T, same *world) *world {
	t.Helper()
	w := &world{t: t, ctx: same.ctx, fake: same.fake, key: same.key}
	w.inNewNamespace()
	return w
}

func (w *world) inNewNamespace() {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "space-test-"}}
	if err := k8s.Create(w.ctx, ns); err != nil {
		w.t.Fatal(err)
	}
	w.ns = ns.Name
	w.putSecret(w.key.JSON)
	// Runs before the fake closes: the test's objects go, so they do not
	// keep workers busy failing against a closed server in later tests.
	w.t.Cleanup(w.removeObjects)
}

func (w *world) removeObjects() {
	for _, list := range credentialUsers() {
		if err := k8s.List(w.ctx, list, client.InNamespace(w.ns)); err != nil {
			w.t.Log(err)
			return
		}
		_ = meta.EachListItem(list, func(o runtime.Object) error {
			obj := o.(client.Object)
			_ = k8s.Delete(w.ctx, obj)
			patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
			obj.SetFinalizers(nil)
			_ = k8s.Patch(w.ctx, obj, patch)
			return nil
		})
	}
}

// putSecret creates or replaces the credentials Secret.
func (w *world) putSecret(keyFile []byte) {
	w.t.Helper()
	w.putNamedSecret(secretName, map[string][]byte{spacesv1alpha1.DefaultCredentialsKey: keyFile, spacesv1alpha1.CredentialsAPIURLKey: []byte(w.fake.URL)})
}

func (w *world) putNamedSecret(name string, data map[string][]byte) {
	w.t.Helper()
	for range 10 {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns}}
		_, err := ctrl.CreateOrUpdate(w.ctx, k8s, s, func() error {
			s.Data = data
			return nil
		})
		if err == nil {
			return
		}
		if !apierrors.IsConflict(err) {
			w.t.Fatal(err)
		}
	}
	w.t.Fatal("could not write the Secret")
}

func (w *world) newSpace(name string, spec spacesv1alpha1.SpaceSpec) *spacesv1alpha1.Space {
	w.t.Helper()
	if spec.CredentialsRef == nil && spec.AccountRef == nil {
		spec.CredentialsRef = &spacesv1alpha1.CredentialsReference{Name: secretName}
	}
	sp := &spacesv1alpha1.Space{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns}, Spec: spec}
	if err := k8s.Create(w.ctx, sp); err != nil {
		w.t.Fatal(err)
	}
	return sp
}

func (w *world) get(name string) *spacesv1alpha1.Space {
	w.t.Helper()
	sp := &spacesv1alpha1.Space{}
	if err := k8s.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: name}, sp); err != nil {
		w.t.Fatal(err)
	}
	return sp
}

// edit changes a Space with retries on conflict.
func (w *world) edit(name string, f func(*spacesv1alpha1.Space)) {
	w.t.Helper()
	updateWithRetries(w, func() *spacesv1alpha1.Space { return w.get(name) }, f)
}

// updateWithRetries reads an object, changes it and writes it back, again
// on conflicts.
func updateWithRetries[T client.Object](w *world, get func() T, f func(T)) {
	w.t.Helper()
	for range 10 {
		obj := get()
		f(obj)
		if err := k8s.Update(w.ctx, obj); err == nil {
			return
		}
	}
	w.t.Fatalf("could not update %T", get())
}

// eventually polls cond until it holds or 30 s pass.
func (w *world) eventually(what string, cond func() bool) {
	w.t.Helper()
	w.eventuallyWithin(what, 30*time.Second, cond)
}

func (w *world) eventuallyWithin(what string, timeout time.Duration, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// deleteAndWait deletes obj and waits until it is gone, its finalizers
// done.
func (w *world) deleteAndWait(obj client.Object) {
	w.t.Helper()
	if err := k8s.Delete(w.ctx, obj); err != nil {
		w.t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(obj)
	w.eventually(fmt.Sprintf("%T %s gone", obj, key), func() bool {
		return apierrors.IsNotFound(k8s.Get(w.ctx, key, obj.DeepCopyObject().(client.Object)))
	})
}

// waitCalls waits until the fake has served route at least n times in
// all, and says how many: a test proving that resyncs write nothing waits
// for the resyncs' own reads, not for a guessed time.
func (w *world) waitCalls(route string, n int) int {
	w.t.Helper()
	got := 0
	w.eventuallyWithin(fmt.Sprintf("%d calls of %s", n, route), 30*time.Second+time.Duration(n)*2*testResync, func() bool {
		got = w.fake.Calls(route)
		return got >= n
	})
	return got
}

func condition(sp *spacesv1alpha1.Space, typ string) *metav1.Condition {
	for i := range sp.Status.Conditions {
		if sp.Status.Conditions[i].Type == typ {
			return &sp.Status.Conditions[i]
		}
	}
	return nil
}

// waitReason waits until Ready has reason (and the status is current).
func (w *world) waitReason(name, reason string) *spacesv1alpha1.Space {
	w.t.Helper()
	var sp *spacesv1alpha1.Space
	var last string
	deadline := time.Now().Add(30 * time.Second)
	for {
		sp = w.get(name)
		c := condition(sp, spacesv1alpha1.ConditionReady)
		if c != nil && c.Reason == reason && c.ObservedGeneration == sp.Generation {
			return sp
		}
		if c != nil {
			last = fmt.Sprintf("%s (generation %d of %d): %s", c.Reason, c.ObservedGeneration, sp.Generation, c.Message)
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out waiting for %s Ready reason %s; last: %s", name, reason, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (w *world) waitReady(name string) *spacesv1alpha1.Space {
	w.t.Helper()
	sp := w.waitReason(name, spacesv1alpha1.ReasonSynced)
	if sp.Status.ObservedGeneration != sp.Generation {
		w.t.Fatalf("Ready but observedGeneration %d != generation %d", sp.Status.ObservedGeneration, sp.Generation)
	}
	return sp
}

// events returns the notes of the events with reason about the object name.
func (w *world) events(name, reason string) []string {
	w.t.Helper()
	var list eventsv1.EventList
	if err := k8s.List(w.ctx, &list, client.InNamespace(w.ns)); err != nil {
		w.t.Fatal(err)
	}
	var notes []string
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Reason == reason {
			notes = append(notes, e.Note)
		}
	}
	return notes
}

func (w *world) waitEvent(name, reason string) []string {
	w.t.Helper()
	var notes []string
	w.eventually("event "+reason+" on "+name, func() bool {
		notes = w.events(name, reason)
		return len(notes) > 0
	})
	return notes
}

func ptr[T any](v T) *T { return &v }

// operatorUser is who the suite's manager runs as.
const operatorUser = "system:serviceaccount:spaces-operator-system:spaces-operator-controller-manager"

// asOperator binds config/rbac/role.yaml, as generated, to operatorUser
// and returns a config impersonating it.
func asOperator(admin *rest.Config) (*rest.Config, error) {
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "rbac", "role.yaml"))
	if err != nil {
		return nil, err
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal(data, &role); err != nil {
		return nil, err
	}
	ctx := context.Background()
	if err := k8s.Create(ctx, &role); err != nil {
		return nil, err
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: operatorUser, APIGroup: rbacv1.GroupName}},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name}}
	if err := k8s.Create(ctx, binding); err != nil {
		return nil, err
	}
	cfg := rest.CopyConfig(admin)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: operatorUser, Groups: []string{"system:serviceaccounts", "system:authenticated"}}
	return cfg, nil
}
