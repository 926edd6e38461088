package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/credentials"
	"github.com/avayacloud/spaces-operator/internal/spaces"
)

// phase is how a reconcile ended, which decides the conditions and what the
// controller does next.
type phase int

const (
	// phaseSynced: Spaces matches the spec.
	phaseSynced phase = iota + 1
	// phaseProgressing: work in flight or a transient failure; retried.
	phaseProgressing
	// phaseStalled: a human must act; nothing is retried until the object
	// or its Secret changes.
	phaseStalled
	// phaseSuspended: spec.suspend.
	phaseSuspended
	// phaseDeferred: a drift check waiting for its turn in its service
	// app's drift share (retryAfter); nothing is written.
	phaseDeferred
)

// outcome is the result of one reconcile, in words for the user.
type outcome struct {
	phase   phase
	reason  string
	message string
	// retryAfter asks for a requeue after a known wait (a 429).
	retryAfter time.Duration
	// resync keeps a stall's object on its resync: the stall is one
	// entry's (an invitee, a user), and the others still need their drift
	// checks.
	resync bool
	// err is returned to controller-runtime for backoff (transient).
	err error
	// differs: management ObserveOnly found Spaces different from the
	// spec (Ready, but not Synced).
	differs bool
}

// observed is the outcome of an ObserveOnly reconcile that read Spaces.
func observed(differences []string, what string) outcome {
	if len(differences) == 0 {
		return synced("ObserveOnly: " + what + " matches the spec; nothing is written to Spaces")
	}
	o := synced(fmt.Sprintf("ObserveOnly: %d differences from the spec (status.differences): %s; nothing is written to Spaces until management is Full",
		len(differences), strings.Join(firstN(differences, 3), "; ")))
	o.differs = true
	return o
}

func synced(message string) outcome {
	return outcome{phase: phaseSynced, reason: spacesv1alpha1.ReasonSynced, message: message}
}

func stalled(reason, message string) outcome {
	return outcome{phase: phaseStalled, reason: reason, message: message}
}

// stalledButResync is the stall of some entries of an object whose other
// entries are kept in step.
func stalledButResync(reason, message string) outcome {
	o := stalled(reason, message)
	o.resync = true
	return o
}

// deferred is a drift check that comes back after wait.
func deferred(wait time.Duration) outcome {
	return outcome{phase: phaseDeferred, retryAfter: wait}
}

func progressing(reason, message string) outcome {
	return outcome{phase: phaseProgressing, reason: reason, message: message}
}

// failed maps an error from a credential lookup, a Spaces call or the API
// server to an outcome. onSpace is true when the call acted on an existing
// space, where a 403 most likely means the service account is not its admin.
func failed(err error, onSpace bool) outcome {
	var ce *credentials.Error
	var se *spaces.Error
	switch {
	case errors.As(err, &ce):
		return stalled(ce.Reason, ce.Message)
	case errors.As(err, &se):
		switch se.Kind {
		case spaces.KindUnauthorized:
			return stalled(spacesv1alpha1.ReasonUnauthorized, se.Error())
		case spaces.KindForbidden:
			if onSpace && !se.ScopeMissing {
				return stalled(spacesv1alpha1.ReasonNotSpaceAdmin, se.Error()+"; make the service account an admin of the space, or enable the scope")
			}
			return stalled(spacesv1alpha1.ReasonMissingScope, se.Error())
		case spaces.KindInvalid, spaces.KindNotFound:
			return stalled(spacesv1alpha1.ReasonInvalidInput, se.Error()+"; correct the spec")
		case spaces.KindRateLimited:
			o := progressing(spacesv1alpha1.ReasonRateLimited, se.Error())
			o.retryAfter = se.RetryAfter
			return o
		default:
			o := progressing(spacesv1alpha1.ReasonSpacesUnavailable, se.Error()+"; retrying with backoff")
			o.err = err
			return o
		}
	default:
		o := progressing(spacesv1alpha1.ReasonProgressing, err.Error())
		o.err = err
		return o
	}
}

// result turns an outcome into what Reconcile returns: resync after success;
// after a stall a human fixes outside the object (a key, a scope, admin
// rights), another look with a backoff that grows with how long it has
// lasted (stalledFor), from 30 s to 30 min, besides the watches; after one
// only the spec can fix, nothing until the object changes; the wait after a
// 429; the error (for backoff) after a transient failure.
//
// Drift checks and another look at a stall go back into the queue at low
// priority: an object created or changed since (its event comes at the
// default priority) is reconciled before them.
func (o outcome) result(resync, stalledFor time.Duration) (ctrl.Result, error) {
	low := new(handler.LowPriority)
	switch o.phase {
	case phaseSynced:
		return ctrl.Result{RequeueAfter: jitter(resync), Priority: low}, nil
	case phaseStalled:
		if o.resync {
			return ctrl.Result{RequeueAfter: jitter(resync), Priority: low}, nil
		}
		if fixableOutside(o.reason) {
			return ctrl.Result{RequeueAfter: jitter(min(max(stalledFor, stallRetryMin), stallRetryMax)), Priority: low}, nil
		}
		return ctrl.Result{}, reconcile.TerminalError(errors.New(o.reason + ": " + o.message))
	case phaseDeferred:
		return ctrl.Result{RequeueAfter: o.retryAfter, Priority: low}, nil
	case phaseProgressing:
		if o.err != nil {
			return ctrl.Result{}, o.err
		}
		if o.retryAfter > 0 {
			return ctrl.Result{RequeueAfter: o.retryAfter}, nil
		}
		return ctrl.Result{RequeueAfter: time.Second}, nil
	default:
		return ctrl.Result{}, nil
	}
}

// applyConditions writes Ready, Reconciling and Stalled for an outcome, the
// kstatus way. observedGeneration moves only on a final outcome, so a
// change still being worked on reads as in progress.
func applyConditions(status *spacesv1alpha1.CommonStatus, generation int64, o outcome) {
	o.message = spaces.Truncate(o.message, maxConditionMessage)
	set := func(t string, s metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg, ObservedGeneration: generation})
	}
	switch {
	case o.phase == phaseSynced && o.differs:
		set(spacesv1alpha1.ConditionSynced, metav1.ConditionFalse, spacesv1alpha1.ReasonDiffers, o.message)
	case o.phase == phaseSynced:
		set(spacesv1alpha1.ConditionSynced, metav1.ConditionTrue, o.reason, "")
	case o.phase != 0:
		set(spacesv1alpha1.ConditionSynced, metav1.ConditionFalse, o.reason, o.message)
	}
	switch o.phase {
	case phaseSynced:
		set(spacesv1alpha1.ConditionReady, metav1.ConditionTrue, o.reason, o.message)
		set(spacesv1alpha1.ConditionReconciling, metav1.ConditionFalse, o.reason, "")
		set(spacesv1alpha1.ConditionStalled, metav1.ConditionFalse, o.reason, "")
		status.ObservedGeneration = generation
	case phaseStalled:
		set(spacesv1alpha1.ConditionReady, metav1.ConditionFalse, o.reason, o.message)
		set(spacesv1alpha1.ConditionReconciling, metav1.ConditionFalse, o.reason, "")
		set(spacesv1alpha1.ConditionStalled, metav1.ConditionTrue, o.reason, o.message)
		status.ObservedGeneration = generation
	case phaseSuspended:
		set(spacesv1alpha1.ConditionReady, metav1.ConditionFalse, o.reason, o.message)
		set(spacesv1alpha1.ConditionReconciling, metav1.ConditionFalse, o.reason, "")
		set(spacesv1alpha1.ConditionStalled, metav1.ConditionFalse, o.reason, "")
		status.ObservedGeneration = generation
	case phaseProgressing:
		set(spacesv1alpha1.ConditionReady, metav1.ConditionFalse, o.reason, o.message)
		set(spacesv1alpha1.ConditionReconciling, metav1.ConditionTrue, o.reason, o.message)
		set(spacesv1alpha1.ConditionStalled, metav1.ConditionFalse, o.reason, "")
	}
}

// Bounds of the retries of a stall fixed outside the object.
const (
	stallRetryMin = 30 * time.Second
	stallRetryMax = 30 * time.Minute
)

// fixableOutside says whether a stall's cause lies outside the object, where
// a fix (a Secret, the portal, an admin) raises no event the operator
// sees for sure: a key deleted or regenerated, the service account
// disabled, a scope not enabled, admin rights taken away.
func fixableOutside(reason string) bool {
	switch reason {
	case spacesv1alpha1.ReasonUnauthorized, spacesv1alpha1.ReasonMissingScope, spacesv1alpha1.ReasonNotSpaceAdmin,
		spacesv1alpha1.ReasonCredentialsNotFound, spacesv1alpha1.ReasonCredentialsInvalid, spacesv1alpha1.ReasonSecretConflict:
		return true
	}
	return false
}

// stalledFor is how long the object has been stalled for reason (0 when it
// is not yet): the backoff of its retries grows with it, surviving restarts.
func stalledFor(status *spacesv1alpha1.CommonStatus, reason string, now time.Time) time.Duration {
	c := meta.FindStatusCondition(status.Conditions, spacesv1alpha1.ConditionStalled)
	if c == nil || c.Status != metav1.ConditionTrue || c.Reason != reason {
		return 0
	}
	return now.Sub(c.LastTransitionTime.Time)
}

// maxConditionMessage bounds a condition's message (the API server allows
// 32 KiB; three conditions share one status): detail per invitee or user
// lives in their own status entry.
const maxConditionMessage = 1024

// readyReason is the reason of the Ready condition, "" without one.
func readyReason(status *spacesv1alpha1.CommonStatus) string {
	if c := meta.FindStatusCondition(status.Conditions, spacesv1alpha1.ConditionReady); c != nil {
		return c.Reason
	}
	return ""
}

// jitter spreads d by ±10% so that objects created together do not resync
// together.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(float64(d) * (0.9 + 0.2*rand.Float64()))
}

// Backoff bounds of transient failures, per object.
const (
	backoffBase = time.Second
	backoffMax  = 5 * time.Minute
)

// jitteredBackoff is the per-object exponential backoff (1 s doubling to
// 5 min) with ±10% jitter, so a Spaces outage is not followed by every object
// retrying in the same instant.
type jitteredBackoff struct {
	workqueue.TypedRateLimiter[reconcile.Request]
}

func newBackoff() workqueue.TypedRateLimiter[reconcile.Request] {
	return jitteredBackoff{workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](backoffBase, backoffMax)}
}

func (b jitteredBackoff) When(item reconcile.Request) time.Duration {
	return jitter(b.TypedRateLimiter.When(item))
}

// patchStatus merge-patches the status subresource of obj after set
// changes status, a pointer to obj's status, in memory. The patch is the
// difference of the status alone: client.MergeFrom would copy, marshal and
// compare the whole object, a tenth of the manager's CPU for a new Space.
// A vanished object is not an error.
func patchStatus(ctx context.Context, c client.Client, obj client.Object, status any, set func()) error {
	before, err := json.Marshal(status)
	if err != nil {
		return err
	}
	set()
	after, err := json.Marshal(status)
	if err != nil {
		return err
	}
	diff, err := jsonpatch.CreateMergePatch(before, after)
	if err != nil {
		return err
	}
	patch := append(append([]byte(`{"status":`), diff...), '}')
	return client.IgnoreNotFound(c.Status().Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch)))
}

// warnOnTransition emits a warning event when an object enters a failure
// reason it was not already in; reasons equal condition reasons.
func warnOnTransition(rec recorder.EventRecorder, obj runtime.Object, persisted *spacesv1alpha1.CommonStatus, o outcome) {
	if o.phase == phaseSynced || o.phase == phaseSuspended || o.reason == spacesv1alpha1.ReasonProgressing || o.reason == readyReason(persisted) {
		return
	}
	emit(rec, obj, corev1.EventTypeWarning, o.reason, "%s", o.message)
}

func emit(rec recorder.EventRecorder, obj runtime.Object, typ, reason, format string, args ...any) {
	if rec != nil {
		rec.Eventf(obj, nil, typ, reason, reason, format, args...)
	}
}

// MaxLogVerbosity is the most verbose logging the manager allows: client-go
// logs request and response bodies from verbosity 8 on, which for Secrets
// would mean key files and passwords.
const MaxLogVerbosity = 5

// ensureFinalizer merge-patches the operator's finalizer onto obj if it is
// missing.
func ensureFinalizer(ctx context.Context, c client.Client, obj client.Object) error {
	if controllerutil.ContainsFinalizer(obj, spacesv1alpha1.Finalizer) {
		return nil
	}
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	controllerutil.AddFinalizer(obj, spacesv1alpha1.Finalizer)
	return c.Patch(ctx, obj, patch)
}

// releaseFinalizer merge-patches the operator's finalizer off obj.
func releaseFinalizer(ctx context.Context, c client.Client, obj client.Object) error {
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	controllerutil.RemoveFinalizer(obj, spacesv1alpha1.Finalizer)
	return client.IgnoreNotFound(c.Patch(ctx, obj, patch))
}

// suspended is the outcome of an object with spec.suspend.
func suspended() outcome {
	return outcome{phase: phaseSuspended, reason: spacesv1alpha1.ReasonSuspended, message: "spec.suspend is true: nothing is sent to Spaces"}
}
