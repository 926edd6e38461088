package controller

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/spaces"
	"github.com/avayacloud/spaces-operator/internal/spaces/spacestest"
)

func (w *world) newInvite(name string, spec spacesv1alpha1.SpaceInviteSpec) {
	w.t.Helper()
	if spec.SpaceRef == nil && spec.CredentialsRef == nil && spec.AccountRef == nil {
		spec.CredentialsRef = &spacesv1alpha1.CredentialsReference{Name: secretName}
	}
	for i := range spec.Invitees {
		if spec.Invitees[i].Role == "" {
			spec.Invitees[i].Role = spacesv1alpha1.RoleMember
		}
	}
	if spec.Notify == "" {
		spec.Notify = spacesv1alpha1.NotifyEmail
	}
	inv := &spacesv1alpha1.SpaceInvite{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns}, Spec: spec}
	if err := k8s.Create(w.ctx, inv); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) getInvite(name string) *spacesv1alpha1.SpaceInvite {
	w.t.Helper()
	inv := &spacesv1alpha1.SpaceInvite{}
	if err := k8s.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: name}, inv); err != nil {
		w.t.Fatal(err)
	}
	return inv
}

func (w *world) waitInvite(name, reason string, cond func(*spacesv1alpha1.SpaceInvite) bool) *spacesv1alpha1.SpaceInvite {
	w.t.Helper()
	var inv *spacesv1alpha1.SpaceInvite
	w.eventually("SpaceInvite "+name+" "+reason, func() bool {
		inv = w.getInvite(name)
		c := readyCondition(inv.Status.Conditions)
		return c != nil && c.Reason == reason && c.ObservedGeneration == inv.Generation && (cond == nil || cond(inv))
	})
	return inv
}

func readyCondition(cs []metav1.Condition) *metav1.Condition {
	for i := range cs {
		if cs[i].Type == spacesv1alpha1.ConditionReady {
			return &cs[i]
		}
	}
	return nil
}

func (w *world) memberRole(spaceID, userID string) string {
	sp, _ := w.fake.Space(spaceID)
	for _, m := range sp.Members {
		if m.UserID == userID {
			return m.Role
		}
	}
	return ""
}

func allJoined(inv *spacesv1alpha1.SpaceInvite) bool {
	return inv.Status.Total > 0 && inv.Status.Joined == inv.Status.Total
}

// TestSpaceInviteReconciler_OutOfOrderApplyConverges: the invite comes
// first and waits; the Space arrives; both end Ready, woken by the watch.
func TestSpaceInviteReconciler_OutOfOrderApplyConverges(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	bob := w.fake.AddUser("bob@corp.example", "Bob", "B")
	carol := w.fake.AddUser("carol@corp.example", "Carol", "C")
	w.newInvite("members", spacesv1alpha1.SpaceInviteSpec{SpaceRef: &spacesv1alpha1.SpaceReference{Name: "team"},
		Invitees: []spacesv1alpha1.Invitee{{Email: "bob@corp.example"}, {UserID: carol.ID, Role: spacesv1alpha1.RoleAdmin}, {Email: "newcomer@corp.example", Role: spacesv1alpha1.RoleGuest}}})
	w.eventually("WaitingForSpace", func() bool {
		c := readyCondition(w.getInvite("members").Status.Conditions)
		return c != nil && c.Reason == spacesv1alpha1.ReasonWaitingForSpace
	})
	w.newSpace("team", spacesv1alpha1.SpaceSpec{Title: "Team"})
	id := w.waitReady("team").Status.SpaceID
	inv := w.waitInvite("members", spacesv1alpha1.ReasonSynced, func(i *spacesv1alpha1.SpaceInvite) bool { return i.Status.Joined == 2 })
	if w.memberRole(id, bob.ID) != "member" || w.memberRole(id, carol.ID) != "admin" {
		t.Fatalf("members of the fake: %+v", mustSpace(w, id).Members)
	}
	states := map[string]spacesv1alpha1.InviteeState{}
	for _, st := range inv.Status.Invitees {
		states[orDefault(st.Email, st.UserID)] = st.State
	}
	if states["bob@corp.example"] != spacesv1alpha1.InviteeJoined || states[carol.ID] != spacesv1alpha1.InviteeJoined || states["newcomer@corp.example"] != spacesv1alpha1.InviteeInvited {
		t.Fatalf("states %v", states)
	}
	if inv.Status.SpaceID != id || inv.Status.Total != 3 {
		t.Fatalf("status %+v", inv.Status)
	}
	// One invitation call for all three; nobody invited again on resyncs.
	w.waitCalls("GET /spaces/{id}/members", w.fake.Calls("GET /spaces/{id}/members")+2)
	if n := w.fake.Calls("POST /spaces/{id}/invite"); n != 1 {
		t.Fatalf("%d invitation calls, want 1", n)
	}
	for _, who := range []string{"bob@corp.example", carol.ID, "newcomer@corp.example"} {
		if n := w.fake.Invitations(who); n != 1 {
			t.Errorf("%s invited %d times", who, n)
		}
	}
}

func mustSpace(w *world, id string) spacestest.Space {
	sp, _ := w.fake.Space(id)
	return sp
}

// TestSpaceInviteReconciler_LostAnswerInvitesNobodyTwiceAndMissesNobody:
// Spaces does the invitation but the answer is lost. Once the call can no
// longer land, membership decides: a person with an account (invited by
// user id) is found a member and not invited again; a person without one
// (a pending email invitation, invisible) is not sent a second one, and
// status says so. (Crashes at every point of the same path are the
// storm's: test/storm TestStorm_Invitations.)
func TestSpaceInviteReconciler_LostAnswerInvitesNobodyTwiceAndMissesNobody(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.fake.AddUser("dora@corp.example", "Dora", "D")
	w.newSpace("team", spacesv1alpha1.SpaceSpec{Title: "Team"})
	id := w.waitReady("team").Status.SpaceID
	w.fake.AddFault(spacestest.Fault{Route: "POST /spaces/{id}/invite", DropResponse: true, Times: 1})
	w.newInvite("members", spacesv1alpha1.SpaceInviteSpec{SpaceRef: &spacesv1alpha1.SpaceReference{Name: "team"},
		Invitees: []spacesv1alpha1.Invitee{{Email: "dora@corp.example"}, {Email: "eve@corp.example"}}})
	w.eventually("both Sending after the lost answer", func() bool {
		inv := w.getInvite("members")
		return len(inv.Status.Invitees) == 2 && inv.Status.Invitees[0].State == spacesv1alpha1.InviteeSending &&
			inv.Status.Invitees[1].State == spacesv1alpha1.InviteeSending && inv.Status.Invitees[0].SendingUntil != nil
	})
	inv := w.waitInvite("members", spacesv1alpha1.ReasonSynced, nil)
	dora, eve := inv.Status.Invitees[0], inv.Status.Invitees[1]
	if dora.State != spacesv1alpha1.InviteeJoined || w.memberRole(id, dora.UserID) != "member" {
		t.Errorf("dora: %+v", dora)
	}
	if eve.State != spacesv1alpha1.InviteeInvited || !strings.Contains(eve.Message, "not sent twice") {
		t.Errorf("eve: %+v", eve)
	}
	for _, who := range []string{"dora@corp.example", "eve@corp.example"} {
		if n := w.fake.Invitations(who); n != 1 {
			t.Errorf("%s invited %d times", who, n)
		}
	}
	if n := w.fake.Calls("POST /spaces/{id}/invite"); n != 1 {
		t.Errorf("%d invitation calls, want 1", n)
	}
}

// TestSpaceInviteReconciler_NotifyNoneKeepsJoinLinksInASecret: each
// invitee gets a link of their own, kept in a Secret the SpaceInvite owns
// (the view role reads status, never Secrets), named in status.
func TestSpaceInviteReconciler_NotifyNoneKeepsJoinLinksInASecret(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.newSpace("team", spacesv1alpha1.SpaceSpec{Title: "Team"})
	w.newInvite("quiet", spacesv1alpha1.SpaceInviteSpec{SpaceRef: &spacesv1alpha1.SpaceReference{Name: "team"}, Notify: spacesv1alpha1.NotifyNone,
		Invitees: []spacesv1alpha1.Invitee{{Email: "frank@partner.example", Role: spacesv1alpha1.RoleGuest}, {Email: "gina@partner.example", Role: spacesv1alpha1.RoleGuest}}})
	inv := w.waitInvite("quiet", spacesv1alpha1.ReasonSynced, nil)
	if inv.Status.JoinLinksSecret != "quiet-join-links" {
		t.Fatalf("status.joinLinksSecret %q", inv.Status.JoinLinksSecret)
	}
	var secret corev1.Secret
	if err := k8s.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: inv.Status.JoinLinksSecret}, &secret); err != nil {
		t.Fatal(err)
	}
	frank, gina := string(secret.Data["frank_at_partner.example"]), string(secret.Data["gina_at_partner.example"])
	for _, u := range []string{frank, gina} {
		if !strings.Contains(u, "/spaces/invites/") || !strings.Contains(u, "/join?inviteInfo=") {
			t.Fatalf("join link %q", u)
		}
	}
	if frank == gina {
		t.Fatal("one link was given to two invitees")
	}
	if !metav1.IsControlledBy(&secret, inv) {
		t.Fatal("the links Secret is not owned by the SpaceInvite")
	}
	raw, _ := json.Marshal(inv.Status)
	if strings.Contains(string(raw), "inviteInfo") {
		t.Fatalf("a join link is in status: %s", raw)
	}
}

func TestSpaceInviteReconciler_RoleChangesAndPrune(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	bob := w.fake.AddUser("bob@corp.example", "Bob", "B")
	carol := w.fake.AddUser("carol@corp.example", "Carol", "C")
	outsider := w.fake.AddUser("olga@corp.example", "Olga", "O")
	w.newSpace("team", spacesv1alpha1.SpaceSpec{Title: "Team"})
	id := w.waitReady("team").Status.SpaceID
	// Someone else adds Olga by hand: never ours to remove.
	if _, err := w.client().SetAttendee(w.ctx, id, outsider.ID, "member"); err != nil {
		t.Fatal(err)
	}
	w.newInvite("members", spacesv1alpha1.SpaceInviteSpec{SpaceRef: &spacesv1alpha1.SpaceReference{Name: "team"}, Prune: true,
		Invitees: []spacesv1alpha1.Invitee{{Email: "bob@corp.example"}, {Email: "carol@corp.example"}, {Email: "olga@corp.example"}}})
	w.waitInvite("members", spacesv1alpha1.ReasonSynced, allJoined)

	// Bob becomes admin; Carol and Olga leave the list.
	edit := func(f func(*spacesv1alpha1.SpaceInvite)) {
		for range 10 {
			inv := w.getInvite("members")
			f(inv)
			if err := k8s.Update(w.ctx, inv); err == nil {
				return
			}
		}
		t.Fatal("could not update")
	}
	edit(func(inv *spacesv1alpha1.SpaceInvite) {
		inv.Spec.Invitees = []spacesv1alpha1.Invitee{{Email: "bob@corp.example", Role: spacesv1alpha1.RoleAdmin}}
	})
	w.waitInvite("members", spacesv1alpha1.ReasonSynced, func(i *spacesv1alpha1.SpaceInvite) bool { return allJoined(i) && i.Status.Total == 1 })
	if w.memberRole(id, bob.ID) != "admin" {
		t.Errorf("bob is %q", w.memberRole(id, bob.ID))
	}
	if w.memberRole(id, carol.ID) != "" {
		t.Error("carol, invited by this object and dropped, was not pruned")
	}
	if w.memberRole(id, outsider.ID) != "member" {
		t.Error("olga, added by someone else, was removed")
	}
	if notes := w.waitEvent("members", spacesv1alpha1.ReasonUpdated); !strings.Contains(notes[0], "bob@corp.example") {
		t.Errorf("role change event %q", notes[0])
	}

	// Deleting the object prunes what it invited, and only that.
	w.deleteAndWait(w.getInvite("members"))
	if w.memberRole(id, bob.ID) != "" || w.memberRole(id, outsider.ID) != "member" {
		t.Fatalf("after delete: bob %q, olga %q", w.memberRole(id, bob.ID), w.memberRole(id, outsider.ID))
	}
}

func TestSpaceInviteReconciler_BySpaceIDWithOwnCredentials(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	resp, err := w.client().CreateSpace(w.ctx, spaces.CreateSpaceRequest{Topic: spaces.Topic{Title: "Raw"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Data[0].TopicID
	bob := w.fake.AddUser("bob@corp.example", "Bob", "B")
	w.newInvite("raw", spacesv1alpha1.SpaceInviteSpec{SpaceID: id, Invitees: []spacesv1alpha1.Invitee{{Email: "bob@corp.example"}}})
	w.waitInvite("raw", spacesv1alpha1.ReasonSynced, allJoined)
	if w.memberRole(id, bob.ID) != "member" {
		t.Fatal("bob is not a member")
	}
}

// TestSpaceInvite_NeverDemotesTheServiceAccountOrOwner: listing the service
// account, or the Space's owner, with a lesser role changes nothing: the
// operator would lock itself out, or take the space from its owner; prune
// never removes them either.
func TestSpaceInvite_NeverDemotesTheServiceAccountOrOwner(t *testing.T) {
	w := newWorld(t, spacestest.Options{ActAsAddsServiceAccount: true})
	alice := w.fake.AddUser("alice@corp.example", "Alice", "Owner")
	w.newSpace("owned", spacesv1alpha1.SpaceSpec{Title: "Owned", Owner: "alice@corp.example"})
	id := w.waitReady("owned").Status.SpaceID
	sa, _ := w.fake.UserByEmail(w.key.Subject)
	w.newInvite("demote", spacesv1alpha1.SpaceInviteSpec{SpaceRef: &spacesv1alpha1.SpaceReference{Name: "owned"}, Prune: true,
		Invitees: []spacesv1alpha1.Invitee{{Email: w.key.Subject, Role: spacesv1alpha1.RoleGuest}, {Email: "alice@corp.example", Role: spacesv1alpha1.RoleMember}}})
	inv := w.waitInvite("demote", spacesv1alpha1.ReasonSynced, nil)
	for _, st := range inv.Status.Invitees {
		if !strings.Contains(st.Message, "never changed") {
			t.Errorf("%s: message %q does not say the role stays", st.Email, st.Message)
		}
	}
	if got := w.memberRole(id, sa.ID); got != "admin" {
		t.Fatalf("the service account is %q", got)
	}
	if got := w.memberRole(id, alice.ID); got != "admin" {
		t.Fatalf("the owner is %q", got)
	}
	// Dropping them with prune removes neither.
	w.editInvite("demote", func(inv *spacesv1alpha1.SpaceInvite) {
		inv.Spec.Invitees = []spacesv1alpha1.Invitee{{Email: "bob@corp.example", Role: spacesv1alpha1.RoleMember}}
	})
	w.waitInvite("demote", spacesv1alpha1.ReasonSynced, func(inv *spacesv1alpha1.SpaceInvite) bool { return len(inv.Status.Invitees) == 1 })
	if w.memberRole(id, sa.ID) != "admin" || w.memberRole(id, alice.ID) != "admin" {
		t.Fatal("prune removed the service account or the owner")
	}
}

func (w *world) editInvite(name string, f func(*spacesv1alpha1.SpaceInvite)) {
	w.t.Helper()
	updateWithRetries(w, func() *spacesv1alpha1.SpaceInvite { return w.getInvite(name) }, f)
}

// TestSpaceInviteReconciler_OneBadInviteeFailsAlone: Spaces refuses the
// call because of one invitee; the others are invited all the same, each
// once, and only that one is Failed.
func TestSpaceInviteReconciler_OneBadInviteeFailsAlone(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.newSpace("team", spacesv1alpha1.SpaceSpec{Title: "Team"})
	w.waitReady("team")
	const nobody = "5f1051f0f3ed772f915e19ed" // a well-formed id no user has
	w.newInvite("mixed", spacesv1alpha1.SpaceInviteSpec{SpaceRef: &spacesv1alpha1.SpaceReference{Name: "team"},
		Invitees: []spacesv1alpha1.Invitee{{Email: "hank@corp.example"}, {UserID: nobody}, {Email: "ivy@corp.example"}}})
	inv := w.waitInvite("mixed", spacesv1alpha1.ReasonInvalidInput, nil)
	states := map[string]spacesv1alpha1.InviteeState{}
	for _, st := range inv.Status.Invitees {
		states[st.Email+st.UserID] = st.State
	}
	if states[nobody] != spacesv1alpha1.InviteeFailed || states["hank@corp.example"] != spacesv1alpha1.InviteeInvited || states["ivy@corp.example"] != spacesv1alpha1.InviteeInvited {
		t.Fatalf("states %v", states)
	}
	for _, who := range []string{"hank@corp.example", "ivy@corp.example"} {
		if n := w.fake.Invitations(who); n != 1 {
			t.Errorf("%s invited %d times", who, n)
		}
	}
}

// TestSpaceInviteReconciler_RecreatedSpaceIsInvitedAgain: invitation
// records belong to the space they went to; when the Space is recreated
// under a new id, its SpaceInvite invites everyone to the new one.
func TestSpaceInviteReconciler_RecreatedSpaceIsInvitedAgain(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	jill := w.fake.AddUser("jill@corp.example", "Jill", "J")
	w.newSpace("team", spacesv1alpha1.SpaceSpec{Title: "Phoenix"})
	old := w.waitReady("team").Status.SpaceID
	w.newInvite("members", spacesv1alpha1.SpaceInviteSpec{SpaceRef: &spacesv1alpha1.SpaceReference{Name: "team"},
		Invitees: []spacesv1alpha1.Invitee{{Email: "jill@corp.example"}}})
	w.waitInvite("members", spacesv1alpha1.ReasonSynced, allJoined)

	w.fake.Do(func(st *spacestest.State) { delete(st.Spaces, old) })
	w.waitReason("team", spacesv1alpha1.ReasonSpaceGone)
	w.edit("team", func(sp *spacesv1alpha1.Space) { sp.Annotations[spacesv1alpha1.AnnotationRecreate] = "true" })
	var fresh string
	w.eventually("the Space recreated", func() bool {
		sp := w.get("team")
		fresh = sp.Status.SpaceID
		c := condition(sp, spacesv1alpha1.ConditionReady)
		return fresh != "" && fresh != old && c != nil && c.Reason == spacesv1alpha1.ReasonSynced
	})
	w.waitInvite("members", spacesv1alpha1.ReasonSynced, func(inv *spacesv1alpha1.SpaceInvite) bool {
		return inv.Status.SpaceID == fresh && allJoined(inv)
	})
	if w.memberRole(fresh, jill.ID) != "member" {
		t.Fatal("the invitee is not a member of the recreated space")
	}
}

// TestSpaceInviteReconciler_RefusedBatchIsBisected: one bad invitee among
// 64 is found by halving the refused call, in a handful of calls rather
// than one per invitee; the condition message stays short whatever fails.
func TestSpaceInviteReconciler_RefusedBatchIsBisected(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.newSpace("big", spacesv1alpha1.SpaceSpec{Title: "Big"})
	w.waitReady("big")
	invitees := make([]spacesv1alpha1.Invitee, 0, 64)
	for i := range 63 {
		invitees = append(invitees, spacesv1alpha1.Invitee{Email: fmt.Sprintf("guest%02d@corp.example", i)})
	}
	invitees = append(invitees, spacesv1alpha1.Invitee{UserID: "5f1051f0f3ed772f915e19ed"})
	w.fake.ResetCounters()
	w.newInvite("many", spacesv1alpha1.SpaceInviteSpec{SpaceRef: &spacesv1alpha1.SpaceReference{Name: "big"}, Invitees: invitees})
	inv := w.waitInvite("many", spacesv1alpha1.ReasonInvalidInput, nil)
	if n := w.fake.Calls("POST /spaces/{id}/invite"); n > 2*7+1 {
		t.Errorf("%d invitation calls to find one bad invitee among 64", n)
	}
	for i := range 63 {
		if n := w.fake.Invitations(fmt.Sprintf("guest%02d@corp.example", i)); n != 1 {
			t.Errorf("guest%02d invited %d times", i, n)
		}
	}
	if msg := readyCondition(inv.Status.Conditions).Message; len(msg) > maxConditionMessage+10 {
		t.Errorf("condition message of %d bytes", len(msg))
	}
}

// TestSpaceInviteReconciler_PruneOnDeleteWithoutAReadySpace: the Space
// object goes first (its space retained), or is no longer Ready (here:
// suspended); deleting the SpaceInvite with prune still removes the
// members it invited, through the space and credentials of its last sync.
func TestSpaceInviteReconciler_PruneOnDeleteWithoutAReadySpace(t *testing.T) {
	for _, tc := range []struct {
		name       string
		spaceGoes  func(w *world)
		spaceState string
	}{
		{"space object deleted, space retained", func(w *world) {
			w.deleteAndWait(w.get("team"))
		}, "gone"},
		{"space suspended", func(w *world) {
			w.edit("team", func(sp *spacesv1alpha1.Space) { sp.Spec.Suspend = true })
			w.waitReason("team", spacesv1alpha1.ReasonSuspended)
		}, "suspended"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, spacestest.Options{})
			bob := w.fake.AddUser("bob@corp.example", "Bob", "B")
			carol := w.fake.AddUser("carol@corp.example", "Carol", "C")
			w.newSpace("team", spacesv1alpha1.SpaceSpec{Title: "Team"})
			id := w.waitReady("team").Status.SpaceID
			w.newInvite("members", spacesv1alpha1.SpaceInviteSpec{SpaceRef: &spacesv1alpha1.SpaceReference{Name: "team"}, Prune: true,
				Invitees: []spacesv1alpha1.Invitee{{Email: "bob@corp.example"}, {Email: "carol@corp.example"}}})
			inv := w.waitInvite("members", spacesv1alpha1.ReasonSynced, allJoined)
			if inv.Status.CredentialsRef == nil || inv.Status.CredentialsRef.Name != secretName {
				t.Fatalf("status.credentialsRef %+v", inv.Status.CredentialsRef)
			}
			tc.spaceGoes(w)
			if w.memberRole(id, bob.ID) != "member" {
				t.Fatalf("the space (%s) lost bob before the SpaceInvite was deleted", tc.spaceState)
			}
			w.deleteAndWait(w.getInvite("members"))
			if w.memberRole(id, bob.ID) != "" || w.memberRole(id, carol.ID) != "" {
				t.Fatalf("not pruned: members %+v", mustSpace(w, id).Members)
			}
		})
	}
}

// TestSpaceInviteReconciler_UserLookupFailureInvitesByEmail: when Spaces
// refuses, fails or drops the lookup of invitees' user ids, they are
// invited by email all the same, once.
func TestSpaceInviteReconciler_UserLookupFailureInvitesByEmail(t *testing.T) {
	for name, fault := range map[string]spacestest.Fault{
		"refused (403)":     {Status: 403},
		"failing (500)":     {Status: 500},
		"connection reset":  {Reset: true},
		"answer never sent": {DropResponse: true},
	} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, spacestest.Options{})
			w.fake.AddUser("dora@corp.example", "Dora", "D")
			w.newSpace("team", spacesv1alpha1.SpaceSpec{Title: "Team"})
			id := w.waitReady("team").Status.SpaceID
			fault.Route = "POST /users/me/colleaguesbulk"
			w.fake.AddFault(fault)
			w.newInvite("members", spacesv1alpha1.SpaceInviteSpec{SpaceRef: &spacesv1alpha1.SpaceReference{Name: "team"},
				Invitees: []spacesv1alpha1.Invitee{{Email: "dora@corp.example"}}})
			w.waitInvite("members", spacesv1alpha1.ReasonSynced, allJoined)
			var byEmail int
			w.fake.Do(func(st *spacestest.State) {
				for _, inv := range st.Invites {
					for _, i := range inv.Invitees {
						if inv.TopicID == id && strings.EqualFold(i.InviteeType, "email") && i.Invitee == "dora@corp.example" {
							byEmail++
						}
					}
				}
			})
			if byEmail != 1 || w.fake.Invitations("dora@corp.example") != 1 {
				t.Fatalf("invited %d times by email, %d in all", byEmail, w.fake.Invitations("dora@corp.example"))
			}
		})
	}
}
