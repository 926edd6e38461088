package controller

import (
	"fmt"
	"slices"
	"testing"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/spaces"
	"github.com/avayacloud/spaces-operator/internal/spaces/spacestest"
)

// TestDialects runs the core scenarios of the three kinds (create, adopt,
// drift, a resync that writes nothing, invite, role change, prune, users
// created, updated and deleted, an interrupted create, delete) against a
// fake answering each unknown of the wire format the other way, one switch
// at a time and all at once: zero duplicate spaces, nobody invited twice,
// no endless updates. Where Spaces refuses a feature to service apps, the
// SpaceInvite says so in status.limitations and still invites.
func TestDialects(t *testing.T) {
	requireSuite(t)
	cases := map[string]spacestest.Dialect{"all": spacestest.AllDialect()}
	for _, name := range spacestest.DialectNames() {
		cases[name] = spacestest.Dialect{name: true}
	}
	for name, d := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			coreScenarios(t, d)
		})
	}
}

func coreScenarios(t *testing.T, d spacestest.Dialect) {
	w := newWorld(t, spacestest.Options{Dialect: d})
	alice := w.fake.AddUser("alice@corp.example", "Alice", "A")
	bob := w.fake.AddUser("bob@corp.example", "Bob", "B")
	adoptable := w.handMadeSpace("Adoptable")
	membersRefused := d[spacestest.DialectMembersRefused]
	membershipReadable := !membersRefused || !d[spacestest.DialectSpaceWithoutMembers]

	// Create (with every managed setting), adopt, and a create whose
	// answer is lost.
	w.newSpace("created", spacesv1alpha1.SpaceSpec{Title: "Created", Description: ptr("made by the matrix"), DeletionPolicy: spacesv1alpha1.DeletionPolicyDelete,
		Settings: &spacesv1alpha1.SpaceSettings{MemberOnly: ptr(true), DenyGuestHistory: ptr(true),
			MessageRetention: &spacesv1alpha1.MessageRetention{Policy: spacesv1alpha1.RetentionDeleteAfterDays, Days: ptr(int32(30))}}})
	w.newSpace("adopted", spacesv1alpha1.SpaceSpec{Title: "Adopted", SpaceID: adoptable, Settings: &spacesv1alpha1.SpaceSettings{AllowPasswordInURL: ptr(true)}})
	w.fake.AddFault(spacestest.Fault{Route: "POST /spaces/invite", DropResponse: true, Times: 1})
	w.newSpace("lost", spacesv1alpha1.SpaceSpec{Title: "Lost"})
	created := w.waitReady("created").Status.SpaceID
	w.waitReady("adopted")
	w.waitReady("lost")
	for _, title := range []string{"Created", "Lost", "Adopted"} {
		if n := len(w.fake.SpacesTitled(title)); n != 1 {
			t.Fatalf("%d spaces titled %s", n, title)
		}
	}
	sp, _ := w.fake.Space(created)
	if !sp.MemberOnly || !slices.Contains(sp.Restrict, spaces.RestrictDenyGuestHistory) || sp.Retention == nil || sp.Retention.RetentionLength != 30 || sp.Description != "made by the matrix" {
		t.Fatalf("created space %+v", sp)
	}
	if sp, _ := w.fake.Space(adoptable); !sp.AllowPasswordInURL {
		t.Fatalf("adopted space %+v", sp)
	}

	// Invitations: people with accounts by user id, the others by email.
	w.newInvite("team", spacesv1alpha1.SpaceInviteSpec{SpaceRef: &spacesv1alpha1.SpaceReference{Name: "created"}, Prune: true,
		Invitees: []spacesv1alpha1.Invitee{{Email: "alice@corp.example"}, {Email: "bob@corp.example", Role: spacesv1alpha1.RoleAdmin}, {Email: "carol@elsewhere.example"}}})
	// Alice and Bob join (by user id); Carol has no account, so her
	// invitation stays pending. Unreadable membership is said instead.
	inv := w.waitInvite("team", spacesv1alpha1.ReasonSynced, func(inv *spacesv1alpha1.SpaceInvite) bool {
		if !membershipReadable {
			return slices.Contains(inv.Status.Limitations, spacesv1alpha1.LimitationJoinedState)
		}
		return inv.Status.Joined == 2
	})
	if inv.Status.Total != 3 {
		t.Fatalf("status %+v", inv.Status)
	}
	if w.memberRole(created, alice.ID) != "member" || w.memberRole(created, bob.ID) != "admin" {
		t.Fatalf("alice %q, bob %q", w.memberRole(created, alice.ID), w.memberRole(created, bob.ID))
	}

	// Users.
	// Emails of this world only: the cases run side by side in one
	// cluster, where a second set naming an email is a Conflict.
	email := func(i int) string { return fmt.Sprintf("new%d.%s@corp.example", i, w.ns) }
	w.newUserSet("users", spacesv1alpha1.ServiceAccountUserSetSpec{DeletionPolicy: spacesv1alpha1.DeletionPolicyDelete, Users: users(2, "new%d."+w.ns+"@corp.example")})
	w.waitUserSet("users", spacesv1alpha1.ReasonSynced, nil)

	// Drift is written back once.
	w.fake.Do(func(st *spacestest.State) { st.Spaces[created].MemberOnly = false })
	w.eventually("drift corrected", func() bool { sp, _ := w.fake.Space(created); return sp.MemberOnly })

	// After convergence, resyncs read and write nothing.
	writes, before := w.fake.Writes(), w.fake.AllCalls()
	w.waitCalls("GET /spaces/{id}", w.fake.Calls("GET /spaces/{id}")+9)
	if got := w.fake.Writes(); got != writes {
		t.Fatalf("resyncs wrote %d times: calls before %v, after %v", got-writes, before, w.fake.AllCalls())
	}

	// Role change and prune, or the limitation said.
	w.editInvite("team", func(inv *spacesv1alpha1.SpaceInvite) {
		inv.Spec.Invitees = []spacesv1alpha1.Invitee{{Email: "bob@corp.example", Role: spacesv1alpha1.RoleMember}, {Email: "carol@elsewhere.example", Role: spacesv1alpha1.RoleMember}}
	})
	inv = w.waitInvite("team", spacesv1alpha1.ReasonSynced, nil)
	if membersRefused {
		if !slices.Contains(inv.Status.Limitations, spacesv1alpha1.LimitationRoleChanges) || !slices.Contains(inv.Status.Limitations, spacesv1alpha1.LimitationPrune) {
			t.Fatalf("refused attendee routes not said: %+v", inv.Status)
		}
	} else if w.memberRole(created, bob.ID) != "member" || w.memberRole(created, alice.ID) != "" {
		t.Fatalf("after role change and prune: bob %q, alice %q", w.memberRole(created, bob.ID), w.memberRole(created, alice.ID))
	}
	for _, who := range []string{alice.ID, bob.ID, "carol@elsewhere.example"} {
		if n := w.fake.Invitations(who); n != 1 {
			t.Fatalf("%s invited %d times", who, n)
		}
	}

	// Users updated and deleted.
	w.editUserSet("users", func(set *spacesv1alpha1.ServiceAccountUserSet) {
		set.Spec.Users = set.Spec.Users[:1]
		set.Spec.Users[0].FirstName = "Renamed"
	})
	w.waitUserSet("users", spacesv1alpha1.ReasonSynced, nil)
	if u, ok := w.fake.UserByEmail(email(0)); !ok || u.FirstName != "Renamed" {
		t.Fatalf("new0 = %+v", u)
	}
	if _, ok := w.fake.UserByEmail(email(1)); ok {
		t.Fatalf("new1 not deleted: %+v", w.getUserSet("users").Status)
	}
	w.fake.Do(func(st *spacestest.State) {
		for email, n := range st.CreateAttempts {
			if n != 1 {
				t.Errorf("%s created %d times", email, n)
			}
		}
	})

	// Deletion.
	w.deleteAndWait(w.getInvite("team"))
	w.deleteAndWait(w.get("created"))
	if !slices.Contains(w.fake.DeletedSpaces(), created) {
		t.Fatal("the space of a Space deleted under Delete is still there")
	}
}
