package spaces_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/avayacloud/spaces-operator/internal/spaces"
	"github.com/avayacloud/spaces-operator/internal/spaces/spacestest"
)

// dialects are every switch alone, and all at once.
func dialects() map[string]spacestest.Dialect {
	out := map[string]spacestest.Dialect{"all": spacestest.AllDialect()}
	for _, name := range spacestest.DialectNames() {
		out[name] = spacestest.Dialect{name: true}
	}
	return out
}

// TestClient_EveryDialect: whichever way the unknowns of the wire format
// turn out, the client reads the same state and its writes land.
func TestClient_EveryDialect(t *testing.T) {
	for name, d := range dialects() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnvWith(t, spacestest.Options{Dialect: d}, spaces.ClientOptions{})
			ctx := context.Background()

			me, err := e.client.Me(ctx)
			if err != nil || me.ID == "" {
				t.Fatalf("Me = %+v, %v", me, err)
			}
			// A token Spaces stopped taking is replaced, whatever the status.
			e.fake.ForgetTokens()
			if _, err := e.client.Me(ctx); err != nil {
				t.Fatalf("after the fake forgot the token: %v", err)
			}
			id := e.createSpace(t, "Dialect")
			if id == "" {
				t.Fatal("the create's answer named no space")
			}
			on := true
			restrict := []string{spaces.RestrictDenyGuestHistory}
			retention := &spaces.MsgRetention{RetentionType: spaces.RetentionTypeDeleteAfterDays, RetentionLength: 30}
			updated, err := e.client.UpdateSpace(ctx, id, spaces.SpaceUpdate{Settings: &spaces.SpaceSettingsUpdate{MemberOnly: &on}, Restrict: &restrict, MsgRetention: retention})
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.client.GetSpace(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			for what, sp := range map[string]*spaces.Space{"update answer": updated, "read": got} {
				if sp.ID != id || !deref(sp.Settings.MemberOnly) || len(sp.Restrict) != 1 || sp.MsgRetention == nil || sp.MsgRetention.RetentionLength != 30 {
					t.Errorf("%s: %+v", what, sp)
				}
			}

			// 45 members: every page is read, however the server pages.
			var ids []string
			e.fake.Do(func(st *spacestest.State) {
				for i := range 44 {
					u := &spacestest.User{ID: fmt.Sprintf("%024x", i+1), Email: fmt.Sprintf("m%d@corp.example", i)}
					st.Users[u.ID] = u
					st.Spaces[id].Members = append(st.Spaces[id].Members, spacestest.Member{UserID: u.ID, Role: "member"})
					ids = append(ids, u.ID)
				}
			})
			e.fake.ResetCounters()
			members, err := e.client.SpaceMembers(ctx, id)
			switch {
			case d[spacestest.DialectMembersRefused]:
				if spaces.KindOf(err) != spaces.KindForbidden {
					t.Fatalf("refused members route: %v", err)
				}
			case err != nil:
				t.Fatal(err)
			case len(members) != 45:
				t.Fatalf("read %d members of 45", len(members))
			case e.fake.Calls("GET /spaces/{id}/members") > 3:
				t.Fatalf("%d calls for 45 members", e.fake.Calls("GET /spaces/{id}/members"))
			}

			// Invitations by user id, in the documented spelling.
			if _, err := e.client.Invite(ctx, id, spaces.InviteRequest{Invitees: []spaces.Invitee{{InviteeType: spaces.InviteeTypeUserID, Invitee: ids[0], Role: "member"}}}); err != nil {
				t.Fatal(err)
			}
			if !d[spacestest.DialectMembersRefused] {
				if _, err := e.client.SetAttendee(ctx, id, ids[1], "admin"); err != nil {
					t.Fatal(err)
				}
				if _, err := e.client.RemoveAttendee(ctx, id, ids[2]); err != nil {
					t.Fatal(err)
				}
			}

			// Users: results read, or read back when the answer says nothing.
			e.fake.ResetCounters()
			results, err := e.client.BulkUpdateAccounts(ctx, []spaces.BulkOperation{
				{Action: spaces.BulkActionCreate, Email: "new@corp.example", Password: "pa55word", Firstname: "New"},
				{Action: spaces.BulkActionDelete, Email: "m3@corp.example"},
			})
			if err != nil || len(results) != 2 || !results[0].Succeeded() || !results[1].Succeeded() {
				t.Fatalf("bulk = %+v, %v", results, err)
			}
			if n := e.fake.Calls("POST /users/bulkupdateaccounts"); n != 1 {
				t.Fatalf("the batch was sent %d times", n)
			}
			if u, ok := e.fake.UserByEmail("new@corp.example"); !ok || (results[0].User != nil && results[0].User.ID != u.ID) {
				t.Fatalf("created user %+v, result %+v", u, results[0].User)
			}
			found, err := e.client.ColleaguesBulk(ctx, []string{"new@corp.example"})
			if err != nil || len(found) != 1 || found[0].ID == "" {
				t.Fatalf("colleaguesbulk = %+v, %v", found, err)
			}

			// Errors keep the server's words wherever it put them.
			_, err = e.client.GetSpace(ctx, "5f1051f0f3ed772f915e19ed")
			if se := kindOf(t, err); se.Kind != spaces.KindNotFound || se.Message != "space not found" {
				t.Fatalf("404: %+v", se)
			}
		})
	}
}

// TestClient_ForbiddenRemintsOncePerToken: a 403 is tried once more with a
// fresh token (Spaces may refuse an expired token so), and a 403 that is
// really about permissions costs one mint, not one per call.
func TestClient_ForbiddenRemintsOncePerToken(t *testing.T) {
	e := newEnvWith(t, spacestest.Options{Dialect: spacestest.Dialect{spacestest.DialectErrorNested: true}}, spaces.ClientOptions{}, "spaces.create")
	ctx := context.Background()
	id := e.createSpace(t, "Forbidden")
	for range 5 {
		_, err := e.client.GetSpace(ctx, id)
		se := kindOf(t, err)
		if se.Kind != spaces.KindForbidden || se.ScopeMissing {
			t.Fatalf("%+v", se)
		}
		if msg := se.Error(); !strings.Contains(msg, "spaces.settings.read") || !strings.Contains(msg, "not one of its admins") {
			t.Fatalf("a 403 that says not why must name both causes: %s", msg)
		}
	}
	if n := e.fake.Mints(e.key.KeyID); n != 2 {
		t.Fatalf("%d mints for five refused calls, want 2 (the first token and one fresh one)", n)
	}
}

func deref(b *bool) bool { return b != nil && *b }
