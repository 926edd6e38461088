package controller

import (
	"fmt"
	"strings"
	"testing"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/spaces/spacestest"
)

// TestSpaceReconciler_UnreadableAnswersNeverDuplicate: the create and the
// listing crash recovery reads are answered 200 with null, {}, nothing, or
// a document cut short. An answer that cannot be read is never taken as
// "no space": each Space ends with exactly one space.
func TestSpaceReconciler_UnreadableAnswersNeverDuplicate(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	answers := []string{`null`, `{}`, ``, `{"data":[{"_id":"5f1051f0f3ed7`}
	for _, a := range answers {
		w.fake.AddFault(spacestest.Fault{Route: "POST /spaces/invite", Answer: &a, Times: 1})
		w.fake.AddFault(spacestest.Fault{Route: "GET /users/me/spaces", Answer: &a, Times: 1})
	}
	for i := range answers {
		w.newSpace(fmt.Sprintf("answer-%d", i), spacesv1alpha1.SpaceSpec{Title: fmt.Sprintf("Answer %d", i)})
	}
	for i := range answers {
		w.waitReady(fmt.Sprintf("answer-%d", i))
		if n := len(w.fake.SpacesTitled(fmt.Sprintf("Answer %d", i))); n != 1 {
			t.Errorf("Answer %d: %d spaces", i, n)
		}
	}
	if n := w.fake.Calls("POST /spaces/invite"); n != len(answers) {
		t.Errorf("%d creates for %d Spaces", n, len(answers))
	}
}

// TestSpaceReconciler_ActAsWhereTheServiceAccountIsNoAdmin: when Spaces
// does not keep the service account an admin of a space made on an
// owner's behalf, the Space says so with the fix; an interrupted act-as
// create whose space cannot be seen is UncertainCreate, never a second
// create on a guess, until a human annotates recreate.
func TestSpaceReconciler_ActAsWhereTheServiceAccountIsNoAdmin(t *testing.T) {
	w := newWorld(t, spacestest.Options{Dialect: spacestest.Dialect{spacestest.DialectActAsNotAdmin: true}})
	w.fake.AddUser("owner@corp.example", "Owner", "O")

	w.newSpace("owned", spacesv1alpha1.SpaceSpec{Title: "Owned", Owner: "owner@corp.example", Settings: &spacesv1alpha1.SpaceSettings{MemberOnly: ptr(true)}})
	msg := w.stalledMessage("owned", spacesv1alpha1.ReasonNotSpaceAdmin)
	for _, want := range []string{"owner@corp.example", "must make it an admin", w.get("owned").Status.SpaceID} {
		if !strings.Contains(msg, want) {
			t.Fatalf("NotSpaceAdmin message lacks %q: %s", want, msg)
		}
	}

	w.fake.AddFault(spacestest.Fault{Route: "POST /spaces/invite", DropResponse: true, Times: 1})
	w.newSpace("lost", spacesv1alpha1.SpaceSpec{Title: "Lost for the owner", Owner: "owner@corp.example"})
	msg = w.stalledMessage("lost", spacesv1alpha1.ReasonUncertainCreate)
	for _, want := range []string{"owner@corp.example", "Lost for the owner", "spec.spaceID", spacesv1alpha1.AnnotationRecreate} {
		if !strings.Contains(msg, want) {
			t.Fatalf("UncertainCreate message lacks %q: %s", want, msg)
		}
	}
	creates := w.fake.Calls("POST /spaces/invite")
	if n := len(w.fake.SpacesTitled("Lost for the owner")); n != 1 {
		t.Fatalf("%d spaces after the interrupted create", n)
	}

	w.edit("lost", func(sp *spacesv1alpha1.Space) {
		sp.Annotations = map[string]string{spacesv1alpha1.AnnotationRecreate: "true"}
	})
	w.eventually("the space of a create after the recreate annotation recorded", func() bool {
		got := w.get("lost")
		return got.Status.SpaceID != "" && got.Annotations[spacesv1alpha1.AnnotationRecreate] == ""
	})
	if n := w.fake.Calls("POST /spaces/invite"); n != creates+1 {
		t.Fatalf("%d creates after the recreate annotation, want 1", n-creates)
	}
}
