package controller

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/spaces/spacestest"
	"github.com/avayacloud/spaces-operator/internal/testenv"
)

var aggregateOnce sync.Once

// aggregateEdit does what kube-controller-manager's aggregation controller
// does in a real cluster (envtest runs none): installs the project's
// editor and viewer roles and folds every role labelled aggregate-to-edit
// into the built-in edit ClusterRole.
func aggregateEdit(t *testing.T) {
	aggregateOnce.Do(func() {
		w := &world{t: t}
		files, _ := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "rbac", "*_role.yaml"))
		for _, f := range files {
			if !strings.Contains(f, "_editor_") && !strings.Contains(f, "_viewer_") {
				continue
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var role rbacv1.ClusterRole
			if err := yaml.Unmarshal(data, &role); err != nil {
				t.Fatal(err)
			}
			if err := k8s.Create(t.Context(), &role); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
		}
		var edit rbacv1.ClusterRole
		if err := k8s.Get(t.Context(), client.ObjectKey{Name: "edit"}, &edit); err != nil {
			t.Fatal(err)
		}
		var all rbacv1.ClusterRoleList
		if err := k8s.List(t.Context(), &all); err != nil {
			t.Fatal(err)
		}
		edit.Rules = nil
		for _, sel := range edit.AggregationRule.ClusterRoleSelectors {
			s, err := metav1.LabelSelectorAsSelector(&sel)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range all.Items {
				if s.Matches(labels.Set(r.Labels)) {
					edit.Rules = append(edit.Rules, r.Rules...)
				}
			}
		}
		if err := k8s.Update(t.Context(), &edit); err != nil {
			t.Fatal(err)
		}
		_ = w
	})
}

// asTenant binds user to the aggregated edit role in the world's namespace
// and returns a client acting as that user.
func (w *world) asTenant(user string) client.Client {
	w.t.Helper()
	aggregateEdit(w.t)
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user + "-edit", Namespace: w.ns},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: user, APIGroup: "rbac.authorization.k8s.io"}},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "edit"}}
	if err := k8s.Create(w.ctx, rb); err != nil {
		w.t.Fatal(err)
	}
	cfg := rest.CopyConfig(restConfig)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

func (w *world) create(c client.Client, obj client.Object) {
	w.t.Helper()
	obj.SetNamespace(w.ns)
	if err := c.Create(w.ctx, obj); err != nil {
		w.t.Fatalf("creating %s as a tenant: %v", obj.GetName(), err)
	}
}

// TestTenancy: two teams share one cluster and one company key, lent by a
// ClusterSpacesAccount; each acts only through the aggregated edit role in
// its own namespace. Every cross-team move is refused (by the API server or
// Stalled with the reason named), Spaces shows no change to the other
// team's space, members or users, and the honest path still works. A third
// namespace, which the account does not select, gets nothing.
func TestTenancy(t *testing.T) {
	a := newWorld(t, spacestest.Options{})
	ops := newWorldIn(t, a) // the platform team's namespace, holding the key
	b, c := newWorldIn(t, a), newWorldIn(t, a)
	alice, bob, carol := a.asTenant("alice"), b.asTenant("bob"), c.asTenant("carol")
	acct := "corp-" + a.ns
	account := &spacesv1alpha1.ClusterSpacesAccount{ObjectMeta: metav1.ObjectMeta{Name: acct}, Spec: spacesv1alpha1.ClusterSpacesAccountSpec{
		SecretRef:         spacesv1alpha1.SecretKeyReference{Namespace: ops.ns, Name: secretName},
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"test.spaces.avayacloud.com/account": acct}},
		EmailDomains:      []string{"corp.example"},
		Allow: spacesv1alpha1.AccountPermissions{CreateSpaces: true, DeleteSpaces: true, Invite: true, ManageUsers: true,
			Licenses: []spacesv1alpha1.License{spacesv1alpha1.LicenseBusiness}},
	}}
	if err := k8s.Create(a.ctx, account); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(a.ctx, account) })
	a.labelNamespace(acct)
	b.labelNamespace(acct)
	ceo := a.fake.AddUser("ceo@corp.example", "Big", "Boss")
	ref := accountRef(acct)

	// Honest path, team A: a space with members and users.
	a.create(alice, &spacesv1alpha1.Space{ObjectMeta: metav1.ObjectMeta{Name: "payments"},
		Spec: spacesv1alpha1.SpaceSpec{Title: "Payments", Description: ptr("team A"), AccountRef: ref, DeletionPolicy: spacesv1alpha1.DeletionPolicyDelete}})
	a.create(alice, &spacesv1alpha1.SpaceInvite{ObjectMeta: metav1.ObjectMeta{Name: "members"}, Spec: spacesv1alpha1.SpaceInviteSpec{
		SpaceRef: &spacesv1alpha1.SpaceReference{Name: "payments"}, Notify: spacesv1alpha1.NotifyEmail,
		Invitees: []spacesv1alpha1.Invitee{{Email: "ceo@corp.example", Role: spacesv1alpha1.RoleAdmin}}}})
	a.create(alice, &spacesv1alpha1.ServiceAccountUserSet{ObjectMeta: metav1.ObjectMeta{Name: "users"}, Spec: spacesv1alpha1.ServiceAccountUserSetSpec{
		AccountRef: ref, DeletionPolicy: spacesv1alpha1.DeletionPolicyDelete,
		Users: []spacesv1alpha1.CompanyUser{{Email: "a-bot@corp.example", FirstName: "Bot", License: spacesv1alpha1.LicenseBusiness}}}})
	victim := a.waitReady("payments").Status.SpaceID
	a.waitInvite("members", spacesv1alpha1.ReasonSynced, nil)
	a.waitUserSet("users", spacesv1alpha1.ReasonSynced, nil)
	before, _ := a.fake.Space(victim)
	proofOfPayments := a.get("payments").Annotations[spacesv1alpha1.AnnotationSpaceIDProof]
	if proofOfPayments == "" {
		t.Fatal("the recorded id of a created space carries no proof")
	}
	bot, _ := a.fake.UserByEmail("a-bot@corp.example")
	unclaimed := a.handMadeSpace("Loose Ends") // nobody's, made before any of B's objects
	unclaimed2 := a.handMadeSpace("Odd Ends")
	time.Sleep(1100 * time.Millisecond) // ids and creation times count whole seconds

	// Team B tries everything against team A.
	bSpace := func(name string, spec spacesv1alpha1.SpaceSpec, annotations map[string]string) {
		spec.AccountRef = ref
		b.create(bob, &spacesv1alpha1.Space{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations}, Spec: spec})
	}
	bSpace("steal", spacesv1alpha1.SpaceSpec{Title: "Mine Now", SpaceID: victim, DeletionPolicy: spacesv1alpha1.DeletionPolicyDelete}, nil)
	b.waitReason("steal", spacesv1alpha1.ReasonSpaceClaimed)
	// Suspended, it makes no call at all; its deletion must still not
	// delete the space.
	bSpace("steal-suspended", spacesv1alpha1.SpaceSpec{Title: "Mine Now", SpaceID: victim, Suspend: true, DeletionPolicy: spacesv1alpha1.DeletionPolicyDelete}, nil)
	b.waitReason("steal-suspended", spacesv1alpha1.ReasonSuspended)
	bSpace("forged-id", spacesv1alpha1.SpaceSpec{Title: "Forged", DeletionPolicy: spacesv1alpha1.DeletionPolicyDelete},
		map[string]string{spacesv1alpha1.AnnotationSpaceID: victim})
	b.waitReason("forged-id", spacesv1alpha1.ReasonSpaceClaimed)
	bSpace("forged-mark", spacesv1alpha1.SpaceSpec{Title: "Loose Ends", DeletionPolicy: spacesv1alpha1.DeletionPolicyDelete},
		map[string]string{spacesv1alpha1.AnnotationCreatePending: time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)})
	if got := b.waitReady("forged-mark").Status.SpaceID; got == unclaimed {
		t.Error("a forged create-pending mark adopted a space made before the object")
	}
	bSpace("forged-id-unclaimed", spacesv1alpha1.SpaceSpec{Title: "Loose Ends", DeletionPolicy: spacesv1alpha1.DeletionPolicyDelete},
		map[string]string{spacesv1alpha1.AnnotationSpaceID: unclaimed})
	b.waitReason("forged-id-unclaimed", spacesv1alpha1.ReasonNotAllowed)
	// A proof is bound to its object: team A's, copied, vouches for nothing.
	bSpace("forged-proof", spacesv1alpha1.SpaceSpec{Title: "Odd Ends", DeletionPolicy: spacesv1alpha1.DeletionPolicyDelete},
		map[string]string{spacesv1alpha1.AnnotationSpaceID: unclaimed2, spacesv1alpha1.AnnotationSpaceIDProof: proofOfPayments})
	b.waitReason("forged-proof", spacesv1alpha1.ReasonNotAllowed)
	b.create(bob, &spacesv1alpha1.SpaceInvite{ObjectMeta: metav1.ObjectMeta{Name: "raw"}, Spec: spacesv1alpha1.SpaceInviteSpec{
		SpaceID: victim, AccountRef: ref, Notify: spacesv1alpha1.NotifyEmail,
		Invitees: []spacesv1alpha1.Invitee{{Email: "bob@corp.example", Role: spacesv1alpha1.RoleAdmin}, {Email: a.key.Subject, Role: spacesv1alpha1.RoleGuest}}}})
	b.waitInvite("raw", spacesv1alpha1.ReasonNotAllowed, nil)
	b.create(bob, &spacesv1alpha1.ServiceAccountUserSet{ObjectMeta: metav1.ObjectMeta{Name: "takeover"}, Spec: spacesv1alpha1.ServiceAccountUserSetSpec{
		AccountRef: ref, DeletionPolicy: spacesv1alpha1.DeletionPolicyDelete,
		Users: []spacesv1alpha1.CompanyUser{{Email: "ceo@corp.example", FirstName: "Renamed", License: spacesv1alpha1.LicenseNone},
			{Email: "a-bot@corp.example", FirstName: "Hijacked"}}}})
	b.eventually("B's user set refused the users it did not create", func() bool {
		set := b.getUserSet("takeover")
		failed := 0
		for _, u := range set.Status.Users {
			if u.State == spacesv1alpha1.UserFailed || u.State == spacesv1alpha1.UserConflict {
				failed++
			}
		}
		return failed == 2
	})
	b.create(bob, &spacesv1alpha1.ServiceAccountUserSet{ObjectMeta: metav1.ObjectMeta{Name: "squatter"}, Spec: spacesv1alpha1.ServiceAccountUserSetSpec{
		AccountRef: ref, Users: []spacesv1alpha1.CompanyUser{{Email: "cfo@evil.example"}, {Email: "vip@corp.example", License: spacesv1alpha1.LicensePower}}}})
	b.waitUserSet("squatter", spacesv1alpha1.ReasonNotAllowed, nil)
	// The API server itself refuses what no tenant may ask for.
	for name, obj := range map[string]client.Object{
		"a credentialsRef into another namespace": &spacesv1alpha1.Space{ObjectMeta: metav1.ObjectMeta{Name: "cross", Namespace: b.ns},
			Spec: spacesv1alpha1.SpaceSpec{Title: "x", AccountRef: ref, CredentialsRef: &spacesv1alpha1.CredentialsReference{Name: secretName}}},
		"an account of its own": &spacesv1alpha1.ClusterSpacesAccount{ObjectMeta: metav1.ObjectMeta{Name: "bobs-" + b.ns}, Spec: account.Spec},
		"a Space in team A's namespace": &spacesv1alpha1.Space{ObjectMeta: metav1.ObjectMeta{Name: "intruder", Namespace: a.ns},
			Spec: spacesv1alpha1.SpaceSpec{Title: "x", AccountRef: ref}},
	} {
		if err := bob.Create(b.ctx, obj); err == nil {
			t.Errorf("the API server accepted %s", name)
		}
	}
	// Status is the operator's memory (which space, which credentials, who
	// was invited, what is out): a tenant cannot write it, so it cannot aim
	// a prune on deletion at team A's space.
	raw := &spacesv1alpha1.SpaceInvite{}
	if err := bob.Get(b.ctx, client.ObjectKey{Namespace: b.ns, Name: "raw"}, raw); err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	raw.Status.SpaceID, raw.Status.Invitees = victim, []spacesv1alpha1.InviteeStatus{{Email: "ceo@corp.example", InvitedAt: &now, State: spacesv1alpha1.InviteeInvited}}
	if err := bob.Status().Update(b.ctx, raw); !apierrors.IsForbidden(err) {
		t.Errorf("team B could write its SpaceInvite's status: %v", err)
	}
	if err := bob.Get(b.ctx, client.ObjectKey{Namespace: ops.ns, Name: secretName}, &corev1.Secret{}); !apierrors.IsForbidden(err) {
		t.Errorf("team B could read the account's key: %v", err)
	}

	// Team C's namespace is not selected: nothing it writes reaches Spaces.
	creates := a.fake.Calls("POST /spaces/invite")
	c.create(carol, &spacesv1alpha1.Space{ObjectMeta: metav1.ObjectMeta{Name: "outside"}, Spec: spacesv1alpha1.SpaceSpec{Title: "Outside", AccountRef: ref}})
	c.create(carol, &spacesv1alpha1.Space{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: spacesv1alpha1.SpaceSpec{Title: "Default"}})
	c.waitReason("outside", spacesv1alpha1.ReasonNotAllowed)
	c.waitReason("default", spacesv1alpha1.ReasonCredentialsNotFound) // the suite's default account does not exist
	if n := a.fake.Calls("POST /spaces/invite") - creates; n != 0 {
		t.Errorf("%d creates from a namespace the account does not select", n)
	}

	// B deletes everything it made, Delete policies included.
	for _, name := range []string{"steal", "steal-suspended", "forged-id", "forged-id-unclaimed", "forged-proof", "forged-mark"} {
		if err := bob.Delete(b.ctx, &spacesv1alpha1.Space{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: b.ns}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, obj := range []client.Object{
		&spacesv1alpha1.SpaceInvite{ObjectMeta: metav1.ObjectMeta{Name: "raw", Namespace: b.ns}},
		&spacesv1alpha1.ServiceAccountUserSet{ObjectMeta: metav1.ObjectMeta{Name: "takeover", Namespace: b.ns}},
	} {
		if err := bob.Delete(b.ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	b.eventually("team B's objects gone", func() bool {
		var spaces spacesv1alpha1.SpaceList
		var sets spacesv1alpha1.ServiceAccountUserSetList
		_ = k8s.List(b.ctx, &spaces, client.InNamespace(b.ns))
		_ = k8s.List(b.ctx, &sets, client.InNamespace(b.ns), client.MatchingFields{"metadata.name": "takeover"})
		return len(spaces.Items) == 0 && !slices.ContainsFunc(sets.Items, func(s spacesv1alpha1.ServiceAccountUserSet) bool { return s.Name == "takeover" })
	})

	// Team A's space, members and users are as they were.
	after, ok := a.fake.Space(victim)
	if !ok || after.Title != before.Title || after.Description != before.Description || len(after.Members) != len(before.Members) {
		t.Fatalf("team A's space changed: before %+v, after %+v", before, after)
	}
	for _, m := range after.Members {
		if want := memberRoleIn(before, m.UserID); want != m.Role {
			t.Errorf("member %s: role %s, was %s", m.UserID, m.Role, want)
		}
	}
	for _, id := range []string{unclaimed, unclaimed2} {
		if _, ok := a.fake.Space(id); !ok {
			t.Error("a forged id deleted a space nobody claims")
		}
	}
	if u, _ := a.fake.UserByEmail("ceo@corp.example"); u.FirstName != ceo.FirstName {
		t.Errorf("team B renamed an existing user: %+v", u)
	}
	if u, ok := a.fake.UserByEmail("a-bot@corp.example"); !ok || u.ID != bot.ID || u.FirstName != "Bot" {
		t.Errorf("team B changed or deleted team A's user: %+v", u)
	}
	for _, email := range []string{"cfo@evil.example", "vip@corp.example"} {
		if _, ok := a.fake.UserByEmail(email); ok {
			t.Errorf("team B created %s", email)
		}
	}
	// And team A still works, even after a crash between recording the id
	// and writing the status (the account does not allow adoption: the
	// proof is what tells the id from a forged one).
	sp := a.get("payments")
	if err := patchStatus(a.ctx, k8s, sp, &sp.Status, func() { sp.Status.SpaceID = "" }); err != nil {
		t.Fatal(err)
	}
	a.edit("payments", func(sp *spacesv1alpha1.Space) { sp.Spec.Title = "Payments (renamed)" })
	if got := a.waitReady("payments").Status.SpaceID; got != victim {
		t.Errorf("after the crash, the Space records space %q, want %s", got, victim)
	}
}

func memberRoleIn(sp spacestest.Space, userID string) string {
	for _, m := range sp.Members {
		if m.UserID == userID {
			return m.Role
		}
	}
	return ""
}
