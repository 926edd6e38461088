package controller

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/export"
	"github.com/avayacloud/spaces-operator/internal/spaces"
	"github.com/avayacloud/spaces-operator/internal/spaces/spacestest"
)

// TestExport_AdoptsThirtySpacesWithoutAWrite: what spacesctl export writes
// for 30 existing spaces (settings of every kind, members), applied with an
// account that allows adoption, makes 30 Ready Spaces and their
// SpaceInvites, and Spaces sees not one write.
func TestExport_AdoptsThirtySpacesWithoutAWrite(t *testing.T) {
	w := newWorld(t, spacestest.Options{})
	alice := w.fake.AddUser("alice@corp.example", "Alice", "A")
	c := w.client()
	for i := range 30 {
		id := w.handMadeSpace(fmt.Sprintf("Team %02d", i))
		u := spaces.SpaceUpdate{}
		if i%3 == 0 {
			u.Settings = &spaces.SpaceSettingsUpdate{MemberOnly: ptr(true)}
		}
		if i%4 == 0 {
			u.Restrict = &[]string{spaces.RestrictDenyGuestHistory}
		}
		if i%5 == 0 {
			u.MsgRetention = &spaces.MsgRetention{RetentionType: spaces.RetentionTypeDeleteAfterDays, RetentionLength: 30 + i}
		}
		if i%2 == 0 {
			u.Description = ptr(fmt.Sprintf("team %d's space", i))
		}
		if _, err := c.UpdateSpace(w.ctx, id, u); err != nil {
			t.Fatal(err)
		}
		if i%3 == 1 {
			if _, err := c.SetAttendee(w.ctx, id, alice.ID, "member"); err != nil {
				t.Fatal(err)
			}
		}
	}
	acct := "export-" + w.ns
	w.newAccount(acct, spacesv1alpha1.AccountPermissions{AdoptSpaces: true, Invite: true}, "corp.example")

	res, err := export.Export(w.ctx, c, export.Options{Namespace: w.ns, Members: true, AccountRef: acct})
	if err != nil {
		t.Fatal(err)
	}
	if res.Spaces != 30 || len(res.Skipped) != 0 {
		t.Fatalf("exported %d, skipped %q", res.Spaces, res.Skipped)
	}
	if bytes.Contains(res.YAML, []byte("PRIVATE KEY")) || bytes.Contains(res.YAML, []byte("kind: Secret")) {
		t.Fatal("the export holds a secret")
	}
	w.fake.ResetCounters()
	var spaceNames, inviteNames []string
	for _, doc := range strings.Split(string(res.YAML), "---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var u unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		if err := k8s.Create(w.ctx, &u); err != nil {
			t.Fatalf("applying\n%s: %v", doc, err)
		}
		if u.GetKind() == "Space" {
			spaceNames = append(spaceNames, u.GetName())
		} else {
			inviteNames = append(inviteNames, u.GetName())
		}
	}
	if len(spaceNames) != 30 || len(inviteNames) != 10 {
		t.Fatalf("%d Spaces and %d SpaceInvites", len(spaceNames), len(inviteNames))
	}
	for _, n := range spaceNames {
		w.waitReady(n)
	}
	for _, n := range inviteNames {
		w.waitInvite(n, spacesv1alpha1.ReasonSynced, allJoined)
	}
	if n := w.fake.Writes(); n != 0 {
		t.Fatalf("adopting the export wrote %d times to Spaces: %v", n, w.fake.AllCalls())
	}
}
