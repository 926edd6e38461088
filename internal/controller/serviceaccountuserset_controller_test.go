package controller

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/spaces/spacestest"
)

func (w *world) newUserSet(name string, spec spacesv1alpha1.ServiceAccountUserSetSpec) {
	w.t.Helper()
	if spec.CredentialsRef == nil && spec.AccountRef == nil {
		spec.CredentialsRef = &spacesv1alpha1.CredentialsReference{Name: secretName}
	}
	if spec.DeletionPolicy == "" {
		spec.DeletionPolicy = spacesv1alpha1.DeletionPolicyRetain
	}
	set := &spacesv1alpha1.ServiceAccountUserSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns}, Spec: spec}
	if err := k8s.Create(w.ctx, set); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) getUserSet(name string) *spacesv1alpha1.ServiceAccountUserSet {
	w.t.Helper()
	set := &spacesv1alpha1.ServiceAccountUserSet{}
	if err := k8s.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: name}, set); err != nil {
		w.t.Fatal(err)
	}
	return set
}

func (w *world) waitUserSet(name, reason string, cond func(*spacesv1alpha1.ServiceAccountUserSet) bool) *spacesv1alpha1.ServiceAccountUserSet {
	w.t.Helper()
	var set *spacesv1alpha1.ServiceAccountUserSet
	w.eventually("ServiceAccountUserSet "+name+" "+reason, func() bool {
		set = w.getUserSet(name)
		c := readyCondition(set.Status.Conditions)
		return c != nil && c.Reason == reason && c.ObservedGeneration == set.Generation && (cond == nil || cond(set))
	})
	return set
}

func (w *world) editUserSet(name string, f func(*spacesv1alpha1.ServiceAccountUserSet)) {
	w.t.Helper()
	updateWithRetries(w, func() *spacesv1alpha1.ServiceAccountUserSet { return w.getUserSet(name) }, f)
}

func users(n int, format string) []spacesv1alpha1.CompanyUser {
	var out []spacesv1alpha1.CompanyUser
	for i := range n {
		out = append(out, spacesv1alpha1.CompanyUser{Email: fmt.Sprintf(format, i), FirstName: "User", LastName: fmt.Sprint(i), License: spacesv1alpha1.LicenseBusiness})
	}
	return out
}

func userStates(set *spacesv1alpha1.ServiceAccountUserSet) map[string]spacesv1alpha1.UserState {
	out := map[string]spacesv1alpha1.UserState{}
	for _, u := range set.Status.Users {
		out[u.Email] = u.State
	}
	return out
}

// TestServiceAccountUserSet_CreatesInFewCallsAndIdlesQuietly: 25 new users
// cost one read and three bulk writes; generated passwords are in the Secret
// (and are the ones Spaces got); a resync writes nothing.
func TestServiceAccountUserSet_CreatesInFewCallsAndIdlesQuietly(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.newUserSet("team", spacesv1alpha1.ServiceAccountUserSetSpec{Users: users(25, "user%02d@corp.example")})
	set := w.waitUserSet("team", spacesv1alpha1.ReasonSynced, func(s *spacesv1alpha1.ServiceAccountUserSet) bool { return s.Status.Ready == 25 })
	if n := w.fake.Calls("POST /users/bulkupdateaccounts"); n != 3 {
		t.Errorf("25 creates took %d bulk calls, want 3", n)
	}
	if n := w.fake.Calls("POST /users/me/colleaguesbulk"); n != 1 {
		t.Errorf("%d reads, want 1", n)
	}
	if set.Status.Total != 25 {
		t.Errorf("total %d", set.Status.Total)
	}
	for _, u := range set.Status.Users {
		if u.State != spacesv1alpha1.UserCreated || !u.CreatedBySet || u.UserID == "" {
			t.Fatalf("user status %+v", u)
		}
	}
	var secret corev1.Secret
	if err := k8s.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: "team-passwords"}, &secret); err != nil {
		t.Fatal(err)
	}
	if !metav1.IsControlledBy(&secret, set) || len(secret.Data) != 25 {
		t.Fatalf("password Secret: %d keys, owners %v", len(secret.Data), secret.OwnerReferences)
	}
	for i := range 25 {
		email := fmt.Sprintf("user%02d@corp.example", i)
		pw := string(secret.Data[passwordKey(email)])
		if len(pw) < 20 || !w.fake.PasswordIs(email, pw) {
			t.Fatalf("%s: the Secret's password is not the one Spaces got", email)
		}
	}
	if u, _ := w.fake.UserByEmail("user07@corp.example"); u.LicenseType != "spaces_business" || u.FirstName != "User" {
		t.Errorf("fake user %+v", u)
	}
	w.assertPasswordsNowhereElse(secret.Data, "team")

	writes := w.fake.Calls("POST /users/bulkupdateaccounts")
	reads := w.fake.Calls("POST /users/me/colleaguesbulk")
	w.waitCalls("POST /users/me/colleaguesbulk", reads+2) // two resyncs
	if n := w.fake.Calls("POST /users/bulkupdateaccounts"); n != writes {
		t.Errorf("resyncs wrote %d times", n-writes)
	}

	// An update costs one write.
	w.editUserSet("team", func(s *spacesv1alpha1.ServiceAccountUserSet) { s.Spec.Users[3].FirstName = "Renamed" })
	w.waitUserSet("team", spacesv1alpha1.ReasonSynced, nil)
	w.eventually("the update", func() bool { u, _ := w.fake.UserByEmail("user03@corp.example"); return u.FirstName == "Renamed" })
	if n := w.fake.Calls("POST /users/bulkupdateaccounts"); n != writes+1 {
		t.Errorf("one changed user took %d writes", n-writes)
	}
}

// assertPasswordsNowhereElse greps the manager's logs, the events and the
// status for every password.
func (w *world) assertPasswordsNowhereElse(passwords map[string][]byte, setName string) {
	w.t.Helper()
	var events eventsv1.EventList
	if err := k8s.List(w.ctx, &events, client.InNamespace(w.ns)); err != nil {
		w.t.Fatal(err)
	}
	evJSON, _ := json.Marshal(events)
	stJSON, _ := json.Marshal(w.getUserSet(setName))
	logText := logs.String()
	for _, pw := range passwords {
		for where, text := range map[string]string{"logs": logText, "events": string(evJSON), "the object": string(stJSON)} {
			if strings.Contains(text, string(pw)) {
				w.t.Fatalf("a generated password appears in %s", where)
			}
		}
	}
}

func TestServiceAccountUserSet_PartialFailureMarksExactlyTheFailingUsers(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	list := users(12, "ok%02d@corp.example")
	list[4].Email = "outsider@elsewhere.example" // not a company domain
	list[9].Email = "late@elsewhere.example"
	w.newUserSet("mixed", spacesv1alpha1.ServiceAccountUserSetSpec{Users: list})
	set := w.waitUserSet("mixed", spacesv1alpha1.ReasonInvalidInput, nil)
	for email, state := range userStates(set) {
		want := spacesv1alpha1.UserCreated
		if strings.HasSuffix(email, "elsewhere.example") {
			want = spacesv1alpha1.UserFailed
		}
		if state != want {
			t.Errorf("%s is %s, want %s", email, state, want)
		}
	}
	if set.Status.Ready != 10 || set.Status.Total != 12 {
		t.Errorf("ready %d total %d", set.Status.Ready, set.Status.Total)
	}
	for _, u := range set.Status.Users {
		if u.State == spacesv1alpha1.UserFailed && !strings.Contains(u.Message, "domain") {
			t.Errorf("%s: message %q lacks Spaces' reason", u.Email, u.Message)
		}
	}
}

// TestServiceAccountUserSet_ConflictOlderSetWins: two sets name one email;
// the older keeps it and the newer leaves it alone until the older lets go.
func TestServiceAccountUserSet_ConflictOlderSetWins(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.newUserSet("older", spacesv1alpha1.ServiceAccountUserSetSpec{Users: []spacesv1alpha1.CompanyUser{{Email: "shared@corp.example", FirstName: "Older"}}})
	w.waitUserSet("older", spacesv1alpha1.ReasonSynced, nil)
	time.Sleep(1100 * time.Millisecond) // creation timestamps have second precision
	w.newUserSet("newer", spacesv1alpha1.ServiceAccountUserSetSpec{Users: []spacesv1alpha1.CompanyUser{
		{Email: "shared@corp.example", FirstName: "Newer"}, {Email: "own@corp.example"}}})
	set := w.waitUserSet("newer", spacesv1alpha1.ReasonConflict, nil)
	if s := userStates(set); s["shared@corp.example"] != spacesv1alpha1.UserConflict || s["own@corp.example"] != spacesv1alpha1.UserCreated {
		t.Fatalf("states %v", s)
	}
	if u, _ := w.fake.UserByEmail("shared@corp.example"); u.FirstName != "Older" {
		t.Fatalf("the newer set touched the shared user: %+v", u)
	}
	w.editUserSet("older", func(s *spacesv1alpha1.ServiceAccountUserSet) {
		s.Spec.Users = []spacesv1alpha1.CompanyUser{{Email: "someone-else@corp.example"}}
	})
	w.waitUserSet("newer", spacesv1alpha1.ReasonSynced, func(s *spacesv1alpha1.ServiceAccountUserSet) bool { return s.Status.Ready == 2 })
	if u, _ := w.fake.UserByEmail("shared@corp.example"); u.FirstName != "Newer" {
		t.Fatalf("the newer set did not take the user over: %+v", u)
	}
	if s := userStates(w.getUserSet("newer")); s["shared@corp.example"] != spacesv1alpha1.UserInSync {
		t.Fatalf("a user the set did not create must be InSync, not %s", s["shared@corp.example"])
	}
}

func TestServiceAccountUserSet_DeletionPolicies(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.fake.AddUser("preexisting@corp.example", "Pre", "Existing")
	w.newUserSet("disposable", spacesv1alpha1.ServiceAccountUserSetSpec{DeletionPolicy: spacesv1alpha1.DeletionPolicyDelete,
		Users: []spacesv1alpha1.CompanyUser{{Email: "temp1@corp.example"}, {Email: "temp2@corp.example"}, {Email: "preexisting@corp.example"}}})
	w.newUserSet("kept", spacesv1alpha1.ServiceAccountUserSetSpec{Users: []spacesv1alpha1.CompanyUser{{Email: "kept@corp.example"}}})
	w.waitUserSet("disposable", spacesv1alpha1.ReasonSynced, func(s *spacesv1alpha1.ServiceAccountUserSet) bool { return s.Status.Ready == 3 })
	w.waitUserSet("kept", spacesv1alpha1.ReasonSynced, nil)

	// Dropped from a Delete set: deleted, as the set created it.
	w.editUserSet("disposable", func(s *spacesv1alpha1.ServiceAccountUserSet) { s.Spec.Users = s.Spec.Users[1:] })
	w.eventually("temp1 deleted", func() bool { _, ok := w.fake.UserByEmail("temp1@corp.example"); return !ok })

	for _, name := range []string{"disposable", "kept"} {
		w.deleteAndWait(w.getUserSet(name))
	}
	if _, ok := w.fake.UserByEmail("temp2@corp.example"); ok {
		t.Error("Delete left a user the set created")
	}
	if _, ok := w.fake.UserByEmail("preexisting@corp.example"); !ok {
		t.Error("Delete removed a user the set did not create")
	}
	if _, ok := w.fake.UserByEmail("kept@corp.example"); !ok {
		t.Error("Retain deleted a user")
	}
}

// TestServiceAccountUserSet_TransientResultIsRetried: Spaces answers one
// user's create with a 503 inside a successful call; that user is tried
// again (not Failed, the set not Stalled) and ends Created, by this set.
func TestServiceAccountUserSet_TransientResultIsRetried(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.fake.AddFault(spacestest.Fault{Route: "POST /users/bulkupdateaccounts", OperationStatus: 503, Emails: []string{"flaky@corp.example"}, Times: 1})
	w.newUserSet("flaky", spacesv1alpha1.ServiceAccountUserSetSpec{DeletionPolicy: spacesv1alpha1.DeletionPolicyDelete,
		Users: []spacesv1alpha1.CompanyUser{{Email: "steady@corp.example"}, {Email: "flaky@corp.example"}}})
	set := w.waitUserSet("flaky", spacesv1alpha1.ReasonSynced, nil)
	for _, u := range set.Status.Users {
		if u.State != spacesv1alpha1.UserCreated || !u.CreatedBySet || u.UserID == "" {
			t.Errorf("%s: %+v", u.Email, u)
		}
	}
	if len(w.events("flaky", spacesv1alpha1.ReasonInvalidInput)) != 0 {
		t.Error("a passing trouble of Spaces was reported as bad input")
	}
}

// TestServiceAccountUserSet_ForeignPasswordSecretStallsUntilMoved: the
// password Secret's name is taken by someone else's Secret: the set says
// so, with a fix a human can make (not "change the immutable field"), and
// carries on by itself once it is made.
func TestServiceAccountUserSet_ForeignPasswordSecretStallsUntilMoved(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.putNamedSecret("taken", map[string][]byte{"theirs": []byte("x")})
	w.newUserSet("blocked", spacesv1alpha1.ServiceAccountUserSetSpec{PasswordSecretName: "taken", Users: []spacesv1alpha1.CompanyUser{{Email: "kim@corp.example"}}})
	set := w.waitUserSet("blocked", spacesv1alpha1.ReasonSecretConflict, nil)
	if msg := readyCondition(set.Status.Conditions).Message; !strings.Contains(msg, "delete or rename that Secret") {
		t.Errorf("message %q", msg)
	}
	if err := k8s.Delete(w.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "taken", Namespace: w.ns}}); err != nil {
		t.Fatal(err)
	}
	w.eventuallyWithin("the set Ready once the Secret is gone", 45*time.Second, func() bool {
		c := readyCondition(w.getUserSet("blocked").Status.Conditions)
		return c != nil && c.Reason == spacesv1alpha1.ReasonSynced
	})
}

// TestServiceAccountUserSet_ConflictHoldsOnlyTheConflictedUsers: a set
// with one user claimed by an older set keeps the others in step: a user
// of its own deleted in Spaces is created again at the next resync.
func TestServiceAccountUserSet_ConflictHoldsOnlyTheConflictedUsers(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	w.newUserSet("older", spacesv1alpha1.ServiceAccountUserSetSpec{Users: []spacesv1alpha1.CompanyUser{{Email: "held@corp.example"}}})
	w.waitUserSet("older", spacesv1alpha1.ReasonSynced, nil)
	time.Sleep(1100 * time.Millisecond) // creation timestamps have second precision
	w.newUserSet("newer", spacesv1alpha1.ServiceAccountUserSetSpec{Users: []spacesv1alpha1.CompanyUser{{Email: "held@corp.example"}, {Email: "mine@corp.example"}}})
	w.waitUserSet("newer", spacesv1alpha1.ReasonConflict, nil)
	mine, _ := w.fake.UserByEmail("mine@corp.example")
	w.fake.Do(func(st *spacestest.State) { delete(st.Users, mine.ID) })
	w.eventually("the deleted user created again", func() bool {
		u, ok := w.fake.UserByEmail("mine@corp.example")
		return ok && u.ID != mine.ID
	})
}
