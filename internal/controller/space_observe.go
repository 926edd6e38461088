package controller

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/spaces"
)

// observeOnly reports whether the object's management is ObserveOnly.
func observeOnly(m spacesv1alpha1.Management) bool { return m == spacesv1alpha1.ManagementObserveOnly }

// observeSpace is the reconcile of a Space under management ObserveOnly:
// it reads the space and records, field by field, where Spaces differs
// from the spec. Nothing is written to Spaces.
func (r *SpaceReconciler) observeSpace(ctx context.Context, s *spaceScope, id string) outcome {
	if id == "" {
		return stalled(spacesv1alpha1.ReasonNothingToObserve,
			"management is ObserveOnly and there is no space to observe: set spec.spaceID (spacesctl export writes it), or management Full to create the space")
	}
	if o, ok, err := checkClaim(ctx, r.Client, s.space, id); err != nil {
		return failed(err, false)
	} else if !ok {
		return o
	}
	if o, ok := checkSpace(s.policy, s.space, id, createdHere(s.cred, s.space, id)); !ok {
		return o
	}
	observedSpace, err := s.api.GetSpace(ctx, id)
	if err != nil {
		return r.spaceUnreachable(s, id, err)
	}
	if s.status.SpaceID != id {
		r.event(s.space, corev1.EventTypeNormal, spacesv1alpha1.ReasonAdopted, "Observing space %s (management ObserveOnly: nothing is written)", id)
	}
	s.status.SpaceID, s.status.URL = id, webURL(s.api.BaseURL(), id)
	s.status.MemberCount = int32(len(observedSpace.Members))
	_, diffs := compareSpace(&s.space.Spec, observedSpace)
	s.status.Differences = nil
	for _, d := range diffs {
		s.status.Differences = append(s.status.Differences, d.String())
	}
	return observed(s.status.Differences, "space "+id)
}

// observeInvites is the reconcile of a SpaceInvite under management
// ObserveOnly: from membership alone it records who Full would invite,
// whose role it would change and, with prune, whom it would remove.
// Nothing is sent; the invitation records are left as they are.
func (r *SpaceInviteReconciler) observeInvites(s *inviteScope, members []spaces.Member) outcome {
	byKey := memberIndex(members)
	records := map[string]spacesv1alpha1.InviteeStatus{}
	for _, st := range s.status.Invitees {
		records[inviteeKey(st.Email, st.UserID)] = st
	}
	var diffs []string
	s.status.Total, s.status.Joined = int32(len(s.inv.Spec.Invitees)), 0
	for _, want := range s.inv.Spec.Invitees {
		key := inviteeKey(want.Email, want.UserID)
		st, recorded := records[key]
		delete(records, key)
		m, isMember := byKey[key]
		if !isMember && st.UserID != "" {
			m, isMember = byKey["id:"+st.UserID]
		}
		switch {
		case isMember && (m.Role == string(want.Role) || s.isProtected(m)):
			s.status.Joined++
		case isMember:
			diffs = append(diffs, fmt.Sprintf("would change the role of %s from %s to %s", displayInvitee(want), m.Role, want.Role))
		case !s.membershipKnown && recorded && st.InvitedAt != nil:
			// invited before; whether they joined cannot be read
		case recorded && st.InvitedAt != nil && st.State != spacesv1alpha1.InviteeFailed:
			// invited before, not joined yet: Full does not invite again
		default:
			diffs = append(diffs, fmt.Sprintf("would invite %s as %s", displayInvitee(want), want.Role))
		}
	}
	if s.inv.Spec.Prune {
		for _, st := range records {
			m, ok := byKey[inviteeKey(st.Email, st.UserID)]
			if !ok {
				m, ok = byKey["id:"+st.UserID]
			}
			if st.InvitedAt != nil && ok && !s.isProtected(m) {
				diffs = append(diffs, "would remove "+displayStatus(st)+" (prune)")
			}
		}
	}
	slices.Sort(diffs)
	s.status.Differences = diffs
	return observed(diffs, "membership")
}
