package controller

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
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

// createOrRecover gives a Space without a space one. A create-pending mark
// means an earlier attempt may have made one: recovery waits until that
// attempt can no longer land, then adopts the space holding this object's
// newest ticket (deleting any other holding one of its tickets), or makes
// the next attempt. The mark is written, with optimistic locking, before
// each create is sent, so a crash at any point leaves either the mark or
// the recorded id.
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
		if id := fresh.Status.SpaceID; id != "" {
			// Recorded, and the status written, since the cached copy.
			sp.Status = fresh.Status
			s.status = *fresh.Status.DeepCopy()
		}
		if id := recordedSpaceID(sp); id != "" {
			return id, outcome{}, true
		}
	}
	next := createMark{attempt: 1}
	if v := sp.Annotations[spacesv1alpha1.AnnotationCreatePending]; v != "" {
		mark := parseCreateMark(v)
		found, o, ok := r.recoverCreate(ctx, s, mark)
		if !ok {
			return "", o, false
		}
		if found.keep != "" {
			return r.adoptRecovered(ctx, s, found)
		}
		if mark.attempt > 0 {
			next = createMark{attempt: mark.attempt + 1, first: mark.first}
		}
	}
	req := spaces.CreateSpaceRequest{InformChannel: spaces.InformChannelServer}
	if sp.Spec.Owner != "" {
		// The owner gets the space; the service account must stay an admin
		// to keep managing it. It is invited by its user id: by email, it
		// may get an invitation it can never accept.
		saID, err := s.cred.ServiceAccountID(ctx)
		if err != nil {
			return "", failed(err, false), false
		}
		req.Invitees = []spaces.Invitee{{InviteeType: spaces.InviteeTypeUserID, Invitee: saID, Role: string(spacesv1alpha1.RoleAdmin)}}
	}
	next.at = r.Now()
	next.until = next.at.Add(settleTime(s.api.RequestTimeout()))
	next.title = sp.Spec.Title
	if next.first.IsZero() {
		next.first = next.at
	}
	// The finalizer comes with the mark: one write before the create, under
	// optimistic locking (the resourceVersion), built directly rather than
	// by diffing two copies of the object.
	finalizers := sp.Finalizers
	if !slices.Contains(finalizers, spacesv1alpha1.Finalizer) {
		finalizers = append(slices.Clip(finalizers), spacesv1alpha1.Finalizer)
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"resourceVersion": sp.ResourceVersion,
		"finalizers":      finalizers,
		"annotations":     map[string]string{spacesv1alpha1.AnnotationCreatePending: next.String()},
	}})
	if err != nil {
		return "", failed(err, false), false
	}
	if err := r.Patch(ctx, sp, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return "", failed(err, false), false
	}

	req.Topic = spaces.Topic{Title: sp.Spec.Title, Description: ticketDescription(sp.UID, next.attempt)}
	log.Info("Creating the space in Spaces", "space", klog.KObj(sp), "owner", sp.Spec.Owner, "attempt", next.attempt)
	sendBy := next.at.Add(sendWindow(s.api.RequestTimeout()))
	resp, err := s.api.CreateSpace(spaces.WithSendDeadline(ctx, sendBy), req, sp.Spec.Owner)
	if err != nil {
		if spaces.DefinitelyNotDone(err) {
			// Every earlier attempt was settled before this one was made,
			// so nothing of this episode can land any more.
			r.clearCreatePending(ctx, s)
		}
		return "", failed(err, false), false
	}
	id := resp.Data[0].TopicID
	if err := r.recordSpaceID(ctx, s, id); err != nil {
		// The mark stays: recovery finds the space by its ticket.
		return "", failed(err, false), false
	}
	r.event(sp, corev1.EventTypeNormal, spacesv1alpha1.ReasonCreated, "Created space %s", id)
	s.created, s.fresh = true, true
	return id, outcome{}, true
}

// recovered is what recovery found of an interrupted create.
type recovered struct {
	// keep is the space to adopt ("" when the create did not land).
	keep string
	// duplicates are the other spaces holding one of the object's tickets,
	// read in this reconcile.
	duplicates []string
}

// adoptRecovered records the space an interrupted create made, then
// deletes the duplicates that earlier attempts left. They are written to
// status first: once the id is recorded the mark is gone, and status is
// then the only memory of them.
func (r *SpaceReconciler) adoptRecovered(ctx context.Context, s *spaceScope, found recovered) (string, outcome, bool) {
	sp := s.space
	if len(found.duplicates) > 0 {
		s.status.LeftoverSpaceIDs = mergeIDs(s.status.LeftoverSpaceIDs, found.duplicates)
		if err := r.writeStatus(ctx, s, progressing(spacesv1alpha1.ReasonProgressing, fmt.Sprintf(
			"Adopting space %s, made by an interrupted create; deleting %d duplicates of it", found.keep, len(found.duplicates)))); err != nil {
			return "", failed(err, false), false
		}
	}
	ctrl.LoggerFrom(ctx).Info("Adopting the space of an interrupted create", "space", klog.KObj(sp), "spaceID", found.keep, "duplicates", found.duplicates)
	if err := r.recordSpaceID(ctx, s, found.keep); err != nil {
		return "", failed(err, false), false
	}
	r.event(sp, corev1.EventTypeNormal, spacesv1alpha1.ReasonCreated, "Found space %s, created before an interruption, and recorded it", found.keep)
	s.created = true
	s.verifiedDuplicates = found.duplicates
	return found.keep, outcome{}, true
}

// recoverCreate looks for the space an interrupted create may have made.
// A ticketed mark waits until its attempt can no longer land, then takes
// the spaces of the title holding one of this object's tickets: the newest
// attempt's is kept, the rest are duplicates. A mark of an older release
// (no tickets) adopts the one space of the exact title made since the
// mark, and stalls for a human when there are several.
func (r *SpaceReconciler) recoverCreate(ctx context.Context, s *spaceScope, mark createMark) (recovered, outcome, bool) {
	if mark.attempt > 0 {
		now := r.Now()
		if mark.at.After(now.Add(maxSettle)) {
			mark = createMark{} // a mark from the future is not ours: trust no time in it
		} else if wait := mark.until.Sub(now); wait > 0 {
			o := progressing(spacesv1alpha1.ReasonProgressing, fmt.Sprintf(
				"Create attempt %d was interrupted and may still land in Spaces; looking for it at %s before creating again",
				mark.attempt, mark.until.UTC().Format(time.RFC3339)))
			o.retryAfter = wait
			return recovered{}, o, false
		}
	}
	title := s.space.Spec.Title
	titles := []string{title}
	if mark.title != "" && mark.title != title {
		// The title changed while the attempt was out: its space, if any,
		// has the old one.
		titles = append(titles, mark.title)
	}
	var list []spaces.Space
	for _, t := range titles {
		found, err := s.api.MySpaces(ctx, spaces.MySpacesQuery{Search: "^" + regexp.QuoteMeta(t) + "$"})
		if err != nil {
			return recovered{}, failed(err, false), false
		}
		list = append(list, found...)
	}
	// Whatever a mark says (it may be forged where the admission policy is
	// not installed), a space older than the object is not its creation.
	// Ticketed spaces prove themselves, so Spaces' clock may lag ours by
	// the skew; without tickets nothing older than the object is taken.
	since, created := mark.first.Add(-createClockSkew), s.space.CreationTimestamp.Time
	if mark.attempt > 0 {
		created = created.Add(-createClockSkew)
	}
	if created.After(since) {
		since = created
	}
	var candidates []spaces.Space
	for _, c := range list {
		if !slices.Contains(titles, c.Title) || objectIDTime(c.ID).Before(since) {
			continue
		}
		_, free, err := checkClaim(ctx, r.Client, s.space, c.ID)
		if err != nil {
			return recovered{}, failed(err, false), false
		}
		if free {
			candidates = append(candidates, c)
		}
	}
	if mark.attempt == 0 {
		return legacyRecovery(title, candidates)
	}
	type ticketed struct {
		id      string
		attempt int
	}
	var ours []ticketed
	for _, c := range candidates {
		if c.Description == "" {
			// The listing may leave descriptions out: read the space itself.
			full, err := s.api.GetSpace(ctx, c.ID)
			if spaces.IsNotFound(err) {
				continue
			}
			if spaces.KindOf(err) == spaces.KindForbidden && s.space.Spec.Owner == "" {
				// The creator of a space is its admin: one the service
				// account may not read is not of its making.
				continue
			}
			if err != nil {
				// Perhaps ours, unreadable: never create again on a guess.
				return recovered{}, failed(err, true), false
			}
			c.Description = full.Description
		}
		if uid, attempt, ok := parseTicket(c.Description); ok && uid == s.space.UID {
			ours = append(ours, ticketed{c.ID, attempt})
		}
	}
	if len(ours) == 0 {
		if s.space.Spec.Owner != "" {
			// A space made on another user's behalf may never show to the
			// service account: not finding it proves nothing.
			return recovered{}, stalled(spacesv1alpha1.ReasonUncertainCreate, fmt.Sprintf(
				"a create of %q on behalf of %s (spec.owner) was interrupted at %s, and the service account cannot find its space (a space made for another user may be invisible to it); it is not created again on a guess: if %s has the space, set spec.spaceID to its id (and make the service account an admin of it), else annotate the Space with %s=true to create it",
				mark.title, s.space.Spec.Owner, mark.at.UTC().Format(time.RFC3339), s.space.Spec.Owner, spacesv1alpha1.AnnotationRecreate)), false
		}
		return recovered{}, outcome{}, true
	}
	// Newest attempt first; within one attempt (a create Spaces committed
	// twice), the later space.
	sort.Slice(ours, func(i, j int) bool {
		if ours[i].attempt != ours[j].attempt {
			return ours[i].attempt > ours[j].attempt
		}
		return ours[i].id > ours[j].id
	})
	found := recovered{keep: ours[0].id}
	for _, t := range ours[1:] {
		found.duplicates = append(found.duplicates, t.id)
	}
	return found, outcome{}, true
}

// legacyRecovery is recovery without tickets: the spaces of the title made
// since the mark are all that is known.
func legacyRecovery(title string, candidates []spaces.Space) (recovered, outcome, bool) {
	ids := make([]string, 0, len(candidates))
	for _, c := range candidates {
		ids = append(ids, c.ID)
	}
	sort.Strings(ids)
	switch len(ids) {
	case 0:
		return recovered{}, outcome{}, true
	case 1:
		return recovered{keep: ids[0]}, outcome{}, true
	default:
		return recovered{}, stalled(spacesv1alpha1.ReasonAmbiguousCreate, fmt.Sprintf(
			"a create was interrupted and %d spaces titled %q were created since: %s; set spec.spaceID to the one to keep (and delete the others in Spaces)",
			len(ids), title, strings.Join(ids, ", "))), false
	}
}

// deleteDuplicates deletes the spaces in status.leftoverSpaceIDs, each only
// after reading this object's ticket in it (status is not proof: whatever
// put an id there, a space without the ticket is never deleted), except
// those this reconcile has just read. What cannot be deleted stays listed;
// the returned text says why, for the Ready message.
func (r *SpaceReconciler) deleteDuplicates(ctx context.Context, s *spaceScope) string {
	sp := s.space
	verified := map[string]bool{}
	for _, id := range s.verifiedDuplicates {
		verified[id] = true
	}
	var left, why []string
	for _, id := range s.status.LeftoverSpaceIDs {
		if !verified[id] {
			got, err := s.api.GetSpace(ctx, id)
			if spaces.IsNotFound(err) {
				continue
			}
			if err != nil {
				left, why = append(left, id), append(why, err.Error())
				continue
			}
			if !holdsTicketOf(got.Description, sp.UID) {
				ctrl.LoggerFrom(ctx).Info("Not deleting a listed leftover space: it holds no create ticket of this object", "space", klog.KObj(sp), "spaceID", id)
				continue
			}
		}
		if err := s.api.DeleteSpace(ctx, id); err != nil && !spaces.IsNotFound(err) {
			left, why = append(left, id), append(why, err.Error())
			continue
		}
		r.event(sp, corev1.EventTypeNormal, spacesv1alpha1.ReasonDuplicateDeleted,
			"Deleted space %s, a duplicate of space %s made by an interrupted create of this object", id, s.status.SpaceID)
	}
	s.status.LeftoverSpaceIDs = left
	if len(left) == 0 {
		return ""
	}
	return fmt.Sprintf("%d spaces made by interrupted creates of this object could not be deleted (%s): %s; enable scope spaces.delete, or delete them in Spaces",
		len(left), strings.Join(left, ", "), why[0])
}

// mergeIDs adds ids to a set kept in order.
func mergeIDs(set, ids []string) []string {
	out := slices.Clone(set)
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
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

// recordSpaceID records the id of the space the object created or
// recovered in the space-id annotation, with the operator's proof of it,
// dropping the create-pending and recreate annotations: one metadata
// write, needing no lock (it may be repeated). status.spaceID, the
// operator's own record, follows in the status written at the end of the
// reconcile; until then the proof (which tenants cannot forge) tells the
// id from a forged annotation, so a crash in between costs nothing. The
// create ticket in the new space's description is replaced only after
// this write, so there is no moment in which neither the mark nor the id
// finds the space.
func (r *SpaceReconciler) recordSpaceID(ctx context.Context, s *spaceScope, id string) error {
	s.status.SpaceID = id
	var proof any
	if v := s.cred.Vouch(s.space.UID, id); v != "" {
		proof = v
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{
		spacesv1alpha1.AnnotationSpaceID:       id,
		spacesv1alpha1.AnnotationSpaceIDProof:  proof,
		spacesv1alpha1.AnnotationCreatePending: nil,
		spacesv1alpha1.AnnotationRecreate:      nil,
	}}})
	if err != nil {
		return err
	}
	return r.Patch(ctx, s.space, client.RawPatch(types.MergePatchType, patch))
}

// recordingUnfinished reports whether a crash interrupted recordSpaceID:
// the status knows the space, the annotation does not yet (or a mark is
// still there).
func recordingUnfinished(sp *spacesv1alpha1.Space) bool {
	id := sp.Status.SpaceID
	return id != "" && sp.Spec.SpaceID == "" &&
		(sp.Annotations[spacesv1alpha1.AnnotationSpaceID] == "" || sp.Annotations[spacesv1alpha1.AnnotationCreatePending] != "")
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
	delete(s.space.Annotations, spacesv1alpha1.AnnotationSpaceIDProof)
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
	if done, err := r.abandoned(ctx, sp); done || err != nil {
		return ctrl.Result{}, err
	}
	if observeOnly(sp.Spec.Management) {
		if id := recordedSpaceID(sp); id != "" {
			r.event(sp, corev1.EventTypeNormal, spacesv1alpha1.ReasonDeleted, "Left space %s in Spaces (management ObserveOnly never deletes)", id)
		}
		return ctrl.Result{}, releaseFinalizer(ctx, r.Client, sp)
	}
	if sp.Spec.DeletionPolicy == spacesv1alpha1.DeletionPolicyDelete {
		if o := r.deleteSpace(ctx, s); o.phase != 0 {
			return r.finish(ctx, s, o)
		}
	} else if id := recordedSpaceID(sp); id != "" {
		r.event(sp, corev1.EventTypeNormal, spacesv1alpha1.ReasonDeleted, "Left space %s in Spaces (deletionPolicy Retain)", id)
	}
	// Duplicates are the operator's mess, not the user's space, whatever
	// the policy: one try, and a warning naming what is left, but they
	// never hold the deletion up.
	if len(s.status.LeftoverSpaceIDs) > 0 {
		msg := "the credentials cannot be used"
		if _, ok := r.resolve(ctx, s); ok {
			msg = r.deleteDuplicates(ctx, s)
		}
		if msg != "" {
			r.event(sp, corev1.EventTypeWarning, spacesv1alpha1.ReasonDuplicatesLeft, "Deleted without its duplicates: %s", msg)
		}
	}
	return ctrl.Result{}, releaseFinalizer(ctx, r.Client, sp)
}

// deleteSpace deletes the space in Spaces, and any duplicates interrupted
// creates left; a zero outcome means done.
func (r *SpaceReconciler) deleteSpace(ctx context.Context, s *spaceScope) outcome {
	sp := s.space
	id := recordedSpaceID(sp)
	mark := sp.Annotations[spacesv1alpha1.AnnotationCreatePending]
	if id == "" && mark == "" {
		return outcome{} // nothing was ever created
	}
	if o, ok := r.resolve(ctx, s); !ok {
		if o.reason == spacesv1alpha1.ReasonNotAllowed {
			// The account is no longer lent to this namespace: what it
			// created stays, rather than the deletion hanging.
			r.event(sp, corev1.EventTypeWarning, spacesv1alpha1.ReasonNotAllowed, "Left the space in Spaces: %s", o.message)
			return outcome{}
		}
		o.message = "cannot delete the space (deletionPolicy Delete): " + o.message
		return o
	}
	if id == "" && mark != "" {
		found, o, ok := r.recoverCreate(ctx, s, parseCreateMark(mark))
		if !ok && o.reason == spacesv1alpha1.ReasonUncertainCreate {
			r.event(sp, corev1.EventTypeWarning, spacesv1alpha1.ReasonUncertainCreate, "Deleted without deleting a space: %s", o.message)
			return outcome{}
		}
		if !ok {
			return o
		}
		id = found.keep
		s.status.LeftoverSpaceIDs = mergeIDs(s.status.LeftoverSpaceIDs, found.duplicates)
		s.verifiedDuplicates = found.duplicates
	}
	if id != "" {
		if _, holds, err := checkClaim(ctx, r.Client, sp, id); err != nil {
			return failed(err, false)
		} else if !holds {
			r.event(sp, corev1.EventTypeNormal, spacesv1alpha1.ReasonDeleted, "Left space %s in Spaces: another Space manages it", id)
			return outcome{}
		}
		if why := mayDeleteSpace(s.policy, createdHere(s.cred, sp, id)); why != "" {
			r.event(sp, corev1.EventTypeWarning, spacesv1alpha1.ReasonNotAllowed, "Left space %s in Spaces (deletionPolicy Delete): %s", id, why)
			return outcome{}
		}
		ctrl.LoggerFrom(ctx).Info("Deleting the space in Spaces", "space", klog.KObj(sp), "spaceID", id)
		if err := s.api.DeleteSpace(ctx, id); err != nil && !spaces.IsNotFound(err) {
			return failed(err, true)
		}
		r.event(sp, corev1.EventTypeNormal, spacesv1alpha1.ReasonDeleted, "Deleted space %s in Spaces", id)
	}
	return outcome{}
}
