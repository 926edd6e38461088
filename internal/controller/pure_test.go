package controller

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/credentials"
	"github.com/avayacloud/spaces-operator/internal/spaces"
)

func TestDiffSpace(t *testing.T) {
	yes, no := ptr(true), ptr(false)
	observed := spaces.Space{Title: "T", Description: "D", Restrict: []string{"other"},
		Settings:     spaces.SpaceSettings{MemberOnly: no, AllowPasswordInURL: yes, PasswordRequired: &spaces.PasswordRequired{AllGuests: yes}},
		MsgRetention: &spaces.MsgRetention{RetentionType: spaces.RetentionTypeDeleteAfterDays, RetentionLength: 30, NotInheritParentPolicy: true}}
	cases := []struct {
		name   string
		spec   spacesv1alpha1.SpaceSpec
		fields []string
		check  func(spaces.SpaceUpdate) bool
	}{
		{"nothing differs", spacesv1alpha1.SpaceSpec{Title: "T"}, nil, nil},
		{"unset fields are not managed", spacesv1alpha1.SpaceSpec{Title: "T", Settings: &spacesv1alpha1.SpaceSettings{}}, nil, nil},
		{"title", spacesv1alpha1.SpaceSpec{Title: "New"}, []string{"title"}, func(u spaces.SpaceUpdate) bool { return *u.Title == "New" && u.Settings == nil }},
		{"description", spacesv1alpha1.SpaceSpec{Title: "T", Description: ptr("")}, []string{"description"}, func(u spaces.SpaceUpdate) bool { return *u.Description == "" }},
		{"settings", spacesv1alpha1.SpaceSpec{Title: "T", Settings: &spacesv1alpha1.SpaceSettings{MemberOnly: yes, AllowPasswordInURL: yes, GuestsRequirePassword: no}},
			[]string{"settings.memberOnly", "settings.guestsRequirePassword"},
			func(u spaces.SpaceUpdate) bool {
				return *u.Settings.MemberOnly && u.Settings.AllowPasswordInURL == nil && !*u.Settings.PasswordRequired.AllGuests
			}},
		{"deny guest history keeps other restrictions", spacesv1alpha1.SpaceSpec{Title: "T", Settings: &spacesv1alpha1.SpaceSettings{DenyGuestHistory: yes}},
			[]string{"settings.denyGuestHistory"},
			func(u spaces.SpaceUpdate) bool {
				return reflect.DeepEqual(*u.Restrict, []string{"other", spaces.RestrictDenyGuestHistory})
			}},
		{"retention days", spacesv1alpha1.SpaceSpec{Title: "T", Settings: &spacesv1alpha1.SpaceSettings{MessageRetention: &spacesv1alpha1.MessageRetention{Policy: spacesv1alpha1.RetentionDeleteAfterDays, Days: ptr(int32(60))}}},
			[]string{"settings.messageRetention"},
			func(u spaces.SpaceUpdate) bool {
				return u.MsgRetention.RetentionLength == 60 && u.MsgRetention.NotInheritParentPolicy
			}},
		{"retention forever", spacesv1alpha1.SpaceSpec{Title: "T", Settings: &spacesv1alpha1.SpaceSettings{MessageRetention: &spacesv1alpha1.MessageRetention{Policy: spacesv1alpha1.RetentionForever}}},
			[]string{"settings.messageRetention"},
			func(u spaces.SpaceUpdate) bool { return u.MsgRetention.RetentionType == spaces.RetentionTypeForever }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, fields := diffSpace(&tc.spec, &observed)
			if !reflect.DeepEqual(fields, tc.fields) {
				t.Fatalf("fields %v, want %v", fields, tc.fields)
			}
			if tc.check != nil && !tc.check(u) {
				t.Fatalf("update %+v", u)
			}
			if tc.check == nil && !reflect.DeepEqual(u, spaces.SpaceUpdate{}) {
				t.Fatalf("update %+v, want none", u)
			}
		})
	}
}

func TestFailedMapsErrorsToOutcomes(t *testing.T) {
	cases := []struct {
		name    string
		err     error
		onSpace bool
		phase   phase
		reason  string
	}{
		{"missing secret", &credentials.Error{Reason: spacesv1alpha1.ReasonCredentialsNotFound}, false, phaseStalled, spacesv1alpha1.ReasonCredentialsNotFound},
		{"401", &spaces.Error{Kind: spaces.KindUnauthorized}, false, phaseStalled, spacesv1alpha1.ReasonUnauthorized},
		{"403 on create", &spaces.Error{Kind: spaces.KindForbidden}, false, phaseStalled, spacesv1alpha1.ReasonMissingScope},
		{"403 on a space", &spaces.Error{Kind: spaces.KindForbidden}, true, phaseStalled, spacesv1alpha1.ReasonNotSpaceAdmin},
		{"403 naming the scope on a space", &spaces.Error{Kind: spaces.KindForbidden, ScopeMissing: true}, true, phaseStalled, spacesv1alpha1.ReasonMissingScope},
		{"400", &spaces.Error{Kind: spaces.KindInvalid}, false, phaseStalled, spacesv1alpha1.ReasonInvalidInput},
		{"429", &spaces.Error{Kind: spaces.KindRateLimited, RetryAfter: time.Minute}, false, phaseProgressing, spacesv1alpha1.ReasonRateLimited},
		{"503", &spaces.Error{Kind: spaces.KindUnavailable}, false, phaseProgressing, spacesv1alpha1.ReasonSpacesUnavailable},
		{"API server", errors.New("conflict"), false, phaseProgressing, spacesv1alpha1.ReasonProgressing},
	}
	for _, tc := range cases {
		o := failed(tc.err, tc.onSpace)
		if o.phase != tc.phase || o.reason != tc.reason {
			t.Errorf("%s: %v %s, want %v %s", tc.name, o.phase, o.reason, tc.phase, tc.reason)
		}
		res, err := o.result(time.Minute, 0)
		switch {
		case tc.reason == spacesv1alpha1.ReasonRateLimited && (err != nil || res.RequeueAfter != time.Minute):
			t.Errorf("%s: a 429 must requeue after Retry-After, got %v %v", tc.name, res, err)
		case tc.phase == phaseStalled && fixableOutside(tc.reason) && (err != nil || res.RequeueAfter < stallRetryMin*9/10):
			t.Errorf("%s: a stall fixed outside the object must be looked at again, got %v %v", tc.name, res, err)
		case tc.phase == phaseStalled && !fixableOutside(tc.reason) && err == nil:
			t.Errorf("%s: a stall only the spec can fix must return a terminal error", tc.name)
		case tc.phase == phaseStalled && fixableOutside(tc.reason) && (res.Priority == nil || *res.Priority != handler.LowPriority):
			t.Errorf("%s: another look at a stall must queue behind new work, got priority %v", tc.name, res.Priority)
		case tc.phase == phaseProgressing && res.Priority != nil:
			t.Errorf("%s: work in flight must keep its priority, got %v", tc.name, *res.Priority)
		}
	}
	// A drift check queues behind objects created or changed meanwhile.
	if res, _ := synced("ok").result(time.Minute, 0); res.Priority == nil || *res.Priority != handler.LowPriority || res.RequeueAfter == 0 {
		t.Errorf("a drift check: %+v", res)
	}
}

// TestStallRetriesBackOff: a stall fixed outside the object is looked at
// again after 30 s, then after about as long as it has lasted, at most
// every 30 min.
func TestStallRetriesBackOff(t *testing.T) {
	o := stalled(spacesv1alpha1.ReasonMissingScope, "m")
	for _, tc := range []struct{ lasted, lo, hi time.Duration }{
		{0, 27 * time.Second, 33 * time.Second},
		{10 * time.Second, 27 * time.Second, 33 * time.Second},
		{4 * time.Minute, 216 * time.Second, 264 * time.Second},
		{24 * time.Hour, 27 * time.Minute, 33 * time.Minute},
	} {
		res, err := o.result(time.Hour, tc.lasted)
		if err != nil || res.RequeueAfter < tc.lo || res.RequeueAfter > tc.hi {
			t.Errorf("stalled for %v: requeue after %v (%v), want %v..%v", tc.lasted, res.RequeueAfter, err, tc.lo, tc.hi)
		}
	}
	now := time.Now()
	status := &spacesv1alpha1.CommonStatus{Conditions: []metav1.Condition{{Type: spacesv1alpha1.ConditionStalled, Status: metav1.ConditionTrue,
		Reason: spacesv1alpha1.ReasonMissingScope, LastTransitionTime: metav1.NewTime(now.Add(-5 * time.Minute))}}}
	if d := stalledFor(status, spacesv1alpha1.ReasonMissingScope, now); d != 5*time.Minute {
		t.Errorf("stalledFor = %v", d)
	}
	if d := stalledFor(status, spacesv1alpha1.ReasonUnauthorized, now); d != 0 {
		t.Errorf("another reason: stalledFor = %v", d)
	}
}

func TestApplyConditions(t *testing.T) {
	cases := []struct {
		o                           outcome
		ready, reconciling, stalled metav1.ConditionStatus
		movesGeneration             bool
	}{
		{synced("ok"), "True", "False", "False", true},
		{stalled(spacesv1alpha1.ReasonMissingScope, "m"), "False", "False", "True", true},
		{progressing(spacesv1alpha1.ReasonSpacesUnavailable, "m"), "False", "True", "False", false},
		{outcome{phase: phaseSuspended, reason: spacesv1alpha1.ReasonSuspended}, "False", "False", "False", true},
	}
	for _, tc := range cases {
		st := spacesv1alpha1.CommonStatus{ObservedGeneration: 1}
		applyConditions(&st, 2, tc.o)
		got := map[string]metav1.ConditionStatus{}
		for _, c := range st.Conditions {
			got[c.Type] = c.Status
			if c.ObservedGeneration != 2 {
				t.Errorf("%s: condition observedGeneration %d", tc.o.reason, c.ObservedGeneration)
			}
		}
		if got["Ready"] != tc.ready || got["Reconciling"] != tc.reconciling || got["Stalled"] != tc.stalled {
			t.Errorf("%s: %v", tc.o.reason, got)
		}
		if moved := st.ObservedGeneration == 2; moved != tc.movesGeneration {
			t.Errorf("%s: observedGeneration moved=%v", tc.o.reason, moved)
		}
	}
}

func TestPlanUsers(t *testing.T) {
	set := &spacesv1alpha1.ServiceAccountUserSet{Spec: spacesv1alpha1.ServiceAccountUserSetSpec{DeletionPolicy: spacesv1alpha1.DeletionPolicyDelete, Users: []spacesv1alpha1.CompanyUser{
		{Email: "new@x.io", License: spacesv1alpha1.LicenseNone},
		{Email: "same@x.io", FirstName: "S"},
		{Email: "changed@x.io", FirstName: "After"},
		{Email: "theirs@x.io"},
	}}}
	same := spacesv1alpha1.CompanyUser{Email: "same@x.io", FirstName: "S"}
	existing := map[string]spaces.User{"same@x.io": {ID: "1"}, "changed@x.io": {ID: "2"}, "ours-dropped@x.io": {ID: "3"}, "theirs-dropped@x.io": {ID: "4"}}
	previous := map[string]spacesv1alpha1.UserStatus{
		"same@x.io":           {Email: "same@x.io", SpecHash: userHash(same), CreatedBySet: true},
		"changed@x.io":        {Email: "changed@x.io", SpecHash: "old"},
		"ours-dropped@x.io":   {Email: "ours-dropped@x.io", CreatedBySet: true, UserID: "3"},
		"theirs-dropped@x.io": {Email: "theirs-dropped@x.io", UserID: "4"},
	}
	p := planUsers(set, existing, previous, map[string]string{"theirs@x.io": "ns/older"}, true, time.Now())
	var ops []string
	for _, op := range p.ops {
		ops = append(ops, op.Action+" "+op.Email)
	}
	want := []string{"create new@x.io", "update changed@x.io", "delete ours-dropped@x.io"}
	if !reflect.DeepEqual(ops, want) {
		t.Fatalf("ops %v, want %v", ops, want)
	}
	if lt := p.ops[0].LicenseType; lt == nil || *lt != "" {
		t.Errorf("license None must send an empty license_type")
	}
	states := map[string]spacesv1alpha1.UserState{}
	for _, st := range p.settled {
		states[st.Email] = st.State
	}
	if states["same@x.io"] != spacesv1alpha1.UserCreated || states["theirs@x.io"] != spacesv1alpha1.UserConflict {
		t.Fatalf("settled %v", states)
	}
}

func TestPasswordKeyIsValidAndOneToOne(t *testing.T) {
	// The longest email the schema takes, spelled out, would be 5 times too
	// long for a Secret key: such keys are hashed instead, and stay unique.
	percents := strings.Repeat("%", 240) + "@corp.example"
	emails := []string{"alice@corp.example", "a_b@corp.example", "a__b@corp.example", "o'neil+bot@corp.example", "a_at_b@corp.example", "a@b_at_.c",
		percents, strings.Replace(percents, "%", "+", 1), strings.Repeat("_", 240) + "@corp.example"}
	seen := map[string]string{}
	valid := func(k string) bool {
		return strings.Trim(k, "-._abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == ""
	}
	for _, e := range emails {
		k := passwordKey(e)
		if !valid(k) || len(k) > 253 {
			t.Errorf("%s -> %q is not a valid Secret key", e, k)
		}
		if other, dup := seen[k]; dup {
			t.Errorf("%s and %s share key %q", e, other, k)
		}
		seen[k] = e
	}
	if passwordKey("alice@corp.example") != "alice_at_corp.example" {
		t.Errorf("readable key changed: %s", passwordKey("alice@corp.example"))
	}
	pw, err := newPassword()
	if err != nil || len(pw) != passwordLength {
		t.Fatalf("%q %v", pw, err)
	}
}

func TestJoinLink(t *testing.T) {
	text := "You are invited: https://spaces.avayacloud.com/spaces/invites/59d2/join?inviteInfo=eyJzcGFjZU5hbWUiOiJQcm9qZWN0IFgifQ== see you"
	if got := joinLink(text); got != "https://spaces.avayacloud.com/spaces/invites/59d2/join?inviteInfo=eyJzcGFjZU5hbWUiOiJQcm9qZWN0IFgifQ==" {
		t.Fatalf("%q", got)
	}
}

func TestObjectIDTime(t *testing.T) {
	if got := objectIDTime("5f1051f0f3ed772f915e19ed"); !got.Equal(time.Unix(0x5f1051f0, 0)) {
		t.Fatalf("%v", got)
	}
	if !objectIDTime("nope").IsZero() {
		t.Fatal("a bad id must give the zero time")
	}
}

func TestCreateMark(t *testing.T) {
	first := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	at := first.Add(65*time.Second + 345*time.Millisecond)
	until := at.Add(time.Minute)
	const times = " first=2026-11-28T10:00:00Z at=2026-11-28T10:01:05.345Z until=2026-11-28T10:02:05.345Z"
	cases := []struct {
		name  string
		value string
		want  createMark
	}{
		{"ticketed", createMark{attempt: 2, first: first, at: at, until: until}.String(), createMark{attempt: 2, first: first, at: at, until: until}},
		{"with its title", createMark{attempt: 3, first: first, at: at, until: until, title: "Zahlungen & Co = 100% ü"}.String(),
			createMark{attempt: 3, first: first, at: at, until: until, title: "Zahlungen & Co = 100% ü"}},
		{"milliseconds kept", "attempt=1" + times, createMark{attempt: 1, first: first, at: at, until: until}},
		{"older release: a bare time", "2026-11-28T10:00:00Z", createMark{first: first, at: first}},
		{"garbage", "soon", createMark{}},
		{"attempt 0 is not a ticketed mark", "attempt=0" + times, createMark{}},
		{"negative attempt", "attempt=-3" + times, createMark{}},
		{"missing time", "attempt=2 first=2026-11-28T10:00:00Z at=2026-11-28T10:00:00Z", createMark{}},
		{"unknown field", "attempt=2" + times + " who=me", createMark{}},
		{"at before first", "attempt=2 first=2026-11-28T10:00:00Z at=2026-11-28T09:00:00Z until=2026-11-28T09:01:00Z", createMark{}},
		{"until before at", "attempt=2 first=2026-11-28T10:00:00Z at=2026-11-28T10:01:00Z until=2026-11-28T10:00:30Z", createMark{}},
		{"until too far", "attempt=2 first=2026-11-28T10:00:00Z at=2026-11-28T10:01:00Z until=2026-11-29T10:00:00Z", createMark{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := parseCreateMark(c.value)
			if got.attempt != c.want.attempt || !got.first.Equal(c.want.first) || !got.at.Equal(c.want.at) || !got.until.Equal(c.want.until) || got.title != c.want.title {
				t.Fatalf("parseCreateMark(%q) = %+v, want %+v", c.value, got, c.want)
			}
		})
	}
}

func TestCreateTicket(t *testing.T) {
	const uid = "0b7e8c1a-3f52-4c8e-9d1e-2a6f7b8c9d0e"
	desc := ticketDescription(uid, 7)
	if got, n, ok := parseTicket(desc); !ok || got != uid || n != 7 {
		t.Fatalf("parseTicket(%q) = %s %d %v", desc, got, n, ok)
	}
	for _, d := range []string{
		"", "Team chat", "create ticket " + uid + "/7", // not the operator's wording
		"Being set up by spaces-operator (create ticket " + uid + "/0)",
		"Being set up by spaces-operator (create ticket not-a-uid/1)",
		desc + " and more text after it",
	} {
		if _, _, ok := parseTicket(d); ok {
			t.Errorf("parseTicket(%q) found a ticket", d)
		}
	}
	if !holdsTicketOf(desc, uid) || holdsTicketOf(desc, "1b7e8c1a-3f52-4c8e-9d1e-2a6f7b8c9d0e") {
		t.Fatal("holdsTicketOf does not tell objects apart")
	}
	// Recovery never concludes before an attempt can no longer land.
	for _, timeout := range []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 5 * time.Minute} {
		if left := settleTime(timeout) - sendWindow(timeout) - timeout; left < timeout*3/4 {
			t.Errorf("timeout %v: Spaces has only %v after the client gave up", timeout, left)
		}
	}
}

func TestInitialUpdate(t *testing.T) {
	yes, no := ptr(true), ptr(false)
	spec := spacesv1alpha1.SpaceSpec{Title: "T", Settings: &spacesv1alpha1.SpaceSettings{MemberOnly: no, AllowPasswordInURL: yes, GuestsRequirePassword: no, DenyGuestHistory: yes}}
	u, _ := initialUpdate(&spec)
	if u.Title != nil || u.Description == nil || *u.Description != "" {
		t.Fatalf("title %v, description %v: want only the ticket cleared", u.Title, u.Description)
	}
	// Booleans are sent whatever they are: a new space's defaults are unknown.
	if u.Settings == nil || u.Settings.MemberOnly == nil || *u.Settings.MemberOnly || u.Settings.PasswordRequired == nil || *u.Settings.PasswordRequired.AllGuests {
		t.Fatalf("settings %+v", u.Settings)
	}
	if u.Restrict == nil || !reflect.DeepEqual(*u.Restrict, []string{spaces.RestrictDenyGuestHistory}) {
		t.Fatalf("restrict %v", u.Restrict)
	}
	spec.Description = ptr("Team chat")
	if u, _ = initialUpdate(&spec); *u.Description != "Team chat" {
		t.Fatalf("description %q", *u.Description)
	}
}

// TestCachedObjectsAreStripped: every cached object, Secrets and the
// operator's kinds alike, loses managedFields and the last-applied
// annotation (a Secret's holds its data) and keeps the rest.
func TestCachedObjectsAreStripped(t *testing.T) {
	opts := CacheOptions(nil, "")
	if opts.DefaultTransform == nil {
		t.Fatal("no transform for the operator's kinds")
	}
	secret := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "s",
		Annotations:   map[string]string{lastAppliedAnnotation: `{"data":{"service-key.json":"c2VjcmV0"}}`, "team": "a"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl-client-side-apply"}}}}
	for _, byObject := range opts.ByObject {
		if _, err := byObject.Transform(secret); err != nil {
			t.Fatal(err)
		}
	}
	if secret.ManagedFields != nil || secret.Annotations[lastAppliedAnnotation] != "" || secret.Annotations["team"] != "a" {
		t.Fatalf("Secret: managedFields %v, annotations %v", secret.ManagedFields, secret.Annotations)
	}
	space := &spacesv1alpha1.Space{ObjectMeta: metav1.ObjectMeta{Name: "sp",
		Annotations:   map[string]string{lastAppliedAnnotation: `{"spec":{}}`, spacesv1alpha1.AnnotationSpaceID: "5f1051f0f3ed772f915e19ed"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "argocd-controller"}}}, Spec: spacesv1alpha1.SpaceSpec{Title: "T"}}
	if _, err := opts.DefaultTransform(space); err != nil {
		t.Fatal(err)
	}
	if space.ManagedFields != nil || space.Annotations[lastAppliedAnnotation] != "" || space.Annotations[spacesv1alpha1.AnnotationSpaceID] == "" || space.Spec.Title != "T" {
		t.Fatalf("Space: %+v", space.ObjectMeta)
	}
	if _, err := opts.DefaultTransform("tombstone"); err != nil {
		t.Fatal(err)
	}
}

// TestPlanUsers_CreateStillOut: a user whose create was sent and may still
// land is not created again before creatingUntil; after it, a user still
// missing is created; one that appeared is the set's, the window closed.
func TestPlanUsers_CreateStillOut(t *testing.T) {
	now := time.Now()
	set := &spacesv1alpha1.ServiceAccountUserSet{Spec: spacesv1alpha1.ServiceAccountUserSetSpec{Users: []spacesv1alpha1.CompanyUser{{Email: "a@x.io"}, {Email: "b@x.io"}}}}
	until := metav1.NewTime(now.Add(10 * time.Second))
	previous := map[string]spacesv1alpha1.UserStatus{
		"a@x.io": {Email: "a@x.io", CreatedBySet: true, CreatingUntil: &until},
		"b@x.io": {Email: "b@x.io", CreatedBySet: true, CreatingUntil: &until},
	}
	p := planUsers(set, map[string]spaces.User{"b@x.io": {ID: "2"}}, previous, nil, false, now)
	if len(p.ops) != 1 || p.ops[0].Action != spaces.BulkActionUpdate || p.ops[0].Email != "b@x.io" || !p.settlesAt.Equal(until.Time) {
		t.Fatalf("while out: ops %+v, settlesAt %v", p.ops, p.settlesAt)
	}
	if p.opUsers[0].CreatingUntil != nil || !p.opUsers[0].CreatedBySet {
		t.Fatalf("b appeared: %+v", p.opUsers[0])
	}
	if len(p.settled) != 1 || p.settled[0].State != spacesv1alpha1.UserPending {
		t.Fatalf("a waits: %+v", p.settled)
	}
	p = planUsers(set, map[string]spaces.User{}, previous, nil, false, now.Add(11*time.Second))
	if len(p.ops) != 2 || p.ops[0].Action != spaces.BulkActionCreate || !p.settlesAt.IsZero() {
		t.Fatalf("after the window: ops %+v", p.ops)
	}
}

// testSpace is a Space at generation whose status was last written at
// observed, with Ready ready.
func testSpace(uid string, generation, observed int64, ready metav1.ConditionStatus) *spacesv1alpha1.Space {
	sp := &spacesv1alpha1.Space{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid), Generation: generation}}
	sp.Status.ObservedGeneration = observed
	sp.Status.Conditions = []metav1.Condition{{Type: spacesv1alpha1.ConditionReady, Status: ready, ObservedGeneration: observed, Reason: "x"}}
	return sp
}

// TestSpreadLook: a look at an unchanged object Ready at its generation
// waits up to one resync period; anything else is looked at now.
func TestSpreadLook(t *testing.T) {
	r := &Reconciler{ResyncPeriod: time.Minute}
	r.setDefaults()
	space := testSpace
	for range 3 {
		if wait, later := r.spreadLook(space("ready", 2, 2, metav1.ConditionTrue), false); !later || wait < time.Second || wait > time.Minute+time.Second {
			t.Fatalf("a look at a Ready object: %v %v", wait, later)
		}
	}
	for name, tc := range map[string]struct {
		sp   *spacesv1alpha1.Space
		busy bool
	}{
		"not ready":        {space("not-ready", 2, 2, metav1.ConditionFalse), false},
		"spec changed":     {space("changed", 3, 2, metav1.ConditionTrue), false},
		"work left to do":  {space("busy", 2, 2, metav1.ConditionTrue), true},
		"never reconciled": {&spacesv1alpha1.Space{ObjectMeta: metav1.ObjectMeta{UID: "new", Generation: 1}}, false},
	} {
		if _, later := r.spreadLook(tc.sp, tc.busy); later {
			t.Errorf("%s: deferred", name)
		}
	}
}

// TestSpreadLook_SpreadsEvenly: after a restart with 1,000 Ready
// objects, every tenth of the resync period gets a tenth of the first
// looks (within 2 %, where random waits would stray by about 10 %), so
// the first minute after a restart costs N × 60 s / period calls.
func TestSpreadLook_SpreadsEvenly(t *testing.T) {
	r := &Reconciler{ResyncPeriod: 10 * time.Minute}
	r.setDefaults()
	var tenths [10]int
	for i := range 1000 {
		wait, later := r.spreadLook(testSpace(fmt.Sprintf("uid-%d", i), 1, 1, metav1.ConditionTrue), false)
		if !later {
			t.Fatalf("object %d looked at now", i)
		}
		tenths[min(9, int((wait-time.Second)*10/r.ResyncPeriod))]++
	}
	for i, n := range tenths {
		if n < 98 || n > 102 {
			t.Errorf("tenth %d of the period holds %d first looks, want 100 ± 2: %v", i, n, tenths)
		}
	}
}

// TestDriftTurn: drift checks of Ready objects book turns in their service
// app's drift share (5/s × 0.5, burst 5): the first five go now, the rest
// are deferred by a growing wait; a deferred object asking again before
// its turn is deferred again without a second booking, and at its turn it
// goes without booking. Objects not Ready at their generation are never
// held back.
func TestDriftTurn(t *testing.T) {
	r := &Reconciler{ResyncPeriod: time.Minute}
	r.setDefaults()
	client, err := spaces.NewClient("http://127.0.0.1:1", nil, spaces.ClientOptions{Limiter: spaces.NewLimiter(5, 10, 0.5, nil)})
	if err != nil {
		t.Fatal(err)
	}
	cred := &credentials.Credential{Client: client, Issuer: "app"}
	ctx := context.Background()
	var waits []time.Duration
	for i := range 10 {
		sp := testSpace(fmt.Sprintf("uid-%d", i), 1, 1, metav1.ConditionTrue)
		o, ok := r.driftTurn(ctx, sp, cred, 1)
		if ok != (i < 5) {
			t.Fatalf("drift check %d went ahead: %v, want %v", i, ok, i < 5)
		}
		if !ok {
			if o.phase != phaseDeferred || o.retryAfter <= 0 {
				t.Fatalf("drift check %d: outcome %+v", i, o)
			}
			res, err := o.result(r.ResyncPeriod, 0)
			if err != nil || res.RequeueAfter != o.retryAfter || res.Priority == nil || *res.Priority != handler.LowPriority {
				t.Fatalf("a deferred drift check requeues as %+v, %v", res, err)
			}
			waits = append(waits, o.retryAfter)
		}
	}
	for i := 1; i < len(waits); i++ {
		if d := waits[i] - waits[i-1]; d < 350*time.Millisecond || d > 450*time.Millisecond {
			t.Errorf("turns %v apart, want 400ms (2.5 a second): %v", d, waits)
		}
	}
	again := testSpace("uid-9", 1, 1, metav1.ConditionTrue)
	if o, ok := r.driftTurn(ctx, again, cred, 1); ok || o.retryAfter > waits[len(waits)-1] {
		t.Errorf("asking again before its turn: %+v %v, want deferred by at most %v", o, ok, waits[len(waits)-1])
	}
	r.driftBooked.Store(again.UID, time.Now().Add(-time.Millisecond)) // its turn came
	if _, ok := r.driftTurn(ctx, again, cred, 1); !ok {
		t.Error("at its turn the drift check was deferred again")
	}
	next := testSpace("uid-10", 1, 1, metav1.ConditionTrue)
	if o, _ := r.driftTurn(ctx, next, cred, 1); o.retryAfter < waits[len(waits)-1]+300*time.Millisecond {
		t.Errorf("the next booking waits %v: the deferred ones booked twice or not at all", o.retryAfter)
	}
	for name, sp := range map[string]*spacesv1alpha1.Space{
		"not ready": testSpace("x1", 1, 1, metav1.ConditionFalse), "spec changed": testSpace("x2", 2, 1, metav1.ConditionTrue),
	} {
		if _, ok := r.driftTurn(ctx, sp, cred, 1); !ok {
			t.Errorf("%s: held back as a drift check", name)
		}
	}
}

func TestUsersToRead(t *testing.T) {
	set := &spacesv1alpha1.ServiceAccountUserSet{Spec: spacesv1alpha1.ServiceAccountUserSetSpec{Users: []spacesv1alpha1.CompanyUser{
		{Email: "same@corp.example", FirstName: "Same"},
		{Email: "Renamed@corp.example", FirstName: "New"},
		{Email: "new@corp.example"},
		{Email: "failed@corp.example"},
		{Email: "creating@corp.example"},
		{Email: "taken@corp.example"},
	}}}
	settled := func(email string, u spacesv1alpha1.CompanyUser) spacesv1alpha1.UserStatus {
		return spacesv1alpha1.UserStatus{Email: email, UserID: "id-" + email, State: spacesv1alpha1.UserCreated, CreatedBySet: true, SpecHash: userHash(u)}
	}
	set.Status.Users = []spacesv1alpha1.UserStatus{
		settled("same@corp.example", set.Spec.Users[0]),
		settled("renamed@corp.example", spacesv1alpha1.CompanyUser{Email: "renamed@corp.example", FirstName: "Old"}),
		{Email: "failed@corp.example", State: spacesv1alpha1.UserFailed, UserID: "id-f"},
		{Email: "creating@corp.example", State: spacesv1alpha1.UserPending, CreatingUntil: &metav1.Time{Time: time.Now()}},
		settled("dropped@corp.example", spacesv1alpha1.CompanyUser{Email: "dropped@corp.example"}),
	}
	conflicts := map[string]string{"taken@corp.example": "older"}
	for _, tc := range []struct {
		full        bool
		wantRead    []string
		wantAssumed []string
	}{
		{false, []string{"Renamed@corp.example", "new@corp.example", "failed@corp.example", "creating@corp.example", "dropped@corp.example"}, []string{"same@corp.example"}},
		{true, []string{"same@corp.example", "Renamed@corp.example", "new@corp.example", "failed@corp.example", "creating@corp.example", "dropped@corp.example"}, nil},
	} {
		read, assumed := usersToRead(set, previousUsers(set.Status.Users), conflicts, tc.full)
		if !reflect.DeepEqual(read, tc.wantRead) {
			t.Errorf("full %v: read %v, want %v", tc.full, read, tc.wantRead)
		}
		var got []string
		for email, u := range assumed {
			got = append(got, email)
			if u.ID != "id-"+email {
				t.Errorf("assumed %s with id %q", email, u.ID)
			}
		}
		if !reflect.DeepEqual(got, tc.wantAssumed) {
			t.Errorf("full %v: assumed %v, want %v", tc.full, got, tc.wantAssumed)
		}
	}
}
