package controller

import (
	"context"
	"fmt"
	"time"

	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	corev1 "k8s.io/api/core/v1"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/credentials"
	"github.com/avayacloud/spaces-operator/internal/spaces"
)

// spaceAPI is what the Space controller needs of Spaces.
type spaceAPI interface {
	GetSpace(ctx context.Context, id string) (*spaces.Space, error)
	CreateSpace(ctx context.Context, req spaces.CreateSpaceRequest, actAs string) (*spaces.InviteResponse, error)
	UpdateSpace(ctx context.Context, id string, update spaces.SpaceUpdate) (*spaces.Space, error)
	DeleteSpace(ctx context.Context, id string) error
	MySpaces(ctx context.Context, q spaces.MySpacesQuery) ([]spaces.Space, error)
	BaseURL() string
	RequestTimeout() time.Duration
}

var _ spaceAPI = (*spaces.Client)(nil)

// DefaultResyncPeriod is how often a Ready object is checked for drift.
const DefaultResyncPeriod = 10 * time.Minute

// SpaceReconciler keeps a Space's space in Spaces in step with its spec.
type SpaceReconciler struct {
	Reconciler
	// Now is the clock (time.Now).
	Now func() time.Time
	// api, when set, wraps the credential's client (tests inject crashes).
	api func(*spacesv1alpha1.Space, spaceAPI) spaceAPI
}

// spaceScope carries one reconcile's observations between its steps.
type spaceScope struct {
	space  *spacesv1alpha1.Space
	cred   *credentials.Credential
	policy credentials.Policy
	api    spaceAPI
	// status is written to the object once, at the end.
	status spacesv1alpha1.SpaceStatus
	// created is set when this reconcile created (or recovered) the space:
	// the settings applied right after are part of the Created event.
	created bool
	// fresh is set when this reconcile's own create made the space: what
	// it holds is what was sent, so it is written without being read.
	fresh bool
	// verifiedDuplicates are leftover spaces whose ticket this reconcile
	// has read.
	verifiedDuplicates []string
}

// SetupWithManager registers the controller and its watches; SetupIndexes
// must have run.
func (r *SpaceReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.setDefaults()
	if r.Now == nil {
		r.Now = time.Now
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&spacesv1alpha1.Space{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, annotationChanged(spacesv1alpha1.AnnotationRecreate), annotationChanged(spacesv1alpha1.AnnotationAbandon), deletionPredicate()))).
		Watches(&spacesv1alpha1.Space{}, claimantsOnRelease(mgr.GetClient()))
	return watchCredentialSources(b, mgr.GetClient(), &spacesv1alpha1.SpaceList{}).
		WithOptions(r.options(unchangedLooks(&r.Reconciler, func(sp *spacesv1alpha1.Space) bool { return len(sp.Status.LeftoverSpaceIDs) > 0 }))).
		Named("space").
		Complete(r)
}

// Reconcile: get → deleted → finalizer → suspended → credentials → observe
// (create, recover or adopt when there is no space yet) → update → status,
// written once.
func (r *SpaceReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	sp := &spacesv1alpha1.Space{}
	if err := r.Get(ctx, req.NamespacedName, sp); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	s := &spaceScope{space: sp, status: *sp.Status.DeepCopy()}
	if !sp.DeletionTimestamp.IsZero() {
		r.forgetDrift(sp)
		return r.reconcileDelete(ctx, s)
	}
	return r.finish(ctx, s, r.reconcileLive(ctx, s))
}

func (r *SpaceReconciler) reconcileLive(ctx context.Context, s *spaceScope) outcome {
	// A space about to be created gets its finalizer with the
	// create-pending mark, in one write; until then nothing needs it.
	if !aboutToCreate(s.space) {
		if err := ensureFinalizer(ctx, r.Client, s.space); err != nil {
			return failed(err, false)
		}
	}
	if s.space.Spec.Suspend {
		return suspended()
	}
	return r.reconcileSpace(ctx, s)
}

func (r *SpaceReconciler) reconcileSpace(ctx context.Context, s *spaceScope) outcome {
	if o, ok := r.resolve(ctx, s); !ok {
		return o
	}
	if o, ok := r.driftTurn(ctx, s.space, s.cred, 1); !ok {
		return o
	}
	id := recordedSpaceID(s.space)
	if observeOnly(s.space.Spec.Management) {
		return r.observeSpace(ctx, s, id)
	}
	s.status.Differences = nil
	if id != "" && s.space.Annotations[spacesv1alpha1.AnnotationRecreate] == "true" && readyReason(&s.space.Status.CommonStatus) == spacesv1alpha1.ReasonSpaceGone {
		if err := r.forgetSpace(ctx, s); err != nil {
			return failed(err, false)
		}
		id = ""
	}
	if id == "" && s.space.Annotations[spacesv1alpha1.AnnotationRecreate] == "true" && readyReason(&s.space.Status.CommonStatus) == spacesv1alpha1.ReasonUncertainCreate {
		// A human checked that the interrupted create made nothing.
		r.clearCreatePending(ctx, s)
	}
	if id == "" {
		if o, ok := checkSpace(s.policy, s.space, "", false); !ok {
			return o
		}
		var o outcome
		var ok bool
		if id, o, ok = r.createOrRecover(ctx, s); !ok {
			return o
		}
	} else {
		o, ok, err := checkClaim(ctx, r.Client, s.space, id)
		if err != nil {
			return failed(err, false)
		}
		if !ok {
			return o
		}
		if o, ok := checkSpace(s.policy, s.space, id, createdHere(s.cred, s.space, id)); !ok {
			return o
		}
		if recordingUnfinished(s.space) {
			if err := r.recordSpaceID(ctx, s, id); err != nil {
				return failed(err, false)
			}
		}
	}
	return r.syncSpace(ctx, s, id)
}

func (r *SpaceReconciler) resolve(ctx context.Context, s *spaceScope) (outcome, bool) {
	src, _ := sourceOf(s.space)
	cred, policy, err := r.Credentials.Resolve(ctx, s.space.Namespace, src)
	if err != nil {
		return failed(err, false), false
	}
	s.cred, s.policy = cred, policy
	s.api = cred.Client
	if r.api != nil {
		s.api = r.api(s.space, s.api)
	}
	return outcome{}, true
}

// syncSpace observes the space and writes back the managed fields that
// differ from the spec. A space this reconcile created is not read: its
// first settings write (which also replaces the create ticket) answers with
// what Spaces holds, so a new Space costs two calls.
func (r *SpaceReconciler) syncSpace(ctx context.Context, s *spaceScope, id string) outcome {
	log := ctrl.LoggerFrom(ctx)
	var observed *spaces.Space
	var update spaces.SpaceUpdate
	var fields []string
	if s.fresh {
		update, fields = initialUpdate(&s.space.Spec)
	} else {
		var err error
		if observed, err = s.api.GetSpace(ctx, id); err != nil {
			return r.spaceUnreachable(s, id, err)
		}
		update, fields = diffOwnSpace(s.space, observed)
	}
	adopted := s.status.SpaceID == "" && s.space.Spec.SpaceID != ""
	s.status.SpaceID = id
	s.status.URL = webURL(s.api.BaseURL(), id)

	if len(fields) > 0 {
		log.Info("Updating the space in Spaces", "space", klog.KObj(s.space), "spaceID", id, "fields", fields)
		var err error
		if observed, err = s.api.UpdateSpace(ctx, id, update); err != nil {
			return r.spaceUnreachable(s, id, err)
		}
		if s.fresh {
			// The new space's defaults were assumed; where Spaces' answer
			// shows otherwise, correct it now rather than at the resync.
			if update, fields = diffOwnSpace(s.space, observed); len(fields) > 0 {
				log.Info("Correcting the defaults of the new space", "space", klog.KObj(s.space), "spaceID", id, "fields", fields)
				if observed, err = s.api.UpdateSpace(ctx, id, update); err != nil {
					return r.spaceUnreachable(s, id, err)
				}
			}
		}
		switch {
		case adopted, s.created:
		case s.space.Generation != s.space.Status.ObservedGeneration:
			r.event(s.space, corev1.EventTypeNormal, spacesv1alpha1.ReasonUpdated, "Updated %v of space %s", fields, id)
		default:
			r.event(s.space, corev1.EventTypeNormal, spacesv1alpha1.ReasonDriftCorrected, "Wrote back %v of space %s, changed in Spaces", fields, id)
		}
	}
	if adopted {
		r.event(s.space, corev1.EventTypeNormal, spacesv1alpha1.ReasonAdopted, "Adopted space %s", id)
	}
	s.status.MemberCount = int32(len(observed.Members))
	msg := fmt.Sprintf("Space %s matches the spec", id)
	if len(s.status.LeftoverSpaceIDs) > 0 {
		if left := r.deleteDuplicates(ctx, s); left != "" {
			if len(s.verifiedDuplicates) > 0 {
				r.event(s.space, corev1.EventTypeWarning, spacesv1alpha1.ReasonDuplicatesLeft, "%s", left)
			}
			msg += "; but " + left + " (retried at every resync)"
		}
	}
	return synced(msg)
}

// spaceUnreachable is the outcome of a failed read or write of the managed
// space: a 404 means it is gone (or spec.spaceID names none).
func (r *SpaceReconciler) spaceUnreachable(s *spaceScope, id string, err error) outcome {
	if !spaces.IsNotFound(err) {
		o := failed(err, true)
		if owner := s.space.Spec.Owner; o.reason == spacesv1alpha1.ReasonNotSpaceAdmin && owner != "" {
			o.message += fmt.Sprintf("; the space was created on behalf of %s (spec.owner), and Spaces did not keep the service account %s one of its admins: %s must make it an admin of space %s in Spaces",
				owner, s.cred.Subject, owner, id)
		}
		return o
	}
	if s.space.Spec.SpaceID != "" {
		return stalled(spacesv1alpha1.ReasonSpaceNotFound, fmt.Sprintf(
			"space %s (spec.spaceID) does not exist in Spaces, or the service account cannot see it; correct spec.spaceID", id))
	}
	return stalled(spacesv1alpha1.ReasonSpaceGone, fmt.Sprintf(
		"space %s was deleted in Spaces; it is not recreated on its own: annotate the Space with %s=true, or delete and re-apply it, to create a new one",
		id, spacesv1alpha1.AnnotationRecreate))
}

func (r *SpaceReconciler) finish(ctx context.Context, s *spaceScope, o outcome) (ctrl.Result, error) {
	return finish(ctx, &r.Reconciler, s.space, &s.space.Status, &s.status, o)
}

func (r *SpaceReconciler) writeStatus(ctx context.Context, s *spaceScope, o outcome) error {
	return writeStatus(ctx, &r.Reconciler, s.space, &s.space.Status, &s.status, o)
}

// recordedSpaceID is the space the object manages: spec.spaceID, else the
// id recorded when the operator created it.
func recordedSpaceID(sp *spacesv1alpha1.Space) string {
	switch {
	case sp.Spec.SpaceID != "":
		return sp.Spec.SpaceID
	case sp.Annotations[spacesv1alpha1.AnnotationSpaceID] != "":
		return sp.Annotations[spacesv1alpha1.AnnotationSpaceID]
	default:
		return sp.Status.SpaceID
	}
}

// aboutToCreate reports whether the Space has no space yet and is to get
// one (not suspended, not ObserveOnly).
func aboutToCreate(sp *spacesv1alpha1.Space) bool {
	return recordedSpaceID(sp) == "" && !sp.Spec.Suspend && !observeOnly(sp.Spec.Management)
}

// annotationChanged passes updates that change the annotation key. Only
// annotations users set count: the operator's own bookkeeping (the
// create-pending mark, the recorded id) must not wake it up again, or a
// refused create would retry forever.
func annotationChanged(key string) predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectNew.GetAnnotations()[key] != e.ObjectOld.GetAnnotations()[key]
	}}
}

func deletionPredicate() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return !e.ObjectNew.GetDeletionTimestamp().Equal(e.ObjectOld.GetDeletionTimestamp())
	}}
}
