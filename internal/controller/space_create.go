package controller

import (
	"context"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/spaces"
)

// createClockSkew widens the recovery window below the create-pending
// mark: a space's id carries Spaces' clock, which may be behind ours.
const createClockSkew = 2 * time.Minute

// createOrRecover gives a Space without a space one: it first looks for a
// space an interrupted create may have made (the create-pending mark), and
// creates one only when there is none. The mark is written, with optimistic
// locking, before the create is sent, so a crash at any point leaves either
// the mark (and recovery finds the space) or the recorded id.
func (r *SpaceReconciler) createOrRecover(ctx context.Context, s *spaceScope) (string, outcome, bool) {
	log := ctrl.LoggerFrom(ctx)
	sp := s.space
	if sp.Annotations[spacesv1alpha1.AnnotationCreatePending] != "" {
		// The cache may lag our own writes: a mark we already cleared, or an
		// id we already recorded, must not send us searching.
		fresh := &spacesv1alpha1.Space{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(sp), fresh); err != nil {
			return "", failed(err, false), false
		}
		sp.ObjectMeta = fresh.ObjectMeta
		if id := fresh.Annotations[spacesv1alpha1.AnnotationSpaceID]; id != "" {
			return id, outcome{}, true
		}
	}
	if mark := sp.Annotations[spacesv1alpha1.AnnotationCreatePending]; mark != "" {
		id, o, ok := r.recoverCreate(ctx, s, mark)
		if !ok {
			return "", o, false
		}
		if id != "" {
			log.Info("Adopting the space of an interrupted create", "space", klog.KObj(sp), "spaceID", id)
			if err := r.recordSpaceID(ctx, s, id); err != nil {
				return "", failed(err, false), false
			}
			r.event(sp, corev1.EventTypeNormal, spacesv1alpha1.ReasonCreated, "Found space %s, created before an interruption, and recorded it", id)
			s.created = true
			return id, outcome{}, true
		}
	} else {
		patch := client.MergeFromWithOptions(sp.DeepCopy(), client.MergeFromWithOptimisticLock{})
		if sp.Annotations == nil {
			sp.Annotations = map[string]string{}
		}
		sp.Annotations[spacesv1alpha1.AnnotationCreatePending] = r.Now().UTC().Format(time.RFC3339)
		if err := r.Patch(ctx, sp, patch); err != nil {
			return "", failed(err, false), false
		}
		// Say so before the create, which may take a while: kstatus readers
		// see the object in progress rather than done.
		if err := r.writeStatus(ctx, s, progressing(spacesv1alpha1.ReasonProgressing, "Creating the space in Spaces")); err != nil {
			return "", failed(err, false), false
		}
	}

	req := spaces.CreateSpaceRequest{Topic: spaces.Topic{Title: sp.Spec.Title}, InformChannel: spaces.InformChannelServer}
	if sp.Spec.Description != nil {
		req.Topic.Description = *sp.Spec.Description
	}
	if sp.Spec.Owner != "" {
		// The owner gets the space; the service account must stay an admin
		// to keep managing it.
		req.Invitees = []spaces.Invitee{{InviteeType: spaces.InviteeTypeEmail, Invitee: s.cred.Subject, Role: string(spacesv1alpha1.RoleAdmin)}}
	}
	log.Info("Creating the space in Spaces", "space", klog.KObj(sp), "owner", sp.Spec.Owner)
	resp, err := s.api.CreateSpace(ctx, req, sp.Spec.Owner)
	if err != nil {
		if spaces.DefinitelyNotDone(err) {
			r.clearCreatePending(ctx, s)
		}
		return "", failed(err, false), false
	}
	id := resp.Data[0].TopicID
	if err := r.recordSpaceID(ctx, s, id); err != nil {
		// The mark stays: the next reconcile finds the space by title.
		return "", failed(err, false), false
	}
	r.event(sp, corev1.EventTypeNormal, spacesv1alpha1.ReasonCreated, "Created space %s", id)
	s.created = true
	return id, outcome{}, true
}

// recoverCreate looks for the space an interrupted create may have made:
// exact title, created after the mark (less the clock skew), not managed by
// another Space. One is adopted; several stall for a human.
func (r *SpaceReconciler) recoverCreate(ctx context.Context, s *spaceScope, mark string) (string, outcome, bool) {
	since, err := time.Parse(time.RFC3339, mark)
	if err != nil {
		since = time.Time{} // unreadable mark: consider every space of the title
	}
	title := s.space.Spec.Title
	found, err := s.api.MySpaces(ctx, spaces.MySpacesQuery{Search: "^" + regexp.QuoteMeta(title) + "$"})
	if err != nil {
		return "", failed(err, false), false
	}
	var ids []string
	for _, c := range found {
		if c.Title != title || objectIDTime(c.ID).Before(since.Add(-createClockSkew)) {
			continue
		}
		claimed, err := r.claimedByAnother(ctx, s.space, c.ID)
		if err != nil {
			return "", failed(err, false), false
		}
		if !claimed {
			ids = append(ids, c.ID)
		}
	}
	sort.Strings(ids)
	switch len(ids) {
	case 0:
		return "", outcome{}, true
	case 1:
		return ids[0], outcome{}, true
	default:
		return "", stalled(spacesv1alpha1.ReasonAmbiguousCreate, fmt.Sprintf(
			"a create was interrupted and %d spaces titled %q were created since: %s; set spec.spaceID to the one to keep (and delete the others in Spaces)",
			len(ids), title, strings.Join(ids, ", "))), false
	}
}

func (r *SpaceReconciler) claimedByAnother(ctx context.Context, sp *spacesv1alpha1.Space, id string) (bool, error) {
	var list spacesv1alpha1.SpaceList
	if err := r.List(ctx, &list, client.MatchingFields{indexSpaceID: id}); err != nil {
		return false, err
	}
	for _, o := range list.Items {
		if o.UID != sp.UID {
			return true, nil
		}
	}
	return false, nil
}

// objectIDTime is the creation time in a MongoDB ObjectId (its first four
// bytes, seconds since 1970); the zero time if id is not one.
func objectIDTime(id string) time.Time {
	b, err := hex.DecodeString(id)
	if err != nil || len(b) != 12 {
		return time.Time{}
	}
	return time.Unix(int64(b[0])<<24|int64(b[1])<<16|int64(b[2])<<8|int64(b[3]), 0)
}

// recordSpaceID writes the id into the space-id annotation and drops the
// create-pending and recreate annotations, retrying on conflicts with a
// fresh copy; then the status carries it too.
func (r *SpaceReconciler) recordSpaceID(ctx context.Context, s *spaceScope, id string) error {
	key := client.ObjectKeyFromObject(s.space)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		latest := &spacesv1alpha1.Space{}
		if err := r.Get(ctx, key, latest); err != nil {
			return err
		}
		if latest.Annotations == nil {
			latest.Annotations = map[string]string{}
		}
		latest.Annotations[spacesv1alpha1.AnnotationSpaceID] = id
		delete(latest.Annotations, spacesv1alpha1.AnnotationCreatePending)
		delete(latest.Annotations, spacesv1alpha1.AnnotationRecreate)
		if err := r.Update(ctx, latest); err != nil {
			return err
		}
		s.space.ObjectMeta = latest.ObjectMeta
		return nil
	})
	if err != nil {
		return err
	}
	s.status.SpaceID = id
	return nil
}

// clearCreatePending drops the mark after a create Spaces refused; if that
// fails, the mark only costs one search on the next try.
func (r *SpaceReconciler) clearCreatePending(ctx context.Context, s *spaceScope) {
	patch := client.MergeFrom(s.space.DeepCopy())
	delete(s.space.Annotations, spacesv1alpha1.AnnotationCreatePending)
	if err := r.Patch(ctx, s.space, patch); err != nil {
		ctrl.LoggerFrom(ctx).Info("Could not clear the create-pending mark", "error", err.Error())
	}
}

// forgetSpace drops the id of a space deleted in Spaces, when the user asked
// for a new one with the recreate annotation.
func (r *SpaceReconciler) forgetSpace(ctx context.Context, s *spaceScope) error {
	patch := client.MergeFromWithOptions(s.space.DeepCopy(), client.MergeFromWithOptimisticLock{})
	delete(s.space.Annotations, spacesv1alpha1.AnnotationSpaceID)
	if err := r.Patch(ctx, s.space, patch); err != nil {
		return err
	}
	s.space.Status.SpaceID = ""
	s.status.SpaceID, s.status.URL, s.status.MemberCount = "", "", 0
	return nil
}

// reconcileDelete carries out the deletion policy, then lets the object go.
// It works from the recorded id alone; the credentials Secret is kept alive
// for it by the in-use finalizer.
func (r *SpaceReconciler) reconcileDelete(ctx context.Context, s *spaceScope) (ctrl.Result, error) {
	sp := s.space
	if !controllerutil.ContainsFinalizer(sp, spacesv1alpha1.Finalizer) {
		return ctrl.Result{}, nil
	}
	if sp.Spec.DeletionPolicy == spacesv1alpha1.DeletionPolicyDelete {
		if o := r.deleteSpace(ctx, s); o.phase != 0 {
			return r.finish(ctx, s, o)
		}
	} else if id := recordedSpaceID(sp); id != "" {
		r.event(sp, corev1.EventTypeNormal, spacesv1alpha1.ReasonDeleted, "Left space %s in Spaces (deletionPolicy Retain)", id)
	}
	return ctrl.Result{}, releaseFinalizer(ctx, r.Client, sp)
}

// deleteSpace deletes the space in Spaces; a zero outcome means done.
func (r *SpaceReconciler) deleteSpace(ctx context.Context, s *spaceScope) outcome {
	sp := s.space
	id := recordedSpaceID(sp)
	mark := sp.Annotations[spacesv1alpha1.AnnotationCreatePending]
	if id == "" && mark == "" {
		return outcome{} // nothing was ever created
	}
	if o, ok := r.resolve(ctx, s); !ok {
		o.message = "cannot delete the space (deletionPolicy Delete): " + o.message
		return o
	}
	if id == "" {
		var o outcome
		var ok bool
		if id, o, ok = r.recoverCreate(ctx, s, mark); !ok {
			return o
		}
		if id == "" {
			return outcome{}
		}
	}
	ctrl.LoggerFrom(ctx).Info("Deleting the space in Spaces", "space", klog.KObj(sp), "spaceID", id)
	if err := s.api.DeleteSpace(ctx, id); err != nil && !spaces.IsNotFound(err) {
		return failed(err, true)
	}
	r.event(sp, corev1.EventTypeNormal, spacesv1alpha1.ReasonDeleted, "Deleted space %s in Spaces", id)
	return outcome{}
}
