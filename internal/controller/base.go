package controller

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/credentials"
)

// Reconciler is what the reconcilers of the three kinds share.
type Reconciler struct {
	client.Client
	// APIReader reads around the cache: where the status is the operator's
	// memory and a stale copy could repeat work, and for Secrets, of which
	// only metadata is cached.
	APIReader   client.Reader
	Credentials *credentials.Resolver
	Recorder    recorder.EventRecorder
	// ResyncPeriod between drift checks (DefaultResyncPeriod).
	ResyncPeriod time.Duration
	// MaxConcurrentReconciles per kind (default 4).
	MaxConcurrentReconciles int

	// deferred counts the looks spreadLook spread.
	deferred *atomic.Uint64
	// driftBooked holds, by UID, when the drift check an object booked in
	// its service app's drift share may go.
	driftBooked *sync.Map
}

func (r *Reconciler) setDefaults() {
	r.deferred, r.driftBooked = &atomic.Uint64{}, &sync.Map{}
	if r.ResyncPeriod <= 0 {
		r.ResyncPeriod = DefaultResyncPeriod
	}
	if r.MaxConcurrentReconciles <= 0 {
		r.MaxConcurrentReconciles = 4
	}
}

// options are the controller options every kind uses: its concurrency,
// the jittered per-object backoff, and the queue fair between namespaces
// that spreads looks at unchanged objects (unchangedLooks; nil: none).
func (r *Reconciler) options(spread func(reconcile.Request) (time.Duration, bool)) controller.Options {
	return controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles, RateLimiter: newBackoff(),
		NewQueue: func(name string, rateLimiter workqueue.TypedRateLimiter[reconcile.Request]) workqueue.TypedRateLimitingInterface[reconcile.Request] {
			return newFairQueue(name, rateLimiter, spread)
		}}
}

func (r *Reconciler) event(obj runtime.Object, typ, reason, format string, args ...any) {
	emit(r.Recorder, obj, typ, reason, format, args...)
}

// statusOf is a pointer to a kind's status type.
type statusOf[T any] interface {
	*T
	DeepCopyInto(*T)
	Common() *spacesv1alpha1.CommonStatus
}

// finish ends a reconcile: the status written once, the outcome turned into
// what controller-runtime should do next. A drift check deferred to its
// turn writes nothing: it has observed nothing yet.
func finish[T any, P statusOf[T]](ctx context.Context, r *Reconciler, obj client.Object, persisted, next P, o outcome) (ctrl.Result, error) {
	res, err := o.result(r.ResyncPeriod, stalledFor(persisted.Common(), o.reason, time.Now()))
	if o.phase == phaseDeferred {
		return res, err
	}
	if perr := writeStatus(ctx, r, obj, persisted, next, o); perr != nil {
		return ctrl.Result{}, perr
	}
	return res, err
}

// writeStatus sets next's conditions for the outcome and patches the
// object's status (persisted) to next, only if it changed; a failure the
// object was not already in is also an event.
func writeStatus[T any, P statusOf[T]](ctx context.Context, r *Reconciler, obj client.Object, persisted, next P, o outcome) error {
	warnOnTransition(r.Recorder, obj, persisted.Common(), o)
	applyConditions(next.Common(), obj.GetGeneration(), o)
	if equality.Semantic.DeepEqual(persisted, next) {
		return nil
	}
	return patchStatus(ctx, r.Client, obj, persisted, func() { next.DeepCopyInto(persisted) })
}

// abandoned releases a deleting object that carries the abandon
// annotation, leaving Spaces as it is; true when it did.
func (r *Reconciler) abandoned(ctx context.Context, obj client.Object) (bool, error) {
	if obj.GetAnnotations()[spacesv1alpha1.AnnotationAbandon] != "true" {
		return false, nil
	}
	r.event(obj, corev1.EventTypeWarning, spacesv1alpha1.ReasonAbandoned,
		"Released by %s=true without carrying out its deletion policy: what exists in Spaces is left as it is", spacesv1alpha1.AnnotationAbandon)
	return true, releaseFinalizer(ctx, r.Client, obj)
}

// spreadLook says how long a look at an unchanged object may wait: a
// look the informers ask for without a change (every object they list when
// the controller starts, after a restart, a rollout or a leader failover;
// and their periodic resyncs) at an object Ready at its generation. Instead
// of re-reading the whole fleet at once, one Spaces call each ahead of any
// new work, each such look comes later within one resync period, at low
// priority, evenly spread: the k-th waits frac(k·φ) of the period, a
// sequence that fills every stretch of the period in proportion to its
// length whatever the number of objects (random waits would bunch). busy
// objects (work left over, such as duplicates to delete) are looked at now.
func (r *Reconciler) spreadLook(obj client.Object, busy bool) (time.Duration, bool) {
	if busy || !readyAtGeneration(obj) {
		return 0, false
	}
	k := r.deferred.Add(1)
	_, frac := math.Modf(float64(k) * math.Phi)
	return time.Second + time.Duration(frac*float64(r.ResyncPeriod)), true
}

// unchangedLooks is the queue's spreadLook for one kind: it reads the
// request's object from the cache.
func unchangedLooks[T any, P interface {
	*T
	client.Object
}](r *Reconciler, busy func(P) bool) func(reconcile.Request) (time.Duration, bool) {
	return func(req reconcile.Request) (time.Duration, bool) {
		obj := P(new(T))
		if err := r.Get(context.Background(), req.NamespacedName, obj); err != nil {
			return 0, false
		}
		return r.spreadLook(obj, busy != nil && busy(obj))
	}
}

// readyAtGeneration reports whether the object is Ready and its status is
// about its current generation: a reconcile of it is a drift check.
func readyAtGeneration(obj client.Object) bool {
	status := commonStatusOf(obj)
	if status == nil {
		return false
	}
	ready := meta.FindStatusCondition(status.Conditions, spacesv1alpha1.ConditionReady)
	return ready != nil && ready.Status == metav1.ConditionTrue && ready.ObservedGeneration == obj.GetGeneration() &&
		status.ObservedGeneration == obj.GetGeneration() && obj.GetDeletionTimestamp().IsZero()
}

// driftTurn makes a drift check (a reconcile of an object Ready at its
// generation) take its turn in its service app's drift share, booking
// cost requests: it goes on now (ok), or the outcome defers it to its
// turn, when it goes on without booking again. Objects created or changed
// are not held back: they are not Ready at their generation.
func (r *Reconciler) driftTurn(ctx context.Context, obj client.Object, cred *credentials.Credential, cost int) (outcome, bool) {
	if r.driftBooked == nil || cred == nil || cred.Client == nil || cred.Client.Limiter() == nil || !readyAtGeneration(obj) {
		return outcome{}, true
	}
	now := time.Now()
	if v, ok := r.driftBooked.Load(obj.GetUID()); ok {
		if at := v.(time.Time); now.Before(at) {
			return deferred(at.Sub(now)), false
		}
		r.driftBooked.Delete(obj.GetUID())
		return outcome{}, true
	}
	wait, stretching := cred.Client.Limiter().ReserveDrift(cost, r.ResyncPeriod)
	driftPeriod.WithLabelValues(cred.Issuer).Set((r.ResyncPeriod + wait).Seconds())
	if stretching {
		ctrl.LoggerFrom(ctx).Info("Drift checks stretch beyond the resync period: the service app's drift share cannot re-read every object once a period; raise --api-qps (as far as Spaces allows), --drift-share or --resync-period",
			"serviceApp", cred.Issuer, "resyncPeriod", r.ResyncPeriod.String(), "effectivePeriod", (r.ResyncPeriod + wait).Round(time.Second).String(),
			"driftRequestsPerSecond", cred.Client.Limiter().DriftRate())
	}
	if wait < minDriftWait {
		return outcome{}, true
	}
	r.driftBooked.Store(obj.GetUID(), now.Add(wait))
	return deferred(wait), false
}

// minDriftWait is the shortest wait worth a trip through the queue.
const minDriftWait = 50 * time.Millisecond

// forgetDrift drops an object's booking (it is being deleted).
func (r *Reconciler) forgetDrift(obj client.Object) {
	if r.driftBooked != nil {
		r.driftBooked.Delete(obj.GetUID())
	}
}
