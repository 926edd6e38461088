package controller

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/spaces"
	"github.com/avayacloud/spaces-operator/internal/spaces/spacestest"
)

// newAccount creates a ClusterSpacesAccount lending the world's key to
// namespaces labelled account=name; the world's namespace is labelled.
func (w *world) newAccount(name string, allow spacesv1alpha1.AccountPermissions, domains ...string) {
	w.t.Helper()
	a := &spacesv1alpha1.ClusterSpacesAccount{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spacesv1alpha1.ClusterSpacesAccountSpec{
		SecretRef:         spacesv1alpha1.SecretKeyReference{Namespace: w.ns, Name: secretName},
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"test.spaces.avayacloud.com/account": name}},
		EmailDomains:      domains, Allow: allow,
	}}
	if err := k8s.Create(w.ctx, a); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { _ = k8s.Delete(w.ctx, a) })
	w.labelNamespace(name)
}

func (w *world) labelNamespace(account string) {
	w.t.Helper()
	var ns corev1.Namespace
	if err := k8s.Get(w.ctx, client.ObjectKey{Name: w.ns}, &ns); err != nil {
		w.t.Fatal(err)
	}
	patch := client.MergeFrom(ns.DeepCopy())
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels["test.spaces.avayacloud.com/account"] = account
	if err := k8s.Patch(w.ctx, &ns, patch); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) stalledMessage(name, reason string) string {
	w.t.Helper()
	return condition(w.waitReason(name, reason), spacesv1alpha1.ConditionStalled).Message
}

func accountRef(name string) *spacesv1alpha1.AccountReference {
	return &spacesv1alpha1.AccountReference{Name: name}
}

// TestAccount_LendsItsKeyWithinLimits: an account works for the namespaces
// it selects and reports itself Ready; what it does not allow is refused
// before any call, naming the account and the rule; a namespace it does
// not select is refused until it is labelled.
func TestAccount_LendsItsKeyWithinLimits(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	acct := "corp-" + w.ns
	w.newAccount(acct, spacesv1alpha1.AccountPermissions{CreateSpaces: true, Invite: true}, "corp.example")

	w.newSpace("ok", spacesv1alpha1.SpaceSpec{Title: "Through The Account", AccountRef: accountRef(acct)})
	id := w.waitReady("ok").Status.SpaceID
	w.eventually("the account Ready with its subject and users", func() bool {
		var a spacesv1alpha1.ClusterSpacesAccount
		_ = k8s.Get(w.ctx, client.ObjectKey{Name: acct}, &a)
		c := readyCondition(a.Status.Conditions)
		return c != nil && c.Status == metav1.ConditionTrue && a.Status.Subject == w.key.Subject && a.Status.Users >= 1
	})
	w.eventually("the account's Secret in use", func() bool {
		var s corev1.Secret
		_ = k8s.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: secretName}, &s)
		return len(s.Finalizers) == 1
	})

	byHand, other := w.handMadeSpace("By Hand"), w.handMadeSpace("Another Team's")
	creates := w.fake.Calls("POST /spaces/invite")
	cases := []struct {
		name string
		spec spacesv1alpha1.SpaceSpec
		rule string
	}{
		{"owner", spacesv1alpha1.SpaceSpec{Title: "Acting", Owner: "alice@corp.example"}, "spec.allow.actAs"},
		{"adopt", spacesv1alpha1.SpaceSpec{Title: "Adopting", SpaceID: byHand}, "spec.allow.adoptSpaces"},
	}
	for _, c := range cases {
		c.spec.AccountRef = accountRef(acct)
		w.newSpace(c.name, c.spec)
		if msg := w.stalledMessage(c.name, spacesv1alpha1.ReasonNotAllowed); !strings.Contains(msg, acct) || !strings.Contains(msg, c.rule) {
			t.Errorf("%s: message %q does not name the account and %s", c.name, msg, c.rule)
		}
	}
	w.newInvite("outsider", spacesv1alpha1.SpaceInviteSpec{SpaceRef: &spacesv1alpha1.SpaceReference{Name: "ok"},
		Invitees: []spacesv1alpha1.Invitee{{Email: "bob@corp.example"}, {Email: "mallory@evil.example"}}})
	w.waitInvite("outsider", spacesv1alpha1.ReasonNotAllowed, func(inv *spacesv1alpha1.SpaceInvite) bool {
		return strings.Contains(readyCondition(inv.Status.Conditions).Message, "spec.invitees[1].email")
	})
	w.newInvite("raw", spacesv1alpha1.SpaceInviteSpec{SpaceID: other, AccountRef: accountRef(acct), Invitees: []spacesv1alpha1.Invitee{{Email: "bob@corp.example", Role: spacesv1alpha1.RoleAdmin}}})
	w.waitInvite("raw", spacesv1alpha1.ReasonNotAllowed, nil)
	w.newUserSet("users", spacesv1alpha1.ServiceAccountUserSetSpec{AccountRef: accountRef(acct), Users: []spacesv1alpha1.CompanyUser{{Email: "new@corp.example"}}})
	w.waitUserSet("users", spacesv1alpha1.ReasonNotAllowed, nil)
	if n := w.fake.Calls("POST /spaces/invite") - creates; n != 0 {
		t.Errorf("%d creates for refused objects", n)
	}
	if got, _ := w.fake.Space(other); len(got.Members) != 1 {
		t.Errorf("the other team's space gained members: %+v", got.Members)
	}
	if _, ok := w.fake.UserByEmail("new@corp.example"); ok {
		t.Error("a user was created without allow.manageUsers")
	}

	// Deletion under Delete without allow.deleteSpaces leaves the space.
	w.edit("ok", func(sp *spacesv1alpha1.Space) { sp.Spec.DeletionPolicy = spacesv1alpha1.DeletionPolicyDelete })
	w.waitReady("ok")
	w.deleteAndWait(w.get("ok"))
	if _, ok := w.fake.Space(id); !ok {
		t.Fatal("the space was deleted without allow.deleteSpaces")
	}

	// A namespace the account does not select, until it is labelled.
	there := newWorldIn(t, w)
	there.newSpace("elsewhere", spacesv1alpha1.SpaceSpec{Title: "Elsewhere", AccountRef: accountRef(acct)})
	if msg := there.stalledMessage("elsewhere", spacesv1alpha1.ReasonNotAllowed); !strings.Contains(msg, "namespaceSelector") {
		t.Errorf("message %q does not name the selector", msg)
	}
	there.labelNamespace(acct)
	there.waitReady("elsewhere")
}

// TestAccount_UserSetsTouchOnlyTheirOwnUsers: with manageUsers, a set
// creates users in the account's domains with the licenses it allows, and
// leaves users it did not create alone.
func TestAccount_UserSetsTouchOnlyTheirOwnUsers(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	acct := "users-" + w.ns
	w.newAccount(acct, spacesv1alpha1.AccountPermissions{ManageUsers: true, Licenses: []spacesv1alpha1.License{spacesv1alpha1.LicenseBusiness}}, "corp.example")
	w.fake.AddUser("ceo@corp.example", "Big", "Boss")

	w.newUserSet("power", spacesv1alpha1.ServiceAccountUserSetSpec{AccountRef: accountRef(acct),
		Users: []spacesv1alpha1.CompanyUser{{Email: "a@corp.example", License: spacesv1alpha1.LicensePower}}})
	set := w.waitUserSet("power", spacesv1alpha1.ReasonNotAllowed, nil)
	if msg := readyCondition(set.Status.Conditions).Message; !strings.Contains(msg, "spec.allow.licenses") {
		t.Errorf("message %q", msg)
	}

	w.newUserSet("team", spacesv1alpha1.ServiceAccountUserSetSpec{AccountRef: accountRef(acct), Users: []spacesv1alpha1.CompanyUser{
		{Email: "new@corp.example", FirstName: "New", License: spacesv1alpha1.LicenseBusiness},
		{Email: "ceo@corp.example", FirstName: "Renamed", License: spacesv1alpha1.LicenseNone},
	}})
	w.eventually("the new user created and the existing one refused", func() bool {
		set := w.getUserSet("team")
		states := map[string]spacesv1alpha1.UserState{}
		for _, u := range set.Status.Users {
			states[u.Email] = u.State
		}
		return states["new@corp.example"] == spacesv1alpha1.UserCreated && states["ceo@corp.example"] == spacesv1alpha1.UserFailed
	})
	if ceo, _ := w.fake.UserByEmail("ceo@corp.example"); ceo.FirstName != "Big" {
		t.Fatalf("a user the set did not create was changed: %+v", ceo)
	}
}

// handMadeSpace is a space made outside the operator, with the world's key.
func (w *world) handMadeSpace(title string) string {
	w.t.Helper()
	resp, err := w.client().CreateSpace(w.ctx, spaces.CreateSpaceRequest{Topic: spaces.Topic{Title: title}}, "")
	if err != nil {
		w.t.Fatal(err)
	}
	return resp.Data[0].TopicID
}
