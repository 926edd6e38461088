// Package events records the operator's Kubernetes events (events.k8s.io/v1)
// without keeping them in memory.
//
// client-go's event broadcaster, which controller-runtime's recorder uses,
// keeps every event it sent in the last six to twelve minutes, to count
// repeats into a series: 24 MiB of the manager's heap after 20,000 objects
// were created, with no option to bound it. The operator emits events on
// transitions and actions, not on every reconcile, so it has no series to
// count: this recorder is client-go's own, fed through an event watcher
// that only creates each event, and keeps nothing once it is sent.
package events

import (
	"context"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
)

// sendTimeout bounds one event's create: an API server that does not
// answer must not hold up the events behind it for long.
const sendTimeout = 10 * time.Second

// senders create events side by side: one at a time, a busy API server
// (10-15 ms a create) could not keep up with a thousand Spaces created at
// once, and the broadcaster dropped 8 % of their Created events.
const senders = 4

// NewRecorder returns a recorder reporting as controller, which creates
// each event with c until ctx ends. Events come through client-go's
// broadcaster, which drops them when a thousand are queued rather than
// block a reconcile.
func NewRecorder(ctx context.Context, c client.Client, scheme *runtime.Scheme, controller string) (recorder.EventRecorder, error) {
	// The sink is never started (StartRecordingToSink is what caches).
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{})
	log := ctrl.Log.WithName("events")
	send := func(ev *eventsv1.Event) {
		sendCtx, cancel := context.WithTimeout(ctx, sendTimeout)
		defer cancel()
		if err := c.Create(sendCtx, ev); err != nil && ctx.Err() == nil {
			log.Info("Could not record an event", "reason", ev.Reason, "regarding", ev.Regarding.Name, "namespace", ev.Namespace, "error", err.Error())
		}
	}
	pending := make(chan *eventsv1.Event, senders)
	for range senders {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case ev := <-pending:
					send(ev)
				}
			}
		}()
	}
	stop, err := broadcaster.StartEventWatcher(func(obj runtime.Object) {
		ev, ok := obj.(*eventsv1.Event)
		if !ok {
			return
		}
		select {
		case pending <- ev:
		case <-ctx.Done():
		}
	})
	if err != nil {
		return nil, err
	}
	go func() {
		<-ctx.Done()
		stop()
		broadcaster.Shutdown()
	}()
	return broadcaster.NewRecorder(scheme, controller).(recorder.EventRecorder), nil
}
