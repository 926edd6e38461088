package controller

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/spaces/spacestest"
)

// TestObserveOnly_ReportsThenFullApplies: a Space under ObserveOnly whose
// space differs in two fields reports both (Ready, Synced False) and
// nothing is written to Spaces; its SpaceInvite reports who would be
// invited and whose role would change, sending nothing. Switching both to
// Full writes exactly those differences; deleting an ObserveOnly Space
// under Delete leaves the space.
func TestObserveOnly_ReportsThenFullApplies(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	alice := w.fake.AddUser("alice@corp.example", "Alice", "A")
	bob := w.fake.AddUser("bob@corp.example", "Bob", "B")
	id := w.handMadeSpace("Observed")
	w.fake.Do(func(st *spacestest.State) {
		sp := st.Spaces[id]
		sp.Members = append(sp.Members, spacestest.Member{UserID: bob.ID, Role: "admin"})
	})
	w.fake.ResetCounters()

	w.newSpace("observed", spacesv1alpha1.SpaceSpec{Title: "Observed, renamed", SpaceID: id, Management: spacesv1alpha1.ManagementObserveOnly,
		DeletionPolicy: spacesv1alpha1.DeletionPolicyDelete, Settings: &spacesv1alpha1.SpaceSettings{MemberOnly: ptr(true), AllowPasswordInURL: ptr(false)}})
	w.newInvite("observed", spacesv1alpha1.SpaceInviteSpec{SpaceRef: &spacesv1alpha1.SpaceReference{Name: "observed"}, Management: spacesv1alpha1.ManagementObserveOnly,
		Invitees: []spacesv1alpha1.Invitee{{Email: "alice@corp.example"}, {Email: "bob@corp.example", Role: spacesv1alpha1.RoleMember}}})

	sp := w.waitReady("observed")
	want := []string{`settings.memberOnly: Spaces has false, the spec says true`, `title: Spaces has "Observed", the spec says "Observed, renamed"`}
	got := slices.Sorted(slices.Values(sp.Status.Differences))
	if !slices.Equal(got, want) {
		t.Fatalf("differences = %q, want %q", got, want)
	}
	if c := meta.FindStatusCondition(sp.Status.Conditions, spacesv1alpha1.ConditionSynced); c == nil || c.Status != "False" || c.Reason != spacesv1alpha1.ReasonDiffers {
		t.Fatalf("Synced = %+v", c)
	}
	inv := w.waitInvite("observed", spacesv1alpha1.ReasonSynced, func(inv *spacesv1alpha1.SpaceInvite) bool { return len(inv.Status.Differences) == 2 })
	if d := strings.Join(inv.Status.Differences, "|"); !strings.Contains(d, "would invite alice@corp.example as member") || !strings.Contains(d, "would change the role of bob@corp.example from admin to member") {
		t.Fatalf("invite differences = %q", inv.Status.Differences)
	}
	// Resyncs read, and never write.
	w.waitCalls("GET /spaces/{id}", w.fake.Calls("GET /spaces/{id}")+3)
	if n := w.fake.Writes(); n != 0 {
		t.Fatalf("ObserveOnly wrote to Spaces: %v", w.fake.AllCalls())
	}

	w.edit("observed", func(sp *spacesv1alpha1.Space) { sp.Spec.Management = spacesv1alpha1.ManagementFull })
	sp = w.waitReady("observed")
	if len(sp.Status.Differences) != 0 {
		t.Fatalf("differences after Full: %q", sp.Status.Differences)
	}
	if n := w.fake.Calls("POST /spaces/{id}"); n != 1 {
		t.Fatalf("%d writes to apply the difference, want 1: %v", n, w.fake.AllCalls())
	}
	if got, _ := w.fake.Space(id); got.Title != "Observed, renamed" || !got.MemberOnly || got.AllowPasswordInURL {
		t.Fatalf("after Full: %+v", got)
	}
	editInviteManagement(w, "observed", spacesv1alpha1.ManagementFull)
	w.waitInvite("observed", spacesv1alpha1.ReasonSynced, allJoined)
	if w.memberRole(id, alice.ID) != "member" || w.memberRole(id, bob.ID) != "member" {
		t.Fatalf("after Full: alice %q, bob %q", w.memberRole(id, alice.ID), w.memberRole(id, bob.ID))
	}

	// Back to ObserveOnly, then deleted under Delete: the space stays.
	w.edit("observed", func(sp *spacesv1alpha1.Space) { sp.Spec.Management = spacesv1alpha1.ManagementObserveOnly })
	w.waitReady("observed")
	w.deleteAndWait(w.get("observed"))
	if _, ok := w.fake.Space(id); !ok {
		t.Fatal("an ObserveOnly Space deleted its space")
	}
}

// TestObserveOnly_NothingToObserve: ObserveOnly without a space creates
// nothing and says what to do.
func TestObserveOnly_NothingToObserve(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.newSpace("nothing", spacesv1alpha1.SpaceSpec{Title: "Nothing", Management: spacesv1alpha1.ManagementObserveOnly})
	if msg := w.stalledMessage("nothing", spacesv1alpha1.ReasonNothingToObserve); !strings.Contains(msg, "spec.spaceID") {
		t.Fatalf("message: %s", msg)
	}
	if n := w.fake.Writes(); n != 0 {
		t.Fatalf("wrote %v", w.fake.AllCalls())
	}
}

func editInviteManagement(w *world, name string, m spacesv1alpha1.Management) {
	w.editInvite(name, func(inv *spacesv1alpha1.SpaceInvite) { inv.Spec.Management = m })
}
