package spaces_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/avayacloud/spaces-operator/internal/spaces"
	"github.com/avayacloud/spaces-operator/internal/spaces/spacestest"
)

// env is a fake Spaces with one service app and a client of it.
type env struct {
	fake    *spacestest.Server
	key     *spacestest.KeyFile
	client  *spaces.Client
	metrics *spaces.Metrics
	reg     *prometheus.Registry
}

func noSleep(context.Context, time.Duration) error { return nil }

func newEnv(t *testing.T, opts spaces.ClientOptions, scopes ...string) *env {
	t.Helper()
	return newEnvWith(t, spacestest.Options{}, opts, scopes...)
}

// newEnvWith is newEnv with a fake of the options given (a dialect).
func newEnvWith(t *testing.T, fakeOpts spacestest.Options, opts spaces.ClientOptions, scopes ...string) *env {
	t.Helper()
	fake := spacestest.NewServer(t, fakeOpts)
	key, err := fake.AddServiceApp(scopes...)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{fake: fake, key: key, reg: prometheus.NewRegistry()}
	e.metrics = spaces.NewMetrics(e.reg)
	if opts.Metrics == nil {
		opts.Metrics = e.metrics
	}
	if opts.Sleep == nil {
		opts.Sleep = noSleep
	}
	if opts.Limiter == nil {
		opts.Limiter = spaces.NewLimiter(1000, 100, 0, nil) // the defaults would make setup slow
	}
	e.client = e.newClient(t, key, opts)
	return e
}

func (e *env) newClient(t *testing.T, key *spacestest.KeyFile, opts spaces.ClientOptions) *spaces.Client {
	t.Helper()
	sk, err := spaces.ParseServiceKey(key.JSON)
	if err != nil {
		t.Fatal(err)
	}
	c, err := spaces.NewClient(e.fake.URL, spaces.NewTokenSource(sk, spaces.TokenOptions{OnMint: e.metrics.JWTMinted}), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) createSpace(t *testing.T, title string) string {
	t.Helper()
	resp, err := e.client.CreateSpace(context.Background(), spaces.CreateSpaceRequest{Topic: spaces.Topic{Title: title}}, "")
	if err != nil {
		t.Fatal(err)
	}
	return resp.Data[0].TopicID
}

func kindOf(t *testing.T, err error) *spaces.Error {
	t.Helper()
	var e *spaces.Error
	if !errors.As(err, &e) {
		t.Fatalf("want a *spaces.Error, got %v", err)
	}
	return e
}

func TestClient_SpaceLifecycle(t *testing.T) {
	e := newEnv(t, spaces.ClientOptions{})
	ctx := context.Background()
	alice := e.fake.AddUser("alice@corp.example", "Alice", "Smith")

	me, err := e.client.Me(ctx)
	if err != nil || me.Username != e.key.Subject {
		t.Fatalf("Me = %+v, %v; want the service account %s", me, err, e.key.Subject)
	}

	created, err := e.client.CreateSpace(ctx, spaces.CreateSpaceRequest{
		Topic:    spaces.Topic{Title: "Payments", Description: "team"},
		Invitees: []spaces.Invitee{{InviteeType: spaces.InviteeTypeEmail, Invitee: "alice@corp.example", Role: "admin"}},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	id := created.Data[0].TopicID
	sp, err := e.client.GetSpace(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Title != "Payments" || sp.Description != "team" || len(sp.Members) != 2 {
		t.Fatalf("GetSpace = %+v", sp)
	}

	yes, days := true, []string{spaces.RestrictDenyGuestHistory}
	updated, err := e.client.UpdateSpace(ctx, id, spaces.SpaceUpdate{
		Settings:     &spaces.SpaceSettingsUpdate{MemberOnly: &yes, PasswordRequired: &spaces.PasswordRequired{AllGuests: &yes}},
		Restrict:     &days,
		MsgRetention: &spaces.MsgRetention{RetentionType: spaces.RetentionTypeDeleteAfterDays, RetentionLength: 30},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !*updated.Settings.MemberOnly || !*updated.Settings.PasswordRequired.AllGuests || updated.MsgRetention.RetentionLength != 30 || updated.Restrict[0] != spaces.RestrictDenyGuestHistory {
		t.Fatalf("UpdateSpace = %+v", updated)
	}

	members, err := e.client.SpaceMembers(ctx, id)
	if err != nil || len(members) != 2 {
		t.Fatalf("SpaceMembers = %v, %v", members, err)
	}
	if a, err := e.client.SetAttendee(ctx, id, alice.ID, "member"); err != nil || a.Role != "member" {
		t.Fatalf("SetAttendee = %+v, %v", a, err)
	}
	if _, err := e.client.RemoveAttendee(ctx, id, alice.ID); err != nil {
		t.Fatal(err)
	}
	inv, err := e.client.Invite(ctx, id, spaces.InviteRequest{InformChannel: spaces.InformChannelClient,
		Invitees: []spaces.Invitee{{InviteeType: spaces.InviteeTypeEmail, Invitee: "newcomer@corp.example", Role: "guest"}}})
	if err != nil || inv.InviteContent == nil || !strings.Contains(inv.InviteContent.Text, "/join?inviteInfo=") {
		t.Fatalf("Invite = %+v, %v", inv, err)
	}
	if got := e.fake.Invitations("newcomer@corp.example"); got != 1 {
		t.Fatalf("the fake counted %d invitations", got)
	}

	mine, err := e.client.MySpaces(ctx, spaces.MySpacesQuery{Search: "^Payments$"})
	if err != nil || len(mine) != 1 || mine[0].ID != id {
		t.Fatalf("MySpaces = %v, %v", mine, err)
	}
	if err := e.client.DeleteSpace(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.GetSpace(ctx, id); !spaces.IsNotFound(err) {
		t.Fatalf("GetSpace after delete: %v, want not found", err)
	}
	if err := e.client.DeleteSpace(ctx, id); !spaces.IsNotFound(err) {
		t.Fatalf("second delete: %v, want not found", err)
	}
}

func TestClient_MessagesPostsTasksDirect(t *testing.T) {
	e := newEnv(t, spaces.ClientOptions{})
	ctx := context.Background()
	bob := e.fake.AddUser("bob@corp.example", "Bob", "Jones")
	id := e.createSpace(t, "Chat")

	// Chats come back as {"data":[message]}, posts and tasks bare: both decode.
	chat, err := e.client.SendChat(ctx, id, spaces.ChatRequest{Content: spaces.MessageContent{BodyText: "hello"}})
	if err != nil || chat.ID == "" || chat.Content.BodyText != "hello" {
		t.Fatalf("SendChat = %+v, %v", chat, err)
	}
	post, err := e.client.CreatePost(ctx, id, spaces.PostRequest{Content: spaces.MessageContent{BodyText: "A post", Description: "details"}})
	if err != nil || post.Category != "idea" {
		t.Fatalf("CreatePost = %+v, %v", post, err)
	}
	task, err := e.client.CreateTask(ctx, id, spaces.TaskRequest{Content: spaces.MessageContent{BodyText: "A task"}, Assignees: []string{bob.ID}, DueDate: "2030-01-31T17:00:00.000Z"})
	if err != nil || task.Content.Status != "pending" || len(task.Content.Assignees) != 1 {
		t.Fatalf("CreateTask = %+v, %v", task, err)
	}
	upd, err := e.client.UpdateMessage(ctx, spaces.MessageUpdate{ID: task.ID, Content: spaces.MessageContent{BodyText: "A task", Status: "completed"}})
	if err != nil || upd.Content.Status != "completed" {
		t.Fatalf("UpdateMessage = %+v, %v", upd, err)
	}
	for i := range 60 {
		if _, err := e.client.SendChat(ctx, id, spaces.ChatRequest{Content: spaces.MessageContent{BodyText: fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := e.client.MessagesByRef(ctx, id, 55)
	if err != nil || len(msgs) != 55 || msgs[0].Content.BodyText != "59" {
		t.Fatalf("MessagesByRef = %d messages (first %+v), %v", len(msgs), msgs[0], err)
	}
	if posts, err := e.client.Posts(ctx, id); err != nil || len(posts) != 1 {
		t.Fatalf("Posts = %v, %v", posts, err)
	}
	if tasks, err := e.client.Tasks(ctx, id); err != nil || len(tasks) != 1 {
		t.Fatalf("Tasks = %v, %v", tasks, err)
	}
	d1, err := e.client.DirectSpace(ctx, bob.ID)
	if err != nil || d1.Type != "direct" {
		t.Fatalf("DirectSpace = %+v, %v", d1, err)
	}
	if d2, _ := e.client.DirectSpace(ctx, bob.ID); d2.ID != d1.ID {
		t.Fatal("DirectSpace is not idempotent")
	}
}

func TestClient_Users(t *testing.T) {
	e := newEnv(t, spaces.ClientOptions{})
	ctx := context.Background()
	var emails []string
	for i := range 120 {
		u := e.fake.AddUser(fmt.Sprintf("user%03d@corp.example", i), "User", fmt.Sprint(i))
		emails = append(emails, u.Email)
	}
	emails = append(emails, "nobody@corp.example")
	found, err := e.client.ColleaguesBulk(ctx, emails)
	if err != nil || len(found) != 120 {
		t.Fatalf("ColleaguesBulk found %d, %v", len(found), err)
	}
	if n := e.fake.Calls("POST /users/me/colleaguesbulk"); n != 3 {
		t.Errorf("121 emails took %d calls, want 3 (50 a call)", n)
	}
	if found, err := e.client.Colleagues(ctx, "^user00"); err != nil || len(found) != 10 {
		t.Fatalf("Colleagues found %d, %v", len(found), err)
	}

	license := spaces.LicenseTypePower
	var ops []spaces.BulkOperation
	for i := range 25 {
		ops = append(ops, spaces.BulkOperation{Action: spaces.BulkActionCreate, Email: fmt.Sprintf("new%02d@corp.example", i), Password: "correct horse battery", Firstname: "New", LicenseType: &license})
	}
	ops[7].Email = "outsider@elsewhere.example"
	ops[13].Firstname = "Bad!"
	results, err := e.client.BulkUpdateAccounts(ctx, ops)
	if err != nil || len(results) != 25 {
		t.Fatalf("BulkUpdateAccounts = %d results, %v", len(results), err)
	}
	if n := e.fake.Calls("POST /users/bulkupdateaccounts"); n != 3 {
		t.Errorf("25 operations took %d calls, want 3", n)
	}
	for i, r := range results {
		wantOK := i != 7 && i != 13
		if r.Succeeded() != wantOK || r.Email != ops[i].Email {
			t.Errorf("result %d = %+v, want success %v", i, r, wantOK)
		}
		if !wantOK && (r.Error == nil || r.Error.Message == "") {
			t.Errorf("result %d has no error message", i)
		}
	}
	if u, ok := e.fake.UserByEmail("new00@corp.example"); !ok || u.LicenseType != license || !u.HasPassword {
		t.Errorf("the fake holds %+v", u)
	}
}

func TestClient_PasswordNeverPrinted(t *testing.T) {
	op := spaces.BulkOperation{Action: "create", Email: "a@corp.example", Password: "hunter2-secret"}
	for _, s := range []string{fmt.Sprint(op), fmt.Sprintf("%v %+v %#v %s", op, op, op, op.Password)} {
		if strings.Contains(s, "hunter2-secret") {
			t.Fatalf("password printed: %s", s)
		}
	}
}

func TestClient_ErrorsAreTyped(t *testing.T) {
	ctx := context.Background()
	t.Run("missing scope names it", func(t *testing.T) {
		e := newEnv(t, spaces.ClientOptions{}, "spaces.settings.read")
		_, err := e.client.CreateSpace(ctx, spaces.CreateSpaceRequest{Topic: spaces.Topic{Title: "x"}}, "")
		se := kindOf(t, err)
		if se.Kind != spaces.KindForbidden || !se.ScopeMissing || se.Endpoint.Scope != "spaces.create" || !strings.Contains(err.Error(), "spaces.create") {
			t.Fatalf("%+v: %v", se, err)
		}
	})
	t.Run("act-as needs its own scope", func(t *testing.T) {
		e := newEnv(t, spaces.ClientOptions{}, "spaces.create")
		e.fake.AddUser("alice@corp.example", "A", "S")
		_, err := e.client.CreateSpace(ctx, spaces.CreateSpaceRequest{Topic: spaces.Topic{Title: "x"}}, "alice@corp.example")
		if se := kindOf(t, err); se.Kind != spaces.KindForbidden || se.Endpoint.Scope != "spaces.create.actas" || !strings.Contains(err.Error(), "spaces.create.actas") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("not found", func(t *testing.T) {
		e := newEnv(t, spaces.ClientOptions{})
		_, err := e.client.GetSpace(ctx, "5f1051f0f3ed772f915e19ed")
		if !spaces.IsNotFound(err) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("invalid input carries the server's message", func(t *testing.T) {
		e := newEnv(t, spaces.ClientOptions{})
		id := e.createSpace(t, "x")
		empty := ""
		_, err := e.client.UpdateSpace(ctx, id, spaces.SpaceUpdate{Title: &empty})
		if se := kindOf(t, err); se.Kind != spaces.KindInvalid || se.Message != "title must not be empty" {
			t.Fatalf("%+v", se)
		}
	})
	t.Run("unauthorized after one fresh token, with the causes", func(t *testing.T) {
		e := newEnv(t, spaces.ClientOptions{})
		if _, err := e.client.Me(ctx); err != nil {
			t.Fatal(err)
		}
		e.fake.RevokeKey(e.key.KeyID)
		_, err := e.client.Me(ctx)
		se := kindOf(t, err)
		if se.Kind != spaces.KindUnauthorized || !strings.Contains(err.Error(), "deleted or regenerated") || !strings.Contains(err.Error(), "disabled") || !strings.Contains(err.Error(), "clock") {
			t.Fatalf("%v", err)
		}
		if n := e.fake.Calls("GET /users/me"); n != 3 {
			t.Errorf("calls = %d, want 3 (the first success, then the 401 and one retry with a fresh token)", n)
		}
		want := "# HELP spaces_jwt_mints_total Service-app JWTs signed.\n# TYPE spaces_jwt_mints_total counter\nspaces_jwt_mints_total 2\n"
		if err := testutil.GatherAndCompare(e.reg, strings.NewReader(want), "spaces_jwt_mints_total"); err != nil {
			t.Errorf("the 401 must invalidate the token once: %v", err)
		}
	})
	t.Run("not an admin", func(t *testing.T) {
		e := newEnv(t, spaces.ClientOptions{})
		id := e.createSpace(t, "theirs")
		e.fake.Do(func(st *spacestest.State) { st.Spaces[id].Members[0].Role = "member" })
		err := e.client.DeleteSpace(ctx, id)
		if se := kindOf(t, err); se.Kind != spaces.KindForbidden || se.ScopeMissing {
			t.Fatalf("%+v", se)
		}
	})
}

func TestClient_RetriesOnlyWhereSafe(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name      string
		fault     spacestest.Fault
		call      func(*env) error
		route     string
		wantErr   spaces.ErrorKind
		wantCalls int
	}{
		{"503 on a GET is retried", spacestest.Fault{Route: "GET /users/me", Status: 503, Times: 2},
			func(e *env) error { _, err := e.client.Me(ctx); return err }, "GET /users/me", 0, 3},
		{"reset on a GET is retried", spacestest.Fault{Route: "GET /users/me", Reset: true, Times: 1},
			func(e *env) error { _, err := e.client.Me(ctx); return err }, "GET /users/me", 0, 2},
		{"500 on create is not retried", spacestest.Fault{Route: "POST /spaces/invite", Status: 500, Times: 1},
			func(e *env) error {
				_, err := e.client.CreateSpace(ctx, spaces.CreateSpaceRequest{Topic: spaces.Topic{Title: "x"}}, "")
				return err
			}, "POST /spaces/invite", spaces.KindUnavailable, 1},
		{"reset on create is not retried", spacestest.Fault{Route: "POST /spaces/invite", Reset: true, Times: 1},
			func(e *env) error {
				_, err := e.client.CreateSpace(ctx, spaces.CreateSpaceRequest{Topic: spaces.Topic{Title: "x"}}, "")
				return err
			}, "POST /spaces/invite", spaces.KindUnavailable, 1},
		{"503 on bulk update is not retried", spacestest.Fault{Route: "POST /users/bulkupdateaccounts", Status: 503, Times: 1},
			func(e *env) error {
				_, err := e.client.BulkUpdateAccounts(ctx, []spaces.BulkOperation{{Action: "read", Email: "a@corp.example"}})
				return err
			}, "POST /users/bulkupdateaccounts", spaces.KindUnavailable, 1},
		{"429 on create is retried: Spaces did nothing", spacestest.Fault{Route: "POST /spaces/invite", Status: 429, RetryAfter: "0", Times: 1},
			func(e *env) error {
				_, err := e.client.CreateSpace(ctx, spaces.CreateSpaceRequest{Topic: spaces.Topic{Title: "x"}}, "")
				return err
			}, "POST /spaces/invite", 0, 2},
		{"503 until retries run out", spacestest.Fault{Route: "GET /users/me", Status: 503},
			func(e *env) error { _, err := e.client.Me(ctx); return err }, "GET /users/me", spaces.KindUnavailable, 1 + spaces.DefaultMaxRetries},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, spaces.ClientOptions{})
			e.fake.AddFault(tc.fault)
			err := tc.call(e)
			if tc.wantErr == 0 && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != 0 && spaces.KindOf(err) != tc.wantErr {
				t.Fatalf("error %v, want kind %v", err, tc.wantErr)
			}
			if n := e.fake.Calls(tc.route); n != tc.wantCalls {
				t.Errorf("%s reached %d times, want %d", tc.route, n, tc.wantCalls)
			}
		})
	}
}

// TestClient_DroppedCreateResponse: Spaces commits the create, the answer is
// lost: the client reports a retryable failure and does not repeat it, and
// the space exists (the controller's recovery finds it by title).
func TestClient_DroppedCreateResponse(t *testing.T) {
	e := newEnv(t, spaces.ClientOptions{})
	e.fake.AddFault(spacestest.Fault{Route: "POST /spaces/invite", DropResponse: true, Times: 1})
	_, err := e.client.CreateSpace(context.Background(), spaces.CreateSpaceRequest{Topic: spaces.Topic{Title: "Lost"}}, "")
	if !spaces.IsRetryable(err) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
	if got := len(e.fake.SpacesTitled("Lost")); got != 1 {
		t.Fatalf("%d spaces titled Lost, want exactly 1", got)
	}
}

// TestClient_RateLimitPausesEveryCaller: a 429 with Retry-After pauses the
// credential's bucket for every client sharing it; no request of either
// reaches Spaces before the time is up.
func TestClient_RateLimitPausesEveryCaller(t *testing.T) {
	e := newEnv(t, spaces.ClientOptions{})
	limiter := spaces.NewLimiter(100, 10, 0, nil)
	a := e.newClient(t, e.key, spaces.ClientOptions{Limiter: limiter})
	b := e.newClient(t, e.key, spaces.ClientOptions{Limiter: limiter})
	id := e.createSpace(t, "x")
	e.fake.ResetCounters()
	e.fake.AddFault(spacestest.Fault{Route: "GET /users/me", Status: 429, RetryAfter: "2", Times: 1})

	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(1)
	go func() { defer wg.Done(); _, errs[0] = a.Me(ctx) }()
	// b starts once a's 429 has paused the shared limiter.
	for deadline := time.Now().Add(10 * time.Second); limiter.PausedFor() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the 429 never paused the limiter")
		}
	}
	wg.Add(1)
	go func() { defer wg.Done(); _, errs[1] = b.GetSpace(ctx, id) }()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	first := e.fake.Arrivals("GET /users/me")[0]
	for _, route := range []string{"GET /users/me", "GET /spaces/{id}"} {
		arr := e.fake.Arrivals(route)
		last := arr[len(arr)-1]
		if d := last.Sub(first); d < 2*time.Second-50*time.Millisecond {
			t.Errorf("%s came %v after the 429, before Retry-After (2s)", route, d)
		}
	}
}

// TestClient_LongRateLimitIsHandedBack: a Retry-After longer than the
// client waits itself comes back as a RateLimited error with the wait, and
// no request is sent until it has passed.
func TestClient_LongRateLimitIsHandedBack(t *testing.T) {
	e := newEnv(t, spaces.ClientOptions{MaxRateLimitWait: time.Second})
	e.fake.AddFault(spacestest.Fault{Route: "GET /users/me", Status: 429, RetryAfter: "120", Times: 1})
	_, err := e.client.Me(context.Background())
	se := kindOf(t, err)
	if se.Kind != spaces.KindRateLimited || se.RetryAfter < 119*time.Second {
		t.Fatalf("%+v", se)
	}
	_, err = e.client.Me(context.Background())
	if spaces.KindOf(err) != spaces.KindRateLimited {
		t.Fatalf("second call: %v, want RateLimited while paused", err)
	}
	if n := e.fake.Calls("GET /users/me"); n != 1 {
		t.Fatalf("%d requests reached Spaces during the pause, want 1", n)
	}
}

func TestClient_RateLimitWithoutRetryAfterBacksOff(t *testing.T) {
	e := newEnv(t, spaces.ClientOptions{})
	e.fake.AddFault(spacestest.Fault{Route: "GET /users/me", Status: 429, Times: 2})
	start := time.Now()
	if _, err := e.client.Me(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Equal jitter: at least half of 1 s, then of 2 s.
	if d := time.Since(start); d < 1500*time.Millisecond {
		t.Fatalf("two 429s without Retry-After waited only %v", d)
	}
	if n := e.fake.Calls("GET /users/me"); n != 3 {
		t.Fatalf("calls = %d, want 3", n)
	}
}

// TestClient_RateLimitSharedBucket: the bucket caps the request rate of every
// caller of a credential together.
func TestClient_RateLimitSharedBucket(t *testing.T) {
	e := newEnv(t, spaces.ClientOptions{})
	limiter := spaces.NewLimiter(20, 1, 0, nil)
	clients := []*spaces.Client{e.newClient(t, e.key, spaces.ClientOptions{Limiter: limiter}), e.newClient(t, e.key, spaces.ClientOptions{Limiter: limiter})}
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				if _, err := c.Me(context.Background()); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	// 20 requests at 20 a second with a burst of 1: at least 19 intervals.
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("20 requests took %v; the shared bucket did not hold them to 20/s", d)
	}
}

func TestClient_TimeoutPerRequest(t *testing.T) {
	e := newEnv(t, spaces.ClientOptions{RequestTimeout: 100 * time.Millisecond, MaxRetries: 1})
	e.fake.AddFault(spacestest.Fault{Route: "GET /users/me", Latency: time.Second})
	start := time.Now()
	_, err := e.client.Me(context.Background())
	if spaces.KindOf(err) != spaces.KindUnavailable {
		t.Fatalf("%v", err)
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Fatalf("took %v; the per-request timeout did not apply", d)
	}
}

func TestClient_Pagination(t *testing.T) {
	e := newEnv(t, spaces.ClientOptions{})
	ctx := context.Background()
	var ids []string
	for i := range 120 {
		ids = append(ids, e.createSpace(t, fmt.Sprintf("Space %03d", i)))
	}
	e.fake.ResetCounters()
	all, err := e.client.MySpaces(ctx, spaces.MySpacesQuery{})
	if err != nil || len(all) != 120 {
		t.Fatalf("MySpaces = %d, %v", len(all), err)
	}
	if n := e.fake.Calls("GET /users/me/spaces"); n != 3 {
		t.Errorf("120 spaces took %d pages, want 3", n)
	}
	seen := map[string]bool{}
	for _, s := range all {
		seen[s.ID] = true
	}
	if len(seen) != 120 {
		t.Errorf("%d distinct spaces", len(seen))
	}

	// Members come in pages without links: the client asks for the next page
	// number while pages are full.
	for i := range 74 {
		e.fake.AddUser(fmt.Sprintf("m%02d@corp.example", i), "M", fmt.Sprint(i))
	}
	var inv []spaces.Invitee
	for i := range 74 {
		inv = append(inv, spaces.Invitee{InviteeType: spaces.InviteeTypeEmail, Invitee: fmt.Sprintf("m%02d@corp.example", i)})
	}
	if _, err := e.client.Invite(ctx, ids[0], spaces.InviteRequest{Invitees: inv}); err != nil {
		t.Fatal(err)
	}
	members, err := e.client.SpaceMembers(ctx, ids[0])
	if err != nil || len(members) != 75 {
		t.Fatalf("SpaceMembers = %d, %v", len(members), err)
	}
}

// TestClient_NeverSendsCredentialsElsewhere: a nextPageUrl on another host
// is refused before any request is made to it.
func TestClient_NeverSendsCredentialsElsewhere(t *testing.T) {
	var stolen int
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { stolen++ }))
	defer evil.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"data":[{"_id":"5f1051f0f3ed772f915e19ed","title":"a"}],"nextPageUrl":%q}`, evil.URL+"/api/users/me/spaces?pageToken=1")
	}))
	defer api.Close()
	e := newEnv(t, spaces.ClientOptions{})
	sk, _ := spaces.ParseServiceKey(e.key.JSON)
	c, err := spaces.NewClient(api.URL+"/api", spaces.NewTokenSource(sk, spaces.TokenOptions{}), spaces.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.MySpaces(context.Background(), spaces.MySpacesQuery{}); err == nil || !strings.Contains(err.Error(), "another host") {
		t.Fatalf("err = %v", err)
	}
	if stolen != 0 {
		t.Fatal("a request went to the other host")
	}
}

func TestClient_Metrics(t *testing.T) {
	e := newEnv(t, spaces.ClientOptions{})
	e.fake.AddFault(spacestest.Fault{Route: "GET /users/me", Status: 503, Times: 1})
	if _, err := e.client.Me(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, _ = e.client.GetSpace(context.Background(), "5f1051f0f3ed772f915e19ed")
	want := `
# HELP spaces_api_requests_total Requests sent to the Spaces API, by endpoint and HTTP status code ("error" when no response came).
# TYPE spaces_api_requests_total counter
spaces_api_requests_total{code="200",endpoint="GET /users/me"} 1
spaces_api_requests_total{code="404",endpoint="GET /spaces/{id}"} 1
spaces_api_requests_total{code="503",endpoint="GET /users/me"} 1
# HELP spaces_api_retries_total Spaces API requests sent again, by endpoint and reason (rate_limited, unavailable, unauthorized).
# TYPE spaces_api_retries_total counter
spaces_api_retries_total{endpoint="GET /users/me",reason="unavailable"} 1
# HELP spaces_jwt_mints_total Service-app JWTs signed.
# TYPE spaces_jwt_mints_total counter
spaces_jwt_mints_total 1
`
	if err := testutil.GatherAndCompare(e.reg, strings.NewReader(want), "spaces_api_requests_total", "spaces_api_retries_total", "spaces_jwt_mints_total"); err != nil {
		t.Fatal(err)
	}
	if n, _ := testutil.GatherAndCount(e.reg, "spaces_api_request_duration_seconds"); n != 2 {
		t.Errorf("latency series = %d, want 2", n)
	}
}

// TestClient_Headers: the Authorization scheme is service_app and act-as
// rides in X-Avaya-Act-As, as the seed document and docs say.
func TestClient_Headers(t *testing.T) {
	var got http.Header
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		fmt.Fprint(w, `{"data":[{"topicId":"5f1051f0f3ed772f915e19ed"}]}`)
	}))
	defer api.Close()
	e := newEnv(t, spaces.ClientOptions{})
	sk, _ := spaces.ParseServiceKey(e.key.JSON)
	c, _ := spaces.NewClient(api.URL+"/api", spaces.NewTokenSource(sk, spaces.TokenOptions{}), spaces.ClientOptions{})
	if _, err := c.CreateSpace(context.Background(), spaces.CreateSpaceRequest{Topic: spaces.Topic{Title: "x"}}, "alice@corp.example"); err != nil {
		t.Fatal(err)
	}
	scheme, tok, _ := strings.Cut(got.Get("Authorization"), " ")
	if scheme != "service_app" || strings.Count(tok, ".") != 2 {
		t.Errorf("Authorization = %q, want service_app <jwt>", got.Get("Authorization"))
	}
	if got.Get("X-Avaya-Act-As") != "alice@corp.example" || got.Get("Content-Type") != "application/json" {
		t.Errorf("headers = %v", got)
	}
}

// BenchmarkClient_GetSpace: one typed call through the whole client (token
// cache, limiter, HTTP, decoding) against the in-process fake.
func BenchmarkClient_GetSpace(b *testing.B) {
	fake := spacestest.NewServer(b, spacestest.Options{})
	key, err := fake.AddServiceApp()
	if err != nil {
		b.Fatal(err)
	}
	sk, _ := spaces.ParseServiceKey(key.JSON)
	c, _ := spaces.NewClient(fake.URL, spaces.NewTokenSource(sk, spaces.TokenOptions{}), spaces.ClientOptions{Limiter: spaces.NewLimiter(1e6, 1e6, 0, nil)})
	resp, err := c.CreateSpace(context.Background(), spaces.CreateSpaceRequest{Topic: spaces.Topic{Title: "bench"}}, "")
	if err != nil {
		b.Fatal(err)
	}
	id := resp.Data[0].TopicID
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.GetSpace(context.Background(), id); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if m := fake.Mints(key.KeyID); m != 1 {
		b.Fatalf("%d mints for %d calls", m, b.N)
	}
}

// TestClient_NotSentIsKnown: when no connection can be made, the error says
// the request never reached Spaces, so callers may safely retry even a create.
func TestClient_NotSentIsKnown(t *testing.T) {
	e := newEnv(t, spaces.ClientOptions{MaxRetries: -1})
	sk, _ := spaces.ParseServiceKey(e.key.JSON)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	_ = l.Close() // nothing listens here now
	c, _ := spaces.NewClient("http://"+addr+"/api", spaces.NewTokenSource(sk, spaces.TokenOptions{}), spaces.ClientOptions{})
	_, err := c.CreateSpace(context.Background(), spaces.CreateSpaceRequest{Topic: spaces.Topic{Title: "x"}}, "")
	if !spaces.DefinitelyNotDone(err) {
		t.Fatalf("connection refused must count as never sent: %v", err)
	}
	e.fake.AddFault(spacestest.Fault{Route: "POST /spaces/invite", DropResponse: true, Times: 1})
	_, err = e.client.CreateSpace(context.Background(), spaces.CreateSpaceRequest{Topic: spaces.Topic{Title: "y"}}, "")
	if err == nil || spaces.DefinitelyNotDone(err) {
		t.Fatalf("a dropped answer must not count as never sent: %v", err)
	}
}

// TestClient_SendDeadline: under WithSendDeadline no attempt starts after
// the deadline, whether the wait was for the bucket or a 429 pause; such a
// call is known not to have reached Spaces. Before the deadline it is sent.
func TestClient_SendDeadline(t *testing.T) {
	e := newEnv(t, spaces.ClientOptions{Sleep: sleepFor})
	create := func(ctx context.Context, title string) error {
		_, err := e.client.CreateSpace(ctx, spaces.CreateSpaceRequest{Topic: spaces.Topic{Title: title}}, "")
		return err
	}
	ctx := context.Background()
	if err := create(spaces.WithSendDeadline(ctx, time.Now().Add(time.Minute)), "in time"); err != nil {
		t.Fatal(err)
	}
	err := create(spaces.WithSendDeadline(ctx, time.Now().Add(-time.Millisecond)), "too late")
	if !errors.Is(err, spaces.ErrSendDeadline) || !spaces.DefinitelyNotDone(err) {
		t.Fatalf("past the deadline: %v, want ErrSendDeadline and not done", err)
	}
	// A 429 asks for 1 s; the deadline is sooner: the retry is not sent.
	e.fake.AddFault(spacestest.Fault{Route: "POST /spaces/invite", Status: 429, RetryAfter: "1", Times: 1})
	err = create(spaces.WithSendDeadline(ctx, time.Now().Add(300*time.Millisecond)), "retried late")
	if !errors.Is(err, spaces.ErrSendDeadline) || !spaces.DefinitelyNotDone(err) {
		t.Fatalf("retry past the deadline: %v", err)
	}
	if n := e.fake.Calls("POST /spaces/invite"); n != 2 {
		t.Fatalf("%d creates reached Spaces, want 2 (in time, and the one refused with 429)", n)
	}
	if n := len(e.fake.SpacesTitled("too late")) + len(e.fake.SpacesTitled("retried late")); n != 0 {
		t.Fatalf("%d spaces created after their deadline", n)
	}
}

func sleepFor(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
