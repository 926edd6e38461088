package controller

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/spaces"
	"github.com/avayacloud/spaces-operator/internal/spaces/spacestest"
)

func TestSpaceReconciler_CreatesTheSpaceAndReportsReady(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.newSpace("payments", spacesv1alpha1.SpaceSpec{Title: "Payments", Description: ptr("Team chat"),
		Settings: &spacesv1alpha1.SpaceSettings{MemberOnly: ptr(true), GuestsRequirePassword: ptr(true), DenyGuestHistory: ptr(true),
			MessageRetention: &spacesv1alpha1.MessageRetention{Policy: spacesv1alpha1.RetentionDeleteAfterDays, Days: ptr(int32(730))}}})
	sp := w.waitReady("payments")

	id := sp.Status.SpaceID
	if id == "" || sp.Annotations[spacesv1alpha1.AnnotationSpaceID] != id || sp.Annotations[spacesv1alpha1.AnnotationCreatePending] != "" {
		t.Fatalf("status %+v annotations %v", sp.Status, sp.Annotations)
	}
	if !strings.HasSuffix(sp.Status.URL, "/spaces/"+id) || sp.Status.MemberCount != 1 {
		t.Errorf("status %+v", sp.Status)
	}
	got, ok := w.fake.Space(id)
	if !ok || got.Title != "Payments" || got.Description != "Team chat" || !got.MemberOnly || !got.GuestsPassword ||
		len(got.Restrict) != 1 || got.Retention == nil || got.Retention.RetentionLength != 730 {
		t.Fatalf("the fake holds %+v", got)
	}
	if n := len(w.fake.SpacesTitled("Payments")); n != 1 {
		t.Fatalf("%d spaces titled Payments", n)
	}
	// Two calls made the space: the create (its description a ticket) and
	// the settings write, with no read in between.
	writes, reads := w.fake.Arrivals("POST /spaces/{id}"), w.fake.Arrivals("GET /spaces/{id}")
	if w.fake.Calls("POST /spaces/invite") != 1 || len(writes) == 0 || (len(reads) > 0 && reads[0].Before(writes[0])) {
		t.Errorf("calls %v: want the create, then the settings write, then nothing until the resync", w.fake.AllCalls())
	}
	// And three writes to the object: the finalizer with the create-pending
	// mark, the recorded id, the status once.
	if n := w.spaceWritesIn(); n > 3 {
		t.Errorf("%d Kubernetes writes to the new Space, want at most 3", n)
	}
	w.waitEvent("payments", spacesv1alpha1.ReasonCreated)
	if notes := w.events("payments", spacesv1alpha1.ReasonUpdated); len(notes) != 0 {
		t.Errorf("the settings applied at creation were reported as an update: %v", notes)
	}
	// The credentials Secret is now guarded against early deletion.
	w.eventually("the in-use finalizer", func() bool {
		var s corev1.Secret
		_ = k8s.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: secretName}, &s)
		return len(s.Finalizers) == 1 && s.Finalizers[0] == spacesv1alpha1.CredentialsInUseFinalizer
	})
}

func TestSpaceReconciler_AppliesSpecChanges(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.newSpace("s", spacesv1alpha1.SpaceSpec{Title: "Old"})
	id := w.waitReady("s").Status.SpaceID
	w.edit("s", func(sp *spacesv1alpha1.Space) {
		sp.Spec.Title = "New"
		sp.Spec.Settings = &spacesv1alpha1.SpaceSettings{AllowPasswordInURL: ptr(true), MessageRetention: &spacesv1alpha1.MessageRetention{Policy: spacesv1alpha1.RetentionForever}}
	})
	w.waitReady("s")
	got, _ := w.fake.Space(id)
	if got.Title != "New" || !got.AllowPasswordInURL {
		t.Fatalf("the fake holds %+v", got)
	}
	notes := w.waitEvent("s", spacesv1alpha1.ReasonUpdated)
	if !strings.Contains(notes[0], "title") || !strings.Contains(notes[0], "settings.allowPasswordInURL") {
		t.Errorf("Updated event: %q", notes[0])
	}
	if len(w.events("s", spacesv1alpha1.ReasonDriftCorrected)) != 0 {
		t.Error("a spec change was reported as drift")
	}
}

// TestSpaceReconciler_CorrectsDrift: someone changes managed fields in
// Spaces; the next resync writes them back, leaves unmanaged ones alone,
// and says which fields it corrected.
func TestSpaceReconciler_CorrectsDrift(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.newSpace("s", spacesv1alpha1.SpaceSpec{Title: "Kept", Settings: &spacesv1alpha1.SpaceSettings{MemberOnly: ptr(true), DenyGuestHistory: ptr(true)}})
	id := w.waitReady("s").Status.SpaceID
	w.fake.Do(func(st *spacestest.State) {
		sp := st.Spaces[id]
		sp.Title, sp.MemberOnly, sp.Restrict = "Renamed by hand", false, []string{"other_restriction"}
		sp.AllowPasswordInURL = true // unmanaged: stays
	})
	w.eventually("drift corrected", func() bool {
		got, _ := w.fake.Space(id)
		return got.Title == "Kept" && got.MemberOnly
	})
	got, _ := w.fake.Space(id)
	if !got.AllowPasswordInURL || len(got.Restrict) != 2 {
		t.Fatalf("unmanaged fields were touched: %+v", got)
	}
	notes := w.waitEvent("s", spacesv1alpha1.ReasonDriftCorrected)
	for _, f := range []string{"title", "settings.memberOnly", "settings.denyGuestHistory"} {
		if !strings.Contains(notes[0], f) {
			t.Errorf("DriftCorrected event %q does not name %s", notes[0], f)
		}
	}
}

func TestSpaceReconciler_AdoptsAnExistingSpace(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	c := w.client()
	resp, err := c.CreateSpace(w.ctx, spaces.CreateSpaceRequest{Topic: spaces.Topic{Title: "Legacy"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Data[0].TopicID
	w.newSpace("adopted", spacesv1alpha1.SpaceSpec{Title: "Legacy", SpaceID: id, Settings: &spacesv1alpha1.SpaceSettings{MemberOnly: ptr(true)}})
	sp := w.waitReady("adopted")
	if sp.Status.SpaceID != id || len(w.fake.SpacesTitled("Legacy")) != 1 {
		t.Fatalf("status %+v", sp.Status)
	}
	if got, _ := w.fake.Space(id); !got.MemberOnly {
		t.Fatal("the adopted space was not brought to the spec")
	}
	w.waitEvent("adopted", spacesv1alpha1.ReasonAdopted)

	w.newSpace("missing", spacesv1alpha1.SpaceSpec{Title: "Nope", SpaceID: "5f1051f0f3ed772f915e19ed"})
	sp = w.waitReason("missing", spacesv1alpha1.ReasonSpaceNotFound)
	if c := condition(sp, spacesv1alpha1.ConditionStalled); c == nil || c.Status != "True" {
		t.Fatalf("not Stalled: %+v", sp.Status.Conditions)
	}
}

func TestSpaceReconciler_ActAsOwner(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	alice := w.fake.AddUser("alice@corp.example", "Alice", "Owner")
	w.newSpace("owned", spacesv1alpha1.SpaceSpec{Title: "Alice's", Owner: "alice@corp.example", Settings: &spacesv1alpha1.SpaceSettings{MemberOnly: ptr(true)}})
	id := w.waitReady("owned").Status.SpaceID
	got, _ := w.fake.Space(id)
	if got.CID != alice.ID || len(got.Members) != 2 || !got.MemberOnly {
		t.Fatalf("the fake holds %+v; want alice as owner and the service account as admin", got)
	}
	// Invited by user id (DESIGN §9), never by email: an email invitation
	// may stay pending for an account that cannot accept it.
	sa, _ := w.fake.UserByEmail(w.key.Subject)
	var byID, byEmail int
	w.fake.Do(func(st *spacestest.State) {
		for _, inv := range st.Invites {
			for _, i := range inv.Invitees {
				switch {
				case strings.EqualFold(i.InviteeType, "userId") && i.Invitee == sa.ID:
					byID++
				case strings.EqualFold(i.Invitee, w.key.Subject):
					byEmail++
				}
			}
		}
	})
	if byID != 1 || byEmail != 0 {
		t.Fatalf("the service account was invited %d times by id, %d by email", byID, byEmail)
	}
	// The service account loses admin: management is refused.
	w.fake.Do(func(st *spacestest.State) {
		for i := range st.Spaces[id].Members {
			if st.Spaces[id].Members[i].UserID != alice.ID {
				st.Spaces[id].Members[i].Role = "member"
			}
		}
	})
	w.edit("owned", func(sp *spacesv1alpha1.Space) { sp.Spec.Title = "Changed" })
	w.waitReason("owned", spacesv1alpha1.ReasonNotSpaceAdmin)
	w.waitEvent("owned", spacesv1alpha1.ReasonNotSpaceAdmin)
}

func TestSpaceReconciler_DeletionPolicies(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.newSpace("retained", spacesv1alpha1.SpaceSpec{Title: "Retained"})
	w.newSpace("deleted", spacesv1alpha1.SpaceSpec{Title: "Deleted", DeletionPolicy: spacesv1alpha1.DeletionPolicyDelete})
	w.newSpace("gone-first", spacesv1alpha1.SpaceSpec{Title: "Gone", DeletionPolicy: spacesv1alpha1.DeletionPolicyDelete})
	retained := w.waitReady("retained").Status.SpaceID
	deleted := w.waitReady("deleted").Status.SpaceID
	goneFirst := w.waitReady("gone-first").Status.SpaceID
	w.fake.Do(func(st *spacestest.State) { delete(st.Spaces, goneFirst) }) // 404 on delete counts as done

	for _, name := range []string{"retained", "deleted", "gone-first"} {
		if err := k8s.Delete(w.ctx, w.get(name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"retained", "deleted", "gone-first"} {
		w.eventually(name+" gone", func() bool {
			return apierrors.IsNotFound(k8s.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: name}, &spacesv1alpha1.Space{}))
		})
	}
	if _, ok := w.fake.Space(retained); !ok {
		t.Error("Retain deleted the space")
	}
	if _, ok := w.fake.Space(deleted); ok {
		t.Error("Delete left the space")
	}
	// Nothing uses the Secret any more: the in-use finalizer goes.
	w.eventually("the in-use finalizer removed", func() bool {
		var s corev1.Secret
		_ = k8s.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: secretName}, &s)
		return len(s.Finalizers) == 0
	})
}

func TestSpaceReconciler_MissingScopeAndBadCredentials(t *testing.T) {
	w := newWorld(t, spacestest.Options{}, "spaces.settings.read")
	w.newSpace("noscope", spacesv1alpha1.SpaceSpec{Title: "x"})
	sp := w.waitReason("noscope", spacesv1alpha1.ReasonMissingScope)
	if msg := condition(sp, spacesv1alpha1.ConditionStalled).Message; !strings.Contains(msg, "spaces.create") {
		t.Errorf("message does not name the scope: %q", msg)
	}
	w.waitEvent("noscope", spacesv1alpha1.ReasonMissingScope)

	w.newSpace("nosecret", spacesv1alpha1.SpaceSpec{Title: "y", CredentialsRef: &spacesv1alpha1.CredentialsReference{Name: "later"}})
	w.waitReason("nosecret", spacesv1alpha1.ReasonCredentialsNotFound)

	w.putNamedSecret("later", map[string][]byte{spacesv1alpha1.DefaultCredentialsKey: []byte(`{"iss":"a","sub":"b","kid":"c","private_key":"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n"}`)})
	sp = w.waitReason("nosecret", spacesv1alpha1.ReasonCredentialsInvalid) // noticed through the Secret watch
	if msg := condition(sp, spacesv1alpha1.ConditionReady).Message; !strings.Contains(msg, "private_key") || strings.Contains(msg, "MIIE") {
		t.Errorf("message %q", msg)
	}
	w.waitEvent("nosecret", spacesv1alpha1.ReasonCredentialsInvalid)

	// Fixing the Secret is enough: no restart, no edit of the Space.
	other, err := w.fake.AddServiceApp()
	if err != nil {
		t.Fatal(err)
	}
	w.putNamedSecret("later", map[string][]byte{spacesv1alpha1.DefaultCredentialsKey: other.JSON, spacesv1alpha1.CredentialsAPIURLKey: []byte(w.fake.URL)})
	w.waitReady("nosecret")
}

// TestSpaceReconciler_RotatedKey: after the Secret gets a new key, the next
// request uses the new kid and none uses the old one (it is revoked at once
// and the Space still syncs).
func TestSpaceReconciler_RotatedKey(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.newSpace("s", spacesv1alpha1.SpaceSpec{Title: "Before"})
	w.waitReady("s")
	newKey, err := w.fake.AddKey(w.key.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	w.putSecret(newKey.JSON)
	w.fake.RevokeKey(w.key.KeyID)
	oldMints := w.fake.Mints(w.key.KeyID)
	w.edit("s", func(sp *spacesv1alpha1.Space) { sp.Spec.Title = "After" })
	sp := w.waitReady("s")
	if got, _ := w.fake.Space(sp.Status.SpaceID); got.Title != "After" {
		t.Fatalf("title %q", got.Title)
	}
	if w.fake.Mints(newKey.KeyID) == 0 {
		t.Fatal("the new key was never used")
	}
	if w.fake.Mints(w.key.KeyID) != oldMints {
		t.Fatal("the old key was used after rotation")
	}
	if len(w.events("s", spacesv1alpha1.ReasonUnauthorized)) != 0 {
		t.Fatal("a request with the old key was refused")
	}
}

// A crash between the create and the status write is proven with real
// SIGKILLs of the manager binary in test/storm; here, the same path runs
// in-process when the answer is lost.
func TestSpaceReconciler_NoDuplicateAfterDroppedCreateResponse(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.fake.AddFault(spacestest.Fault{Route: "POST /spaces/invite", DropResponse: true, Times: 1})
	w.newSpace("dropped", spacesv1alpha1.SpaceSpec{Title: "Dropped"})
	sp := w.waitReady("dropped")
	titled := w.fake.SpacesTitled("Dropped")
	if len(titled) != 1 || titled[0].ID != sp.Status.SpaceID || w.fake.Calls("POST /spaces/invite") != 1 {
		t.Fatalf("%d spaces, %d creates", len(titled), w.fake.Calls("POST /spaces/invite"))
	}
}

// TestSpaceReconciler_LateCommitIsAdoptedNotDuplicated: Spaces commits a
// create after the client gave up on it (6 s against a 5 s timeout).
// Recovery must not search before the attempt can no longer land (twice
// the timeout after its mark), then adopts it: one create, one space.
func TestSpaceReconciler_LateCommitIsAdoptedNotDuplicated(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.fake.AddFault(spacestest.Fault{Route: "POST /spaces/invite", Latency: 6 * time.Second, Times: 1})
	w.newSpace("late", spacesv1alpha1.SpaceSpec{Title: "Late", Description: ptr("Lands late")})
	var sp *spacesv1alpha1.Space
	w.eventuallyWithin("the late space adopted", time.Minute, func() bool {
		sp = w.get("late")
		c := condition(sp, spacesv1alpha1.ConditionReady)
		return c != nil && c.Reason == spacesv1alpha1.ReasonSynced
	})
	titled := w.fake.SpacesTitled("Late")
	if len(titled) != 1 || titled[0].ID != sp.Status.SpaceID || w.fake.Calls("POST /spaces/invite") != 1 {
		t.Fatalf("%d spaces titled Late, %d creates; status says %s", len(titled), w.fake.Calls("POST /spaces/invite"), sp.Status.SpaceID)
	}
	if titled[0].Description != "Lands late" {
		t.Fatalf("description %q: the create ticket was not replaced", titled[0].Description)
	}
	if searches := w.fake.Arrivals("GET /users/me/spaces"); len(searches) == 0 ||
		searches[0].Sub(w.fake.Arrivals("POST /spaces/invite")[0]) < 9*time.Second {
		t.Fatalf("recovery searched at %v, before the attempt could no longer land", searches)
	}
}

// TestSpaceReconciler_DuplicateTicketsAreDeleted: Spaces made two spaces of
// one attempt and lost the answer. Both hold the object's ticket, so one is
// adopted and the other deleted, with an event; no human is needed.
func TestSpaceReconciler_DuplicateTicketsAreDeleted(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	var created atomic.Int32
	wrappers.Store(w.ns, func(_ *spacesv1alpha1.Space, api spaceAPI) spaceAPI { return dupOnCreate{api, &created} })
	t.Cleanup(func() { wrappers.Delete(w.ns) })
	w.newSpace("twice", spacesv1alpha1.SpaceSpec{Title: "Twice"})
	sp := w.waitReady("twice")
	titled := w.fake.SpacesTitled("Twice")
	if len(titled) != 1 || titled[0].ID != sp.Status.SpaceID || len(sp.Status.LeftoverSpaceIDs) != 0 {
		t.Fatalf("%d spaces titled Twice; status %+v", len(titled), sp.Status)
	}
	if titled[0].Description != "" {
		t.Fatalf("description %q: the create ticket was not removed", titled[0].Description)
	}
	notes := w.waitEvent("twice", spacesv1alpha1.ReasonDuplicateDeleted)
	if deleted := w.fake.DeletedSpaces(); len(deleted) != 1 || !strings.Contains(notes[0], deleted[0]) {
		t.Fatalf("deleted %v; event %q", deleted, notes)
	}
}

// TestSpaceReconciler_DuplicatesWithoutDeleteScope: the duplicate cannot be
// deleted; the Space is Ready with its own space, lists the duplicate in
// status and says what to do, and deletes it at a resync once the scope
// is granted.
func TestSpaceReconciler_DuplicatesWithoutDeleteScope(t *testing.T) {
	scopes := slices.DeleteFunc(slices.Clone(spacestest.AllScopes), func(s string) bool { return s == "spaces.delete" })
	w := newWorld(t, spacestest.Options{}, scopes...)
	var created atomic.Int32
	wrappers.Store(w.ns, func(_ *spacesv1alpha1.Space, api spaceAPI) spaceAPI { return dupOnCreate{api, &created} })
	t.Cleanup(func() { wrappers.Delete(w.ns) })
	w.newSpace("kept", spacesv1alpha1.SpaceSpec{Title: "Kept Twice"})
	sp := w.waitReady("kept")
	var other string
	for _, s := range w.fake.SpacesTitled("Kept Twice") {
		if s.ID != sp.Status.SpaceID {
			other = s.ID
		}
	}
	if other == "" || !slices.Equal(sp.Status.LeftoverSpaceIDs, []string{other}) {
		t.Fatalf("duplicate %q; status.leftoverSpaceIDs %v", other, sp.Status.LeftoverSpaceIDs)
	}
	msg := condition(sp, spacesv1alpha1.ConditionReady).Message
	if !strings.Contains(msg, other) || !strings.Contains(msg, "spaces.delete") {
		t.Fatalf("Ready message %q does not name the duplicate and the scope", msg)
	}
	w.waitEvent("kept", spacesv1alpha1.ReasonDuplicatesLeft)

	w.fake.SetScopes(w.key.Issuer, spacestest.AllScopes...)
	w.eventually("the duplicate deleted at a resync", func() bool { return len(w.get("kept").Status.LeftoverSpaceIDs) == 0 })
	if titled := w.fake.SpacesTitled("Kept Twice"); len(titled) != 1 || titled[0].ID != sp.Status.SpaceID {
		t.Fatalf("%d spaces left", len(titled))
	}
}

// TestSpaceReconciler_LegacyMarkAmbiguousCreateStalls: a mark written by a
// release without tickets, and two spaces of the title made since: nothing
// tells them apart, so a human picks one.
func TestSpaceReconciler_LegacyMarkAmbiguousCreateStalls(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	c := w.client()
	for range 2 {
		if _, err := c.CreateSpace(w.ctx, spaces.CreateSpaceRequest{Topic: spaces.Topic{Title: "Twice Legacy"}}, ""); err != nil {
			t.Fatal(err)
		}
	}
	sp := &spacesv1alpha1.Space{ObjectMeta: metav1.ObjectMeta{Name: "legacy", Namespace: w.ns,
		Annotations: map[string]string{spacesv1alpha1.AnnotationCreatePending: time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)}},
		Spec: spacesv1alpha1.SpaceSpec{Title: "Twice Legacy", CredentialsRef: &spacesv1alpha1.CredentialsReference{Name: secretName}}}
	if err := k8s.Create(w.ctx, sp); err != nil {
		t.Fatal(err)
	}
	sp = w.waitReason("legacy", spacesv1alpha1.ReasonAmbiguousCreate)
	msg := condition(sp, spacesv1alpha1.ConditionStalled).Message
	for _, s := range w.fake.SpacesTitled("Twice Legacy") {
		if !strings.Contains(msg, s.ID) {
			t.Errorf("message %q does not list %s", msg, s.ID)
		}
	}
	if !strings.Contains(msg, "spec.spaceID") {
		t.Errorf("message %q does not say how to pick one", msg)
	}
	// Picking one settles it.
	pick := w.fake.SpacesTitled("Twice Legacy")[0].ID
	w.edit("legacy", func(sp *spacesv1alpha1.Space) { sp.Spec.SpaceID = pick })
	if got := w.waitReady("legacy").Status.SpaceID; got != pick {
		t.Fatalf("status id %s, want %s", got, pick)
	}
	if n := w.fake.Calls("POST /spaces/invite"); n != 2 {
		t.Fatalf("%d creates, want only the test's 2", n)
	}
}

// dupOnCreate creates the space twice and loses both answers.
type dupOnCreate struct {
	spaceAPI
	n *atomic.Int32
}

func (d dupOnCreate) CreateSpace(ctx context.Context, req spaces.CreateSpaceRequest, actAs string) (*spaces.InviteResponse, error) {
	if d.n.Add(1) > 1 {
		return nil, errors.New("unexpected second create")
	}
	_, _ = d.spaceAPI.CreateSpace(ctx, req, actAs)
	_, _ = d.spaceAPI.CreateSpace(ctx, req, actAs)
	return nil, &spaces.Error{Kind: spaces.KindUnavailable, Endpoint: spaces.EndpointSpaceCreate, Err: errors.New("connection reset")}
}

func TestSpaceReconciler_SpaceGoneIsNotSilentlyRecreated(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.newSpace("s", spacesv1alpha1.SpaceSpec{Title: "Ephemeral"})
	old := w.waitReady("s").Status.SpaceID
	w.fake.Do(func(st *spacestest.State) { delete(st.Spaces, old) })
	sp := w.waitReason("s", spacesv1alpha1.ReasonSpaceGone)
	if msg := condition(sp, spacesv1alpha1.ConditionReady).Message; !strings.Contains(msg, spacesv1alpha1.AnnotationRecreate) {
		t.Errorf("message does not say how to recreate: %q", msg)
	}
	time.Sleep(2 * testResync)
	if n := len(w.fake.SpacesTitled("Ephemeral")); n != 0 || w.fake.Calls("POST /spaces/invite") != 1 {
		t.Fatalf("recreated on its own (%d spaces)", n)
	}
	w.edit("s", func(sp *spacesv1alpha1.Space) { sp.Annotations[spacesv1alpha1.AnnotationRecreate] = "true" })
	w.eventually("recreated", func() bool {
		sp := w.get("s")
		return sp.Status.SpaceID != "" && sp.Status.SpaceID != old && sp.Annotations[spacesv1alpha1.AnnotationRecreate] == "" &&
			condition(sp, spacesv1alpha1.ConditionReady).Reason == spacesv1alpha1.ReasonSynced
	})
	if n := len(w.fake.SpacesTitled("Ephemeral")); n != 1 {
		t.Fatalf("%d spaces after recreate", n)
	}
}

// TestSpaceReconciler_RateLimitStorm: a 429 pauses every object sharing the
// credential; no request reaches Spaces before Retry-After.
func TestSpaceReconciler_RateLimitStorm(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	names := []string{"a", "b", "c", "d", "e"}
	for _, n := range names {
		w.newSpace(n, spacesv1alpha1.SpaceSpec{Title: "Storm " + n})
	}
	for _, n := range names {
		w.waitReady(n)
	}
	w.fake.ResetCounters()
	w.fake.AddFault(spacestest.Fault{Route: "GET /spaces/{id}", Status: 429, RetryAfter: "3", Times: 1})
	for _, n := range names {
		w.edit(n, func(sp *spacesv1alpha1.Space) { sp.Spec.Title = "Calm " + sp.Name })
	}
	for _, n := range names {
		w.waitReady(n)
	}
	first := w.fake.Arrivals("GET /spaces/{id}")[0]
	for route := range w.fake.AllCalls() {
		for _, at := range w.fake.Arrivals(route) {
			if at.After(first) && at.Sub(first) < 3*time.Second-100*time.Millisecond {
				t.Errorf("%s came %v after the 429, before Retry-After 3s", route, at.Sub(first))
			}
		}
	}
}

// TestSpaceReconciler_LongRateLimitRequeues: a Retry-After longer than the
// client waits inline is reported (RateLimited, with an event) and handed
// to the work queue instead of holding a worker.
func TestSpaceReconciler_LongRateLimitRequeues(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.fake.AddFault(spacestest.Fault{Route: "POST /spaces/invite", Status: 429, RetryAfter: "600", Times: 1})
	w.newSpace("limited", spacesv1alpha1.SpaceSpec{Title: "Limited"})
	w.eventually("RateLimited", func() bool {
		c := condition(w.get("limited"), spacesv1alpha1.ConditionReconciling)
		return c != nil && c.Status == "True" && c.Reason == spacesv1alpha1.ReasonRateLimited
	})
	w.waitEvent("limited", spacesv1alpha1.ReasonRateLimited)
	time.Sleep(testResync)
	if n := w.fake.Calls("POST /spaces/invite"); n != 1 {
		t.Fatalf("%d creates during a 600 s pause", n)
	}
}

// TestSpaceReconciler_SteadyStateIsQuiet: once Ready, each resync costs one
// GET and writes nothing, to Spaces or to the API server.
func TestSpaceReconciler_SteadyStateIsQuiet(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.newSpace("quiet", spacesv1alpha1.SpaceSpec{Title: "Quiet", Settings: &spacesv1alpha1.SpaceSettings{MemberOnly: ptr(true)}})
	w.waitReady("quiet")
	// The first resync after Ready ends whatever the create started.
	w.waitCalls("GET /spaces/{id}", w.fake.Calls("GET /spaces/{id}")+1)
	w.fake.ResetCounters()
	rv := w.get("quiet").ResourceVersion
	const periods = 3
	start := time.Now()
	w.waitCalls("GET /spaces/{id}", periods)
	// Resyncs are jittered by up to 10%: three of them take at least
	// 2.7 periods (less means more than one GET a resync).
	if took := time.Since(start); took < periods*testResync*9/10-testResync {
		t.Errorf("%d GETs in %v: more than one per resync of %v", periods, took, testResync)
	}
	if n := w.fake.Writes(); n != 0 {
		t.Errorf("%d writes to Spaces in steady state: %v", n, w.fake.AllCalls())
	}
	if got := w.get("quiet"); got.ResourceVersion != rv {
		t.Errorf("the object was written in steady state (resourceVersion %s -> %s)", rv, got.ResourceVersion)
	}
}

func TestSpaceReconciler_SuspendStopsAllCalls(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.newSpace("paused", spacesv1alpha1.SpaceSpec{Title: "Paused", Suspend: true})
	w.waitReason("paused", spacesv1alpha1.ReasonSuspended)
	w.edit("paused", func(sp *spacesv1alpha1.Space) { sp.Spec.Title = "Still paused" })
	w.waitReason("paused", spacesv1alpha1.ReasonSuspended)
	time.Sleep(testResync)
	if calls := w.fake.AllCalls(); len(calls) != 0 {
		t.Fatalf("calls while suspended: %v", calls)
	}
	w.edit("paused", func(sp *spacesv1alpha1.Space) { sp.Spec.Suspend = false })
	w.waitReady("paused")
}

// TestSpaceReconciler_KstatusMapping runs kstatus itself on real objects:
// InProgress while creating, Current when Ready, Failed when Stalled.
func TestSpaceReconciler_KstatusMapping(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.fake.AddFault(spacestest.Fault{Route: "POST /spaces/invite", Latency: 2 * time.Second, Times: 1})
	w.newSpace("slow", spacesv1alpha1.SpaceSpec{Title: "Slow"})
	kstatus := func(name string) status.Status {
		// As the API server serves it, not through the Go type (which
		// would drop a zero observedGeneration).
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(spacesv1alpha1.GroupVersion.WithKind("Space"))
		if err := k8s.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: name}, obj); err != nil {
			t.Fatal(err)
		}
		res, err := status.Compute(obj)
		if err != nil {
			t.Fatal(err)
		}
		return res.Status
	}
	// The status is written once, after the create: until then the
	// schema's default (observedGeneration 0) is what says in progress.
	if s := kstatus("slow"); s != status.InProgressStatus {
		t.Errorf("just applied: %s, want InProgress", s)
	}
	w.eventually("the create under way", func() bool { return w.fake.Calls("POST /spaces/invite") == 1 })
	if s := kstatus("slow"); s != status.InProgressStatus {
		t.Errorf("while creating: %s, want InProgress", s)
	}
	if len(w.fake.SpacesTitled("Slow")) != 0 {
		t.Fatal("the check did not happen while the create was in flight")
	}
	w.waitReady("slow")
	if s := kstatus("slow"); s != status.CurrentStatus {
		t.Errorf("when Ready: %s, want Current", s)
	}
	w.fake.SetScopes(w.key.Issuer, "spaces.create")
	w.edit("slow", func(sp *spacesv1alpha1.Space) { sp.Spec.Title = "Slower" })
	w.waitReason("slow", spacesv1alpha1.ReasonMissingScope)
	if s := kstatus("slow"); s != status.FailedStatus {
		t.Errorf("when Stalled: %s, want Failed", s)
	}
}

// client is a Spaces client with the world's key, for setting up state.
func (w *world) client() *spaces.Client {
	w.t.Helper()
	key, err := spaces.ParseServiceKey(w.key.JSON)
	if err != nil {
		w.t.Fatal(err)
	}
	c, err := spaces.NewClient(w.fake.URL, spaces.NewTokenSource(key, spaces.TokenOptions{}), spaces.ClientOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

func TestSpaceReconciler_UnauthorizedKey(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.newSpace("s", spacesv1alpha1.SpaceSpec{Title: "Before revocation"})
	w.waitReady("s")
	w.fake.RevokeKey(w.key.KeyID)
	w.edit("s", func(sp *spacesv1alpha1.Space) { sp.Spec.Title = "After revocation" })
	sp := w.waitReason("s", spacesv1alpha1.ReasonUnauthorized)
	msg := condition(sp, spacesv1alpha1.ConditionStalled).Message
	for _, cause := range []string{"deleted or regenerated", "disabled", "clock"} {
		if !strings.Contains(msg, cause) {
			t.Errorf("message %q does not mention %q", msg, cause)
		}
	}
	w.waitEvent("s", spacesv1alpha1.ReasonUnauthorized)
	// Stalled means quiet: no calls until the Secret or the spec changes.
	calls := w.fake.Calls("GET /spaces/{id}")
	time.Sleep(2 * testResync)
	if got := w.fake.Calls("GET /spaces/{id}"); got != calls {
		t.Fatalf("%d more calls while stalled", got-calls)
	}
}

// TestSpaceReconciler_NamespaceTeardown: the credentials Secret is deleted
// first (as a namespace deletion may do); the in-use finalizer keeps it, so
// the Space with deletionPolicy Delete can still delete its space, after
// which the Secret goes too.
func TestSpaceReconciler_NamespaceTeardown(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.newSpace("s", spacesv1alpha1.SpaceSpec{Title: "Torn down", DeletionPolicy: spacesv1alpha1.DeletionPolicyDelete})
	id := w.waitReady("s").Status.SpaceID
	secret := &corev1.Secret{}
	w.eventually("the in-use finalizer", func() bool {
		_ = k8s.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: secretName}, secret)
		return len(secret.Finalizers) == 1
	})
	if err := k8s.Delete(w.ctx, secret); err != nil {
		t.Fatal(err)
	}
	w.deleteAndWait(w.get("s"))
	if _, ok := w.fake.Space(id); ok {
		t.Fatal("the space was not deleted in Spaces")
	}
	w.eventually("the Secret gone", func() bool {
		return apierrors.IsNotFound(k8s.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: secretName}, &corev1.Secret{}))
	})
}

// TestSpaceReconciler_OneSpaceObjectPerSpace: a second Space pointing at a
// managed space, in the same namespace or another, is SpaceClaimed and
// never writes to, nor deletes, the space; the holder is named only to its
// own namespace; when the holder goes, the next claimant takes over.
func TestSpaceReconciler_OneSpaceObjectPerSpace(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.newSpace("first", spacesv1alpha1.SpaceSpec{Title: "Claimed", Description: ptr("first")})
	id := w.waitReady("first").Status.SpaceID

	w.newSpace("second", spacesv1alpha1.SpaceSpec{Title: "Hijacked", SpaceID: id, Description: ptr("second"), DeletionPolicy: spacesv1alpha1.DeletionPolicyDelete})
	sp := w.waitReason("second", spacesv1alpha1.ReasonSpaceClaimed)
	if msg := condition(sp, spacesv1alpha1.ConditionStalled).Message; !strings.Contains(msg, `"first"`) {
		t.Errorf("same namespace: the message does not name the holder: %q", msg)
	}
	other := newWorldIn(t, w) // another namespace, same fake and key
	other.newSpace("third", spacesv1alpha1.SpaceSpec{Title: "Hijacked Too", SpaceID: id, DeletionPolicy: spacesv1alpha1.DeletionPolicyDelete})
	sp = other.waitReason("third", spacesv1alpha1.ReasonSpaceClaimed)
	if msg := condition(sp, spacesv1alpha1.ConditionStalled).Message; strings.Contains(msg, `"first"`) || strings.Contains(msg, w.ns) {
		t.Errorf("another namespace: the message names the holder: %q", msg)
	}
	if got, _ := w.fake.Space(id); got.Title != "Claimed" || got.Description != "first" {
		t.Fatalf("a claimant wrote to the space: %+v", got)
	}

	// Deleting a claimant with deletionPolicy Delete leaves the space.
	other.deleteAndWait(other.get("third"))
	if _, ok := w.fake.Space(id); !ok {
		t.Fatal("a claimant's deletion deleted the space")
	}

	// The holder lets go (Retain): the remaining claimant takes over.
	if err := k8s.Delete(w.ctx, w.get("first")); err != nil {
		t.Fatal(err)
	}
	w.waitReady("second")
	if got, _ := w.fake.Space(id); got.Title != "Hijacked" || got.Description != "second" {
		t.Fatalf("the new holder did not take over: %+v", got)
	}
}

// TestSpaceReconciler_StallFixedOutsideHealsByItself: a scope enabled in
// the portal, where no Kubernetes event follows, is noticed at the next
// look (30 s into the stall) without anyone touching the Space.
func TestSpaceReconciler_StallFixedOutsideHealsByItself(t *testing.T) {
	w := newWorld(t, spacestest.Options{}, "spaces.settings.read", "spaces.list")
	w.newSpace("later", spacesv1alpha1.SpaceSpec{Title: "Enabled Later"})
	w.waitReason("later", spacesv1alpha1.ReasonMissingScope)
	w.fake.SetScopes(w.key.Issuer, spacestest.AllScopes...)
	w.eventuallyWithin("the Space Ready once the scope is enabled", 45*time.Second, func() bool {
		c := condition(w.get("later"), spacesv1alpha1.ConditionReady)
		return c != nil && c.Status == "True"
	})
}

// TestSpaceReconciler_AbandonReleasesAStuckDeletion: a Delete-policy Space
// whose key was revoked cannot finish its deletion, and says why; the
// abandon annotation lets it go, leaving the space in Spaces.
func TestSpaceReconciler_AbandonReleasesAStuckDeletion(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.newSpace("stuck", spacesv1alpha1.SpaceSpec{Title: "Stuck", DeletionPolicy: spacesv1alpha1.DeletionPolicyDelete})
	id := w.waitReady("stuck").Status.SpaceID
	w.fake.RevokeKey(w.key.KeyID)
	if err := k8s.Delete(w.ctx, w.get("stuck")); err != nil {
		t.Fatal(err)
	}
	w.eventually("the deletion to say why it cannot finish", func() bool {
		c := condition(w.get("stuck"), spacesv1alpha1.ConditionStalled)
		return c != nil && c.Status == "True" && c.Reason == spacesv1alpha1.ReasonUnauthorized
	})
	sp := w.get("stuck")
	patch := client.MergeFrom(sp.DeepCopy())
	sp.Annotations = map[string]string{spacesv1alpha1.AnnotationAbandon: "true"}
	if err := k8s.Patch(w.ctx, sp, patch); err != nil {
		t.Fatal(err)
	}
	w.eventually("the Space released", func() bool {
		return apierrors.IsNotFound(k8s.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: "stuck"}, &spacesv1alpha1.Space{}))
	})
	if _, ok := w.fake.Space(id); !ok {
		t.Fatal("abandon deleted the space")
	}
	w.waitEvent("stuck", spacesv1alpha1.ReasonAbandoned)
}

// TestSpaceReconciler_TitleChangedWhileACreateIsOut: the title is edited
// while an uncertain create may still land; recovery looks under the title
// the attempt used too, adopts that space and renames it: one space.
func TestSpaceReconciler_TitleChangedWhileACreateIsOut(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.fake.AddFault(spacestest.Fault{Route: "POST /spaces/invite", Latency: 6 * time.Second, Times: 1})
	w.newSpace("renamed", spacesv1alpha1.SpaceSpec{Title: "Before"})
	w.eventually("the create sent", func() bool { return w.fake.Calls("POST /spaces/invite") == 1 })
	w.edit("renamed", func(sp *spacesv1alpha1.Space) { sp.Spec.Title = "After" })
	var sp *spacesv1alpha1.Space
	w.eventuallyWithin("the space adopted under its new title", time.Minute, func() bool {
		sp = w.get("renamed")
		c := condition(sp, spacesv1alpha1.ConditionReady)
		return c != nil && c.Reason == spacesv1alpha1.ReasonSynced && c.ObservedGeneration == sp.Generation
	})
	if before, after := w.fake.SpacesTitled("Before"), w.fake.SpacesTitled("After"); len(before) != 0 || len(after) != 1 || after[0].ID != sp.Status.SpaceID {
		t.Fatalf("%d spaces titled Before, %d After; %d creates", len(before), len(after), w.fake.Calls("POST /spaces/invite"))
	}
}
