package events

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// TestRecorder: every event is created, regarding its object, with the
// reason, type, note and reporting controller the caller gave.
func TestRecorder(t *testing.T) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, eventsv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	c := fake.NewClientBuilder().WithScheme(scheme).Build()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec, err := NewRecorder(ctx, c, scheme, "spaces-operator")
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "payments", UID: "u1"}}
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
