package controller

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/credentials"
	"github.com/avayacloud/spaces-operator/internal/spaces"
)

// inviteAPI is what the SpaceInvite controller needs of Spaces.
type inviteAPI interface {
	SpaceMembers(ctx context.Context, spaceID string) ([]spaces.Member, error)
	Invite(ctx context.Context, spaceID string, req spaces.InviteRequest) (*spaces.InviteResponse, error)
	SetAttendee(ctx context.Context, spaceID, userID, role string) (*spaces.Attendee, error)
	RemoveAttendee(ctx context.Context, spaceID, userID string) (*spaces.Attendee, error)
	ColleaguesBulk(ctx context.Context, emails []string) ([]spaces.User, error)
	GetSpace(ctx context.Context, id string) (*spaces.Space, error)
	RequestTimeout() time.Duration
	BaseURL() string
	KeyID() string
}

var _ inviteAPI = (*spaces.Client)(nil)

// SpaceInviteReconciler makes the invitees of a SpaceInvite members of its
// space, each invited at most once.
type SpaceInviteReconciler struct {
	// Reconciler's APIReader reads the SpaceInvite: its status records the
	// invitations sent, and a stale copy could send one twice.
	Reconciler
	Now func() time.Time
	// membersRouteRefused remembers, per API and key, that the members
	// route refused the service app while the space itself could be read:
	// membership is then read from the space, without the refused call.
	membersRouteRefused sync.Map
}

// SetupWithManager registers the controller: SpaceInvites, and the Spaces
// they wait for (through an index, not polling), and Secrets.
func (r *SpaceInviteReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.setDefaults()
	if r.Now == nil {
		r.Now = time.Now
	}
	invitesOfSpace := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		var list spacesv1alpha1.SpaceInviteList
		if err := listByValue(ctx, mgr.GetClient(), &list, indexSpaceRef, o.GetNamespace()+"/"+o.GetName()); err != nil {
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(list.Items))
		for _, i := range list.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&i)})
		}
		return reqs
	})
	b := ctrl.NewControllerManagedBy(mgr).
		For(&spacesv1alpha1.SpaceInvite{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, deletionPredicate(), annotationChanged(spacesv1alpha1.AnnotationAbandon)))).
		Watches(&spacesv1alpha1.Space{}, invitesOfSpace, builder.WithPredicates(spaceReadinessChanged()))
	return watchCredentialSources(b, mgr.GetClient(), &spacesv1alpha1.SpaceInviteList{}).
		WithOptions(r.options(unchangedLooks[spacesv1alpha1.SpaceInvite](&r.Reconciler, nil))).
		Named("spaceinvite").
		Complete(r)
}

// spaceReadinessChanged passes Space events that matter to its invites: it
// appeared, went, became Ready or not, or got another space id.
func spaceReadinessChanged() predicate.Funcs {
	state := func(o client.Object) string {
		sp, ok := o.(*spacesv1alpha1.Space)
		if !ok {
			return ""
		}
		return fmt.Sprint(meta.IsStatusConditionTrue(sp.Status.Conditions, spacesv1alpha1.ConditionReady), sp.Status.SpaceID)
	}
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool { return state(e.ObjectOld) != state(e.ObjectNew) }}
}

type inviteScope struct {
	inv     *spacesv1alpha1.SpaceInvite
	status  spacesv1alpha1.SpaceInviteStatus
	api     inviteAPI
	cred    *credentials.Credential
	policy  credentials.Policy
	spaceID string
	// membershipKnown is false when Spaces lets the service app read the
	// space's membership neither by the members route nor in the space.
	membershipKnown bool
	// protected are the emails whose membership and role a SpaceInvite
	// never changes: the service account (the operator would lock itself
	// out) and the space's owner.
	protected []string
}

func (s *inviteScope) isProtected(m spaces.Member) bool {
	return m.Username != "" && slices.ContainsFunc(s.protected, func(e string) bool { return strings.EqualFold(e, m.Username) })
}

// Reconcile: get → deleted → finalizer → suspended → target space →
// credentials → members → role changes → invitations → prune → status.
func (r *SpaceInviteReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	inv := &spacesv1alpha1.SpaceInvite{}
	if err := r.APIReader.Get(ctx, req.NamespacedName, inv); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	s := &inviteScope{inv: inv, status: *inv.Status.DeepCopy()}
	if !inv.DeletionTimestamp.IsZero() {
		r.forgetDrift(inv)
		return r.reconcileDelete(ctx, s)
	}
	o := r.reconcileLive(ctx, s)
	res, err := r.finish(ctx, s, o)
	if err == nil && o.reason == spacesv1alpha1.ReasonWaitingForSpace {
		return ctrl.Result{}, nil // the Space watch wakes us
	}
	return res, err
}

func (r *SpaceInviteReconciler) reconcileLive(ctx context.Context, s *inviteScope) outcome {
	if err := ensureFinalizer(ctx, r.Client, s.inv); err != nil {
		return failed(err, false)
	}
	if s.inv.Spec.Suspend {
		return suspended()
	}
	if o, ok := r.target(ctx, s); !ok {
		return o
	}
	if o, ok := r.driftTurn(ctx, s.inv, s.cred, 1); !ok {
		return o
	}
	members, err := r.readMembers(ctx, s)
	if spaces.IsNotFound(err) {
		// The space is gone, or out of the service account's sight: nothing
		// to invite to until it is back or the target changes.
		return stalled(spacesv1alpha1.ReasonSpaceGone, fmt.Sprintf(
			"space %s does not exist in Spaces any more (or the service account cannot see it); recreate its Space, or point this SpaceInvite at another space", s.spaceID))
	}
	if err != nil {
		return failed(err, true)
	}
	if observeOnly(s.inv.Spec.Management) {
		return r.observeInvites(s, members)
	}
	s.status.Differences = nil
	return r.sync(ctx, s, members)
}

// readMembers reads the space's membership: by the members route, or,
// where Spaces refuses it to service apps, from the space itself. When
// neither shows it, s.membershipKnown is false and no members come back.
func (r *SpaceInviteReconciler) readMembers(ctx context.Context, s *inviteScope) ([]spaces.Member, error) {
	routeKey := s.api.BaseURL() + " " + s.api.KeyID()
	if _, refused := r.membersRouteRefused.Load(routeKey); !refused {
		members, err := s.api.SpaceMembers(ctx, s.spaceID)
		if spaces.KindOf(err) != spaces.KindForbidden {
			s.membershipKnown = err == nil
			return members, err
		}
	}
	sp, err := s.api.GetSpace(ctx, s.spaceID)
	if err != nil {
		return nil, err // refused too: the service account may not read the space at all
	}
	r.membersRouteRefused.Store(routeKey, true)
	s.membershipKnown = sp.Members != nil
	return sp.Members, nil
}

// refusedFeature reports whether a 403 on an attendee route is Spaces
// closing the route to service apps rather than the service account not
// being an admin: membership shows it an admin, or cannot be read at all
// (the invitation calls, which need admin rights, are what then tells).
func (r *SpaceInviteReconciler) refusedFeature(ctx context.Context, s *inviteScope, members []spaces.Member, err error) bool {
	if spaces.KindOf(err) != spaces.KindForbidden {
		return false
	}
	if !s.membershipKnown {
		return true
	}
	saID, _ := s.cred.ServiceAccountID(ctx)
	for _, m := range members {
		if (saID != "" && m.Member == saID) || strings.EqualFold(m.Username, s.cred.Subject) {
			return m.Role == string(spacesv1alpha1.RoleAdmin)
		}
	}
	return false
}

// limit records a feature Spaces refuses on this space.
func (s *inviteScope) limit(l spacesv1alpha1.InviteLimitation) {
	if !slices.Contains(s.status.Limitations, l) {
		s.status.Limitations = append(s.status.Limitations, l)
	}
}

func (s *inviteScope) limited(l spacesv1alpha1.InviteLimitation) bool {
	return slices.Contains(s.status.Limitations, l)
}

// target finds the space and the credentials: a Ready Space's, or spaceID
// with the invite's own.
func (r *SpaceInviteReconciler) target(ctx context.Context, s *inviteScope) (outcome, bool) {
	spec := &s.inv.Spec
	ns := s.inv.Namespace
	src, _ := sourceOf(s.inv)
	s.spaceID = spec.SpaceID
	if spec.SpaceRef != nil {
		var sp spacesv1alpha1.Space
		err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: spec.SpaceRef.Name}, &sp)
		notReady := err == nil && (!meta.IsStatusConditionTrue(sp.Status.Conditions, spacesv1alpha1.ConditionReady) || sp.Status.SpaceID == "")
		if err == nil && sp.Spec.Owner != "" {
			s.protected = append(s.protected, sp.Spec.Owner)
		}
		switch {
		case (apierrors.IsNotFound(err) || notReady) && !s.inv.DeletionTimestamp.IsZero() && s.inv.Status.SpaceID != "":
			// Deleting while the Space object is gone (its space may be
			// retained) or not Ready: the space and credentials of the
			// last sync.
			s.spaceID = s.inv.Status.SpaceID
			src = credentials.Source{CredentialsRef: s.inv.Status.CredentialsRef, AccountRef: s.inv.Status.AccountRef}
		case apierrors.IsNotFound(err):
			return progressing(spacesv1alpha1.ReasonWaitingForSpace, fmt.Sprintf("waiting for Space %s to exist", spec.SpaceRef.Name)), false
		case err != nil:
			return failed(err, false), false
		case notReady:
			return progressing(spacesv1alpha1.ReasonWaitingForSpace, fmt.Sprintf("waiting for Space %s to be Ready", spec.SpaceRef.Name)), false
		default:
			s.spaceID = sp.Status.SpaceID
			src, _ = sourceOf(&sp)
		}
	}
	s.status.SpaceID = s.spaceID
	s.status.CredentialsRef, s.status.AccountRef = src.CredentialsRef.DeepCopy(), src.AccountRef.DeepCopy()
	cred, policy, err := r.Credentials.Resolve(ctx, ns, src)
	if err != nil {
		return failed(err, false), false
	}
	s.api, s.cred, s.policy = cred.Client, cred, policy
	s.protected = append(s.protected, cred.Subject)
	if o, ok := checkInvitees(policy, spec.Invitees); !ok {
		return o, false
	}
	if spec.SpaceID != "" {
		holder, err := claimHolder(ctx, r.Client, spec.SpaceID)
		if err != nil {
			return failed(err, false), false
		}
		if holder != nil && holder.Spec.Owner != "" {
			s.protected = append(s.protected, holder.Spec.Owner)
		}
		// Under an account, a raw id must be a space this namespace
		// manages: any other is another team's, or nobody's to hand out.
		if !policy.Unrestricted() && !policy.Allow.AdoptSpaces && (holder == nil || holder.Namespace != ns) {
			return notAllowed(policy, "spec.allow.adoptSpaces", fmt.Sprintf(
				"spec.spaceID %s: no Space in this namespace manages that space; use spec.spaceRef to a Space here", spec.SpaceID)), false
		}
	}
	return outcome{}, true
}

// sync brings membership to the spec: roles of members are set, people not
// yet members (and not invited before) are invited in one call, and with
// prune, members this object invited but no longer lists are removed.
func (r *SpaceInviteReconciler) sync(ctx context.Context, s *inviteScope, members []spaces.Member) outcome {
	log := ctrl.LoggerFrom(ctx)
	byKey := memberIndex(members)
	if s.inv.Generation != s.inv.Status.ObservedGeneration {
		s.status.Limitations = nil // a new spec tries every feature again
	}
	if !s.membershipKnown {
		s.limit(spacesv1alpha1.LimitationJoinedState)
	} else {
		s.status.Limitations = slices.DeleteFunc(s.status.Limitations, func(l spacesv1alpha1.InviteLimitation) bool { return l == spacesv1alpha1.LimitationJoinedState })
	}
	previous := map[string]spacesv1alpha1.InviteeStatus{}
	// Invitation records belong to the space they were sent to: after the
	// Space was recreated (a new id), everyone is invited again.
	if old := s.inv.Status.SpaceID; old == "" || old == s.spaceID {
		for _, st := range s.status.Invitees {
			previous[inviteeKey(st.Email, st.UserID)] = st
		}
	}

	var next []spacesv1alpha1.InviteeStatus
	var toInvite []int      // indexes into next
	var settlesAt time.Time // the latest interrupted call still able to land
	now := r.Now()
	for _, want := range s.inv.Spec.Invitees {
		key := inviteeKey(want.Email, want.UserID)
		st := previous[key]
		delete(previous, key)
		invitedAs := st.Role
		st.Email, st.UserID, st.Role = want.Email, orDefault(st.UserID, want.UserID), want.Role
		m, isMember := byKey[key]
		if !isMember && st.UserID != "" {
			m, isMember = byKey["id:"+st.UserID] // the listing may not carry emails
		}
		switch {
		case isMember && m.Role == string(want.Role):
			st.State, st.Message, st.UserID = spacesv1alpha1.InviteeJoined, "", m.Member
		case isMember && s.isProtected(m):
			st.State, st.UserID = spacesv1alpha1.InviteeJoined, m.Member
			st.Message = "the role of the service account or of the space's owner is never changed (stays " + m.Role + ")"
		case isMember:
			st.State, st.UserID = spacesv1alpha1.InviteeJoined, m.Member
			if o, ok := r.changeRole(ctx, s, &st, members, m.Role); !ok {
				return o
			}
		case !s.membershipKnown && st.InvitedAt != nil && st.State != spacesv1alpha1.InviteeFailed && st.State != spacesv1alpha1.InviteeSending:
			// Who joined cannot be read; a role changed since the
			// invitation is set by user id, blind (it adds the person if
			// they are not yet a member, as the invitation would have).
			st.State = spacesv1alpha1.InviteeInvited
			if invitedAs != "" && invitedAs != want.Role {
				if o, ok := r.changeRole(ctx, s, &st, members, string(invitedAs)); !ok {
					return o
				}
				st.State = spacesv1alpha1.InviteeInvited
			}
		case st.State == spacesv1alpha1.InviteeSending && st.SendingUntil != nil && now.Before(st.SendingUntil.Time):
			// A call naming them may still land: wait, then look again.
			if st.SendingUntil.After(settlesAt) {
				settlesAt = st.SendingUntil.Time
			}
		case st.State == spacesv1alpha1.InviteeSending && !s.membershipKnown:
			// Membership cannot be read, so nothing shows whether the
			// interrupted call landed: never sent twice.
			st.State, st.SendingUntil = spacesv1alpha1.InviteeInvited, nil
			st.Message = "the operator stopped while inviting, and Spaces does not let the service app read membership: the invitation may not have been sent, and is not sent twice; if it never arrived, remove the invitee and add it back"
		case st.State == spacesv1alpha1.InviteeSending && wireInvitee(st).InviteeType == spaces.InviteeTypeUserID:
			// The interrupted call can no longer land, and an invitation
			// by user id makes a member at once: they are no member, so it
			// never reached Spaces, and they are invited now.
			log.Info("An interrupted invitation did not reach Spaces; sending it again", "spaceInvite", klog.KObj(s.inv), "invitee", displayStatus(st))
			toInvite = append(toInvite, len(next))
		case st.State == spacesv1alpha1.InviteeSending:
			// By email, to someone with no Spaces account: an invitation
			// that arrived is pending, not membership, so nothing shows
			// whether it did. Sending it again could invite twice.
			st.State, st.SendingUntil = spacesv1alpha1.InviteeInvited, nil
			st.Message = "the operator stopped while inviting; the invitation may not have been sent, and is not sent twice: if it never arrived, remove the invitee and add it back"
		case st.InvitedAt != nil && st.State != spacesv1alpha1.InviteeFailed:
			st.State = spacesv1alpha1.InviteeInvited // sent before: never again for this spec
		default:
			toInvite = append(toInvite, len(next))
		}
		next = append(next, st)
	}

	// Dropped from the list: prune what we invited, forget the rest. A
	// removal that fails keeps itself and every one not reached yet.
	var removals []spacesv1alpha1.InviteeStatus
	for _, st := range previous {
		if s.inv.Spec.Prune && st.InvitedAt != nil {
			removals = append(removals, st)
		}
	}
	var notRemoved []string
	for k, st := range removals {
		removed, o, ok := r.prune(ctx, s, st, byKey, members)
		if !ok {
			s.status.Invitees = append(next, removals[k:]...)
			return o
		}
		if !removed {
			notRemoved = append(notRemoved, displayStatus(st))
		}
	}
	if len(notRemoved) > 0 {
		r.event(s.inv, corev1.EventTypeWarning, spacesv1alpha1.ReasonNotAllowed,
			"Dropped from spec.invitees but not removed from the space (Spaces does not let the service app remove members): %s; remove them in Spaces", strings.Join(firstN(notRemoved, 20), ", "))
	}

	if len(toInvite) > 0 {
		if o, ok := r.invite(ctx, s, next, toInvite); !ok {
			return o
		}
	}
	s.status.Invitees = next
	s.status.Total = int32(len(s.inv.Spec.Invitees))
	s.status.Joined = 0
	var failedMsgs []string
	for _, st := range next {
		switch st.State {
		case spacesv1alpha1.InviteeJoined:
			s.status.Joined++
		case spacesv1alpha1.InviteeFailed:
			failedMsgs = append(failedMsgs, displayStatus(st)+": "+st.Message)
		}
	}
	if !settlesAt.IsZero() {
		o := progressing(spacesv1alpha1.ReasonProgressing, fmt.Sprintf(
			"an invitation call was interrupted; at %s membership shows whether it reached Spaces, and those it did not reach are invited then", settlesAt.UTC().Format(time.RFC3339)))
		o.retryAfter = settlesAt.Sub(now) + time.Second
		return o
	}
	if len(failedMsgs) > 0 {
		return stalledButResync(spacesv1alpha1.ReasonInvalidInput, fmt.Sprintf("Spaces refused to invite %d people (each says why in status.invitees): %s; correct spec.invitees",
			len(failedMsgs), strings.Join(firstN(failedMsgs, 3), "; ")))
	}
	msg := fmt.Sprintf("%d of %d invitees are members; the rest are invited", s.status.Joined, s.status.Total)
	if !s.membershipKnown {
		msg = fmt.Sprintf("%d invitees are invited; whether they joined cannot be read", s.status.Total)
	}
	return synced(msg + limitationsMessage(s.status.Limitations, notRemoved))
}

// limitationsMessage says which features Spaces refuses and what a human
// does instead.
func limitationsMessage(limits []spacesv1alpha1.InviteLimitation, notRemoved []string) string {
	var parts []string
	for _, l := range limits {
		switch l {
		case spacesv1alpha1.LimitationJoinedState:
			parts = append(parts, "read membership (joined state is unknown; crash recovery never sends an invitation twice)")
		case spacesv1alpha1.LimitationRoleChanges:
			parts = append(parts, "change roles (the invitees listed with a message need theirs set in Spaces)")
		case spacesv1alpha1.LimitationPrune:
			what := "remove members (prune)"
			if len(notRemoved) > 0 {
				what += "; remove these in Spaces: " + strings.Join(firstN(notRemoved, 5), ", ")
			}
			parts = append(parts, what)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "; Spaces does not let the service app " + strings.Join(parts, ", nor ") + " (status.limitations; tried again when the spec changes)"
}

// changeRole sets st's role in the space, from the role it has (or was
// invited with). A role the attendee route cannot set (guest: it documents
// admin and member only), or a route Spaces refuses the service app, leaves
// the invitee as it is with a message saying what to do; the outcome is
// false only for a failure of the call itself.
func (r *SpaceInviteReconciler) changeRole(ctx context.Context, s *inviteScope, st *spacesv1alpha1.InviteeStatus, members []spaces.Member, from string) (outcome, bool) {
	to := st.Role
	refused := "is " + from + ", not " + string(to) + ": Spaces does not let the service app change roles; change it in Spaces"
	switch {
	case to == spacesv1alpha1.RoleGuest:
		st.Message = "is " + from + "; Spaces' attendee route cannot make someone a guest (it takes admin or member): remove them from the space and they are invited again as guest"
		return outcome{}, true
	case st.UserID == "":
		st.Message = "invited as " + from + "; a role is changed by user id, and they have no Spaces account yet: remove the invitee and add it back with the new role"
		return outcome{}, true
	case s.limited(spacesv1alpha1.LimitationRoleChanges):
		st.Message = refused
		return outcome{}, true
	}
	ctrl.LoggerFrom(ctx).Info("Changing a member's role", "spaceInvite", klog.KObj(s.inv), "member", st.UserID, "role", to)
	if _, err := s.api.SetAttendee(ctx, s.spaceID, st.UserID, string(to)); err != nil {
		if r.refusedFeature(ctx, s, members, err) {
			s.limit(spacesv1alpha1.LimitationRoleChanges)
			st.Message = refused
			return outcome{}, true
		}
		return failed(err, true), false
	}
	r.event(s.inv, corev1.EventTypeNormal, spacesv1alpha1.ReasonUpdated, "Changed the role of %s from %s to %s", displayStatus(*st), from, to)
	st.Message = ""
	return outcome{}, true
}

// invite sends the invitation calls for next[idx...]. Who is about to be
// sent is written to status first as Sending, with the moment after which
// no call can land: a crash after the write neither sends anyone twice
// (they wait for that moment, then membership decides) nor forgets anyone
// (a Sending invitee who is no member then is invited again).
func (r *SpaceInviteReconciler) invite(ctx context.Context, s *inviteScope, next []spacesv1alpha1.InviteeStatus, idx []int) (outcome, bool) {
	req := spaces.InviteRequest{InformChannel: spaces.InformChannelServer}
	if s.inv.Spec.Notify == spacesv1alpha1.NotifyNone {
		req.InformChannel = spaces.InformChannelClient
	}
	r.resolveUserIDs(ctx, s, next, idx)
	notSent(next, idx, spacesv1alpha1.InviteePending, "")
	ctrl.LoggerFrom(ctx).Info("Inviting to the space", "spaceInvite", klog.KObj(s.inv), "spaceID", s.spaceID, "count", len(idx))
	// One call for all, except with notify None: Spaces answers each call
	// with one link, so each invitee gets a call, and their own link.
	groups := [][]int{idx}
	if req.InformChannel == spaces.InformChannelClient {
		groups = nil
		for _, i := range idx {
			groups = append(groups, []int{i})
		}
	}
	for g := 0; g < len(groups); g++ {
		group := groups[g]
		// Each call is announced on its own, with its own bound on when it
		// can land: only who is really being sent is ever Sending.
		start := r.Now()
		now, until := metav1.NewTime(start), metav1.NewTime(start.Add(settleTime(s.api.RequestTimeout())))
		var names []string
		req.Invitees = nil
		for _, i := range group {
			st := &next[i]
			st.State, st.Message, st.InvitedAt, st.SendingUntil = spacesv1alpha1.InviteeSending, "", &now, &until
			names = append(names, displayStatus(*st))
			req.Invitees = append(req.Invitees, wireInvitee(*st))
		}
		s.status.Invitees = next
		if err := r.writeStatus(ctx, s, progressing(spacesv1alpha1.ReasonProgressing, "Inviting "+strings.Join(firstN(names, 20), ", "))); err != nil {
			return failed(err, false), false
		}
		sendCtx := spaces.WithSendDeadline(ctx, start.Add(sendWindow(s.api.RequestTimeout())))
		resp, err := s.api.Invite(sendCtx, s.spaceID, req)
		if spaces.KindOf(err) == spaces.KindInvalid {
			if len(group) > 1 {
				// Spaces refused the call, and so did nothing: each half
				// goes again, and so on, so a bad invitee is found in a few
				// calls and fails alone; nobody is sent twice.
				notSent(next, group, spacesv1alpha1.InviteePending, "")
				half := len(group) / 2
				groups = append(groups, group[:half], group[half:])
				continue
			}
			r.inviteFailed(s, next, group, err)
			continue
		}
		if err != nil {
			return r.inviteFailed(s, next, group, err) // later groups stay Pending
		}
		for _, i := range group {
			next[i].State, next[i].SendingUntil = spacesv1alpha1.InviteeInvited, nil
		}
		if resp.InviteContent != nil && len(group) == 1 {
			if err := r.keepJoinLink(ctx, s, next[group[0]], joinLink(resp.InviteContent.Text)); err != nil {
				next[group[0]].Message = "invited, but the join link could not be kept: " + spaces.Sanitize(err.Error())
			}
		}
	}
	var invited []string
	for _, i := range idx {
		if next[i].State == spacesv1alpha1.InviteeInvited {
			invited = append(invited, displayStatus(next[i]))
		}
	}
	if len(invited) > 0 {
		r.event(s.inv, corev1.EventTypeNormal, spacesv1alpha1.ReasonCreated, "Invited %s", strings.Join(firstN(invited, 20), ", "))
	}
	return outcome{}, true
}

// resolveUserIDs finds the user ids of email invitees who already have a
// Spaces account, so they are invited by id: that makes them members at
// once (an email invitation may stay pending), and an interrupted call can
// be checked against membership and sent again safely. When the lookup is
// refused, everyone is invited by email.
func (r *SpaceInviteReconciler) resolveUserIDs(ctx context.Context, s *inviteScope, next []spacesv1alpha1.InviteeStatus, idx []int) {
	var emails []string
	for _, i := range idx {
		if next[i].Email != "" && next[i].UserID == "" {
			emails = append(emails, next[i].Email)
		}
	}
	if len(emails) == 0 {
		return
	}
	users, err := s.api.ColleaguesBulk(ctx, emails)
	if err != nil {
		ctrl.LoggerFrom(ctx).V(1).Info("Could not look up invitees' user ids; inviting by email", "spaceInvite", klog.KObj(s.inv), "error", spaces.Sanitize(err.Error()))
		return
	}
	byEmail := spaces.UsersByEmail(users)
	for _, i := range idx {
		if u, ok := byEmail[strings.ToLower(next[i].Email)]; ok && next[i].UserID == "" {
			next[i].UserID = u.ID
		}
	}
}

// wireInvitee is how an invitee is named to Spaces: by user id when it is
// known, else by email.
func wireInvitee(st spacesv1alpha1.InviteeStatus) spaces.Invitee {
	if st.UserID != "" {
		return spaces.Invitee{InviteeType: spaces.InviteeTypeUserID, Invitee: st.UserID, Role: string(st.Role)}
	}
	return spaces.Invitee{InviteeType: spaces.InviteeTypeEmail, Invitee: st.Email, Role: string(st.Role)}
}

// notSent records that nothing reached Spaces for next[group...]: they
// are in state (Pending, or Failed with Spaces' message), and nothing is
// out for them.
func notSent(next []spacesv1alpha1.InviteeStatus, group []int, state spacesv1alpha1.InviteeState, message string) {
	for _, i := range group {
		next[i].State, next[i].Message, next[i].InvitedAt, next[i].SendingUntil = state, message, nil, nil
	}
}

// inviteFailed records a failed invitation call for the invitees of group.
func (r *SpaceInviteReconciler) inviteFailed(s *inviteScope, next []spacesv1alpha1.InviteeStatus, group []int, err error) (outcome, bool) {
	if spaces.KindOf(err) == spaces.KindInvalid {
		notSent(next, group, spacesv1alpha1.InviteeFailed, err.Error())
		s.status.Invitees = next
		return outcome{}, true
	}
	if spaces.DefinitelyNotDone(err) {
		notSent(next, group, spacesv1alpha1.InviteePending, "")
	} else {
		// It may or may not have gone out: they stay Sending, and once the
		// call can no longer land, membership decides.
		for _, i := range group {
			next[i].Message = "the answer to the invitation was lost (" + err.Error() + "); membership decides after sendingUntil whether it is sent again"
		}
	}
	s.status.Invitees = next
	return failed(err, true), false
}

// keepJoinLink stores an invitee's join link in the Secret the SpaceInvite
// owns, and names it in status.
func (r *SpaceInviteReconciler) keepJoinLink(ctx context.Context, s *inviteScope, st spacesv1alpha1.InviteeStatus, link string) error {
	if link == "" {
		return nil
	}
	name := s.inv.Name + "-join-links"
	secret, err := r.ownedSecret(ctx, s.inv, name, "metadata.name")
	if err != nil {
		return err
	}
	key := "user-id." + st.UserID
	if st.Email != "" {
		key = passwordKey(st.Email)
	}
	secret.Data[key] = []byte(link)
	if err := r.saveSecret(ctx, secret); err != nil {
		return err
	}
	s.status.JoinLinksSecret = name
	return nil
}

// prune removes a member this object invited and no longer lists. removed
// is false when Spaces does not let the service app remove members (the
// Prune limitation) or, with membership unreadable, the person has no user
// id to remove; the outcome is false only for a failure of the call.
func (r *SpaceInviteReconciler) prune(ctx context.Context, s *inviteScope, st spacesv1alpha1.InviteeStatus, byKey map[string]spaces.Member, members []spaces.Member) (bool, outcome, bool) {
	m, ok := byKey[inviteeKey(st.Email, st.UserID)]
	if !ok {
		m, ok = byKey["id:"+st.UserID]
	}
	switch {
	case !ok && s.membershipKnown:
		return true, outcome{}, true // never joined, or already gone
	case !ok && st.UserID == "":
		return false, outcome{}, true
	case !ok:
		m = spaces.Member{Member: st.UserID, Username: st.Email} // blind: a 404 says they are gone
	}
	if s.isProtected(m) {
		return true, outcome{}, true
	}
	if s.limited(spacesv1alpha1.LimitationPrune) {
		return false, outcome{}, true
	}
	ctrl.LoggerFrom(ctx).Info("Removing a member this SpaceInvite invited", "spaceInvite", klog.KObj(s.inv), "member", m.Member)
	if _, err := s.api.RemoveAttendee(ctx, s.spaceID, m.Member); err != nil && !spaces.IsNotFound(err) {
		if r.refusedFeature(ctx, s, members, err) {
			s.limit(spacesv1alpha1.LimitationPrune)
			return false, outcome{}, true
		}
		return false, failed(err, true), false
	}
	r.event(s.inv, corev1.EventTypeNormal, spacesv1alpha1.ReasonDeleted, "Removed %s from the space (prune)", displayStatus(st))
	return true, outcome{}, true
}

// reconcileDelete removes, with prune, the members this object invited.
func (r *SpaceInviteReconciler) reconcileDelete(ctx context.Context, s *inviteScope) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(s.inv, spacesv1alpha1.Finalizer) {
		return ctrl.Result{}, nil
	}
	if done, err := r.abandoned(ctx, s.inv); done || err != nil {
		return ctrl.Result{}, err
	}
	if s.inv.Spec.Prune && !s.inv.Spec.Suspend && !observeOnly(s.inv.Spec.Management) && len(s.status.Invitees) > 0 {
		if o, ok := r.target(ctx, s); ok {
			members, err := r.readMembers(ctx, s)
			if spaces.IsNotFound(err) {
				return ctrl.Result{}, releaseFinalizer(ctx, r.Client, s.inv) // the space, and its members, are gone
			}
			if err != nil {
				return r.finish(ctx, s, failed(err, true))
			}
			byKey := memberIndex(members)
			var notRemoved []string
			for _, st := range s.status.Invitees {
				if st.InvitedAt == nil {
					continue
				}
				removed, o, ok := r.prune(ctx, s, st, byKey, members)
				if !ok {
					return r.finish(ctx, s, o)
				}
				if !removed {
					notRemoved = append(notRemoved, displayStatus(st))
				}
			}
			if len(notRemoved) > 0 {
				// What Spaces will not let the operator remove is left, and
				// said, rather than the deletion hanging.
				r.event(s.inv, corev1.EventTypeWarning, spacesv1alpha1.ReasonNotAllowed,
					"Deleted without removing %s from the space: Spaces does not let the service app remove members; remove them in Spaces", strings.Join(firstN(notRemoved, 20), ", "))
			}
		} else if o.reason == spacesv1alpha1.ReasonNotAllowed {
			// What the account does not allow now, pruning included, is
			// left as it is rather than the deletion hanging.
			r.event(s.inv, corev1.EventTypeWarning, spacesv1alpha1.ReasonNotAllowed, "Deleted without pruning: %s", o.message)
		} else if o.reason != spacesv1alpha1.ReasonWaitingForSpace {
			return r.finish(ctx, s, o)
		}
		// The Space is gone: so is the membership it would prune.
	}
	return ctrl.Result{}, releaseFinalizer(ctx, r.Client, s.inv)
}

func (r *SpaceInviteReconciler) finish(ctx context.Context, s *inviteScope, o outcome) (ctrl.Result, error) {
	return finish(ctx, &r.Reconciler, s.inv, &s.inv.Status, &s.status, o)
}

func (r *SpaceInviteReconciler) writeStatus(ctx context.Context, s *inviteScope, o outcome) error {
	return writeStatus(ctx, &r.Reconciler, s.inv, &s.inv.Status, &s.status, o)
}

func memberIndex(members []spaces.Member) map[string]spaces.Member {
	byKey := map[string]spaces.Member{}
	for _, m := range members {
		byKey["id:"+m.Member] = m
		if m.Username != "" {
			byKey["email:"+strings.ToLower(m.Username)] = m
		}
	}
	return byKey
}

func inviteeKey(email, userID string) string {
	if email != "" {
		return "email:" + strings.ToLower(email)
	}
	return "id:" + userID
}

func displayInvitee(i spacesv1alpha1.Invitee) string { return orDefault(i.Email, i.UserID) }

func displayStatus(s spacesv1alpha1.InviteeStatus) string { return orDefault(s.Email, s.UserID) }

func orDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// joinURLPattern finds the CONFIRMED invitation link in the invite text.
var joinURLPattern = regexp.MustCompile(`https?://\S+/join\?inviteInfo=[A-Za-z0-9+/=_-]+`)

func joinLink(text string) string {
	if m := joinURLPattern.FindString(text); m != "" {
		return m
	}
	return strings.TrimSpace(text)
}
