package storm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
)

// peopleSize is the size of the invitation and user-set storms.
type peopleSize struct{ people, kills int }

func peopleFromEnv() peopleSize {
	s := peopleSize{people: 200, kills: 30}
	for name, dst := range map[string]*int{"STORM_PEOPLE": &s.people, "STORM_PEOPLE_KILLS": &s.kills} {
		if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
			*dst = n
		}
	}
	return s
}

// inviteePrefixes name the people of each invitation storm (each has its
// own, as invitations are counted per person).
var inviteePrefixes = []string{"invitee", "late"}

// inviteeEmails are the company users an invitation storm invites; they
// exist in the fake from the start.
func inviteeEmails(prefix string, sz peopleSize) []string {
	out := make([]string, sz.people)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d@corp.example", prefix, i)
	}
	return out
}

// Invitations go out slowly, one call per SpaceInvite with notify Email and
// one per invitee with notify None, so kills land between the status write
// and the call, during it, and between it and the record of its answer.
func TestStorm_Invitations(t *testing.T) {
	invitationStorm(t, "invites", inviteePrefixes[0], `{"route":"POST /spaces/{id}/invite","latency":300000000}`)
}

// The same, and every answer is lost after Spaces did the work: each
// invitation's fate is learnt from membership alone.
func TestStorm_InvitationsWithDroppedAnswers(t *testing.T) {
	invitationStorm(t, "invites-dropped", inviteePrefixes[1], `{"route":"POST /spaces/{id}/invite","latency":300000000,"dropResponse":true}`)
}

func invitationStorm(t *testing.T, name, prefix, fault string) {
	sz := peopleFromEnv()
	ctx := context.Background()
	ns := "storm-" + name
	prepare(t, ns, fault)

	emails := inviteeEmails(prefix, sz)
	var m strings.Builder
	m.WriteString("apiVersion: spaces.avayacloud.com/v1alpha1\nkind: Space\nmetadata: {name: team}\nspec: {title: Storm invitations, credentialsRef: {name: spaces-credentials}}\n")
	// Four invites with notify Email and two with None, each a share of
	// the people.
	shares := []string{"Email", "Email", "Email", "Email", "None", "None"}
	for k, notify := range shares {
		fmt.Fprintf(&m, "---\napiVersion: spaces.avayacloud.com/v1alpha1\nkind: SpaceInvite\nmetadata: {name: share-%d}\nspec:\n  spaceRef: {name: team}\n  notify: %s\n  invitees:\n", k, notify)
		for i := k; i < len(emails); i += len(shares) {
			fmt.Fprintf(&m, "  - {email: %s}\n", emails[i])
		}
	}
	if _, err := st.Kubectl(ctx, m.String(), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatal(err)
	}
	stormThenSettle(t, fmt.Sprintf("%s: invitations of %d people", name, len(emails)), sz.kills, []string{"--api-timeout", "3s"}, 5*time.Minute, func() (bool, fmt.Stringer) {
		c := countInvitations(t, ns, emails)
		return c.settled(), c
	})
}

type inviteCounts struct{ members, twice, missed, notReady int }

func (c inviteCounts) settled() bool { return c.twice == 0 && c.missed == 0 && c.notReady == 0 }

func (c inviteCounts) String() string {
	return fmt.Sprintf("%d members, %d invited twice or more, %d never invited, %d SpaceInvites not Ready", c.members, c.twice, c.missed, c.notReady)
}

func countInvitations(t *testing.T, ns string, emails []string) inviteCounts {
	t.Helper()
	ctx := context.Background()
	state, err := st.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var c inviteCounts
	idOf := map[string]string{}
	for id, u := range state.Users {
		idOf[strings.ToLower(u.Email)] = id
	}
	var sp spacesv1alpha1.Space
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "team"}, &sp); err != nil {
		t.Fatal(err)
	}
	members := map[string]bool{}
	for _, m := range state.Spaces[sp.Status.SpaceID].Members {
		members[m.UserID] = true
	}
	for _, e := range emails {
		// Counted per person: by user id, since each has an account.
		switch n := state.Invitations[idOf[e]]; {
		case n > 1:
			c.twice++
		case n == 0:
			c.missed++
		}
		if members[idOf[e]] {
			c.members++
		}
	}
	var list spacesv1alpha1.SpaceInviteList
	if err := k8s.List(ctx, &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, inv := range list.Items {
		if !readyAtGeneration(inv.Status.Conditions, inv.Generation) {
			c.notReady++
		}
	}
	return c
}

// A set of 200 new users is created 10 a call, slowly, while the manager is
// killed: every user must be created once, with the password that sits in
// the set's Secret, and be recorded as the set's (deletable).
func TestStorm_UserSet(t *testing.T) {
	sz := peopleFromEnv()
	ctx := context.Background()
	ns := "storm-users"
	prepare(t, ns, `{"route":"POST /users/bulkupdateaccounts","latency":300000000}`)

	emails := make([]string, sz.people)
	var m strings.Builder
	m.WriteString("apiVersion: spaces.avayacloud.com/v1alpha1\nkind: ServiceAccountUserSet\nmetadata: {name: staff}\nspec:\n  credentialsRef: {name: spaces-credentials}\n  users:\n")
	for i := range emails {
		emails[i] = fmt.Sprintf("staff-%03d@corp.example", i)
		fmt.Fprintf(&m, "  - {email: %s, firstName: Staff, lastName: N%03d}\n", emails[i], i)
	}
	if _, err := st.Kubectl(ctx, m.String(), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatal(err)
	}
	stormThenSettle(t, fmt.Sprintf("user set of %d", len(emails)), sz.kills, []string{"--api-timeout", "3s"}, 5*time.Minute, func() (bool, fmt.Stringer) {
		c := countUsers(t, ns, emails)
		return c.settled(len(emails)), c
	})
}

type userCounts struct {
	exist, createdTwice, passwordLost, notOwned int
	ready                                       bool
}

func (c userCounts) settled(want int) bool {
	return c.exist == want && c.createdTwice == 0 && c.passwordLost == 0 && c.notOwned == 0 && c.ready
}

func (c userCounts) String() string {
	return fmt.Sprintf("%d users exist, %d created more than once, %d without their password in the Secret, %d not recorded as the set's, set Ready: %v",
		c.exist, c.createdTwice, c.passwordLost, c.notOwned, c.ready)
}

func countUsers(t *testing.T, ns string, emails []string) userCounts {
	t.Helper()
	ctx := context.Background()
	state, err := st.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hashOf := map[string]string{}
	for _, u := range state.Users {
		hashOf[strings.ToLower(u.Email)] = u.PasswordSHA256
	}
	var set spacesv1alpha1.ServiceAccountUserSet
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "staff"}, &set); err != nil {
		t.Fatal(err)
	}
	var secret corev1.Secret
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "staff-passwords"}, &secret); client.IgnoreNotFound(err) != nil {
		t.Fatal(err)
	}
	owned := map[string]bool{}
	for _, u := range set.Status.Users {
		owned[strings.ToLower(u.Email)] = u.CreatedBySet
	}
	c := userCounts{ready: readyAtGeneration(set.Status.Conditions, set.Generation)}
	for _, e := range emails {
		hash, exists := hashOf[e]
		if !exists {
			continue
		}
		c.exist++
		if state.CreateAttempts[e] > 1 {
			c.createdTwice++
		}
		// The key of a plain email: '@' spelled _at_.
		sum := sha256.Sum256(secret.Data[strings.ReplaceAll(e, "@", "_at_")])
		if hex.EncodeToString(sum[:]) != hash {
			c.passwordLost++
		}
		if !owned[e] {
			c.notOwned++
		}
	}
	return c
}

func readyAtGeneration(conds []metav1.Condition, generation int64) bool {
	c := meta.FindStatusCondition(conds, spacesv1alpha1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == generation
}
