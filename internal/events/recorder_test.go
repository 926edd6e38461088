package events

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
)

func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, eventsv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	return scheme
}

// startRecorder starts a recorder creating events with c until the test
// ends, and names the object the events regard.
func startRecorder(t *testing.T, c client.Client, scheme *runtime.Scheme) (context.Context, recorder.EventRecorder, *corev1.ConfigMap) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	rec, err := NewRecorder(ctx, c, scheme, "spaces-operator")
	if err != nil {
		t.Fatal(err)
	}
	return ctx, rec, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "payments", UID: "u1"}}
}

// TestRecorder: every event is created, regarding its object, with the
// reason, type, note and reporting controller the caller gave.
func TestRecorder(t *testing.T) {
	scheme := testScheme(t)
	c := fake.NewClientBuilder().WithScheme(scheme).Build()
	ctx, rec, cm := startRecorder(t, c, scheme)
	for i := range 3 {
		rec.Eventf(cm, nil, corev1.EventTypeNormal, "Created", "Created", "Created space %d", i)
	}
	var list eventsv1.EventList
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err := c.List(ctx, &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) == 3 || time.Now().After(deadline) {
			break
		}
	}
	if len(list.Items) != 3 {
		t.Fatalf("%d events created, want 3", len(list.Items))
	}
	notes := map[string]bool{}
	for _, e := range list.Items {
		notes[e.Note] = true
		if e.Namespace != "team-a" || e.Regarding.Name != "payments" || e.Regarding.UID != "u1" || e.Reason != "Created" ||
			e.Type != corev1.EventTypeNormal || e.ReportingController != "spaces-operator" || e.EventTime.IsZero() {
			t.Errorf("event %+v", e)
		}
	}
	if len(notes) != 3 {
		t.Errorf("notes %v, want three different", notes)
	}
}

// TestRecorder_SendsSideBySide: events are created several at a time, so
// a slow API server does not make a burst overflow the broadcaster's
// queue; none is lost.
func TestRecorder_SendsSideBySide(t *testing.T) {
	scheme := testScheme(t)
	gate := make(chan struct{})
	var inFlight, most, created atomic.Int32
	c := interceptor.NewClient(fake.NewClientBuilder().WithScheme(scheme).Build(), interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			n := inFlight.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			<-gate
			inFlight.Add(-1)
			created.Add(1)
			return nil
		},
	})
	_, rec, cm := startRecorder(t, c, scheme)
	const burst = 500
	for i := range burst {
		rec.Eventf(cm, nil, corev1.EventTypeNormal, "Created", "Created", "Created space %d", i)
	}
	for deadline := time.Now().Add(10 * time.Second); inFlight.Load() < senders && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
	}
	if got := inFlight.Load(); got != senders {
		t.Fatalf("%d creates in flight, want %d", got, senders)
	}
	close(gate)
	for deadline := time.Now().Add(10 * time.Second); created.Load() < burst && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
	}
	if got := created.Load(); got != burst || most.Load() != senders {
		t.Fatalf("%d of %d events created, at most %d at once, want all and %d", got, burst, most.Load(), senders)
	}
}
