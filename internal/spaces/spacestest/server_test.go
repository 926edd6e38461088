package spacestest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// fixture is a fake with one app holding every scope.
type fixture struct {
	t   *testing.T
	srv *Server
	key *KeyFile
	now time.Time
}

func newFixture(t *testing.T, scopes ...string) *fixture {
	t.Helper()
	f := &fixture{t: t, now: time.Unix(1_800_000_000, 0)}
	f.srv = NewServer(t, Options{Now: func() time.Time { return f.now }})
	var err error
	if f.key, err = f.srv.AddServiceApp(scopes...); err != nil {
		t.Fatal(err)
	}
	return f
}

// token signs claims with the fixture's key unless changed by edit.
func (f *fixture) token(edit func(claims jwt.MapClaims, header map[string]any) (jwt.SigningMethod, any)) string {
	claims := jwt.MapClaims{"iss": f.key.Issuer, "sub": f.key.Subject, "aud": "spaces.avayacloud.com", "exp": f.now.Add(55 * time.Minute).Unix(), "iat": f.now.Unix()}
	header := map[string]any{"kid": f.key.KeyID}
	method, key := jwt.SigningMethod(jwt.SigningMethodRS256), any(f.key.Key)
	if edit != nil {
		if m, k := edit(claims, header); m != nil {
			method, key = m, k
		}
	}
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// do sends a request with Authorization auth and returns status and body.
func (f *fixture) do(method, path, auth string, body any, header ...string) (int, map[string]any) {
	f.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, r)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func (f *fixture) auth() string { return "service_app " + f.token(nil) }

func (f *fixture) createSpace(title string, header ...string) string {
	f.t.Helper()
	status, body := f.do("POST", "/spaces/invite", f.auth(), map[string]any{"topic": map[string]any{"id": nil, "title": title, "type": "group"}, "invitees": []any{}}, header...)
	if status != 200 {
		f.t.Fatalf("create: %d %v", status, body)
	}
	return body["data"].([]any)[0].(map[string]any)["topicId"].(string)
}

func TestFake_VerifiesTokensAsSpaces(t *testing.T) {
	f := newFixture(t)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	cases := []struct {
		name string
		auth func() string
		want int
	}{
		{"valid", func() string { return f.auth() }, 200},
		{"scheme word is case-insensitive", func() string { return "Service_App " + f.token(nil) }, 200},
		{"no header", func() string { return "" }, 401},
		{"bearer scheme", func() string { return "Bearer " + f.token(nil) }, 401},
		{"jwt scheme", func() string { return "jwt " + f.token(nil) }, 401},
		{"garbage", func() string { return "service_app not.a.jwt" }, 401},
		{"alg none", func() string {
			return "service_app " + f.token(func(jwt.MapClaims, map[string]any) (jwt.SigningMethod, any) {
				return jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType
			})
		}, 401},
		{"HS256 signed with the public key", func() string {
			return "service_app " + f.token(func(jwt.MapClaims, map[string]any) (jwt.SigningMethod, any) {
				pub, _ := json.Marshal(f.key.Key.PublicKey)
				return jwt.SigningMethodHS256, pub
			})
		}, 401},
		{"RS512", func() string {
			return "service_app " + f.token(func(jwt.MapClaims, map[string]any) (jwt.SigningMethod, any) { return jwt.SigningMethodRS512, f.key.Key })
		}, 401},
		{"unknown kid", func() string {
			return "service_app " + f.token(func(_ jwt.MapClaims, h map[string]any) (jwt.SigningMethod, any) { h["kid"] = "nope"; return nil, nil })
		}, 401},
		{"no kid", func() string {
			return "service_app " + f.token(func(_ jwt.MapClaims, h map[string]any) (jwt.SigningMethod, any) { delete(h, "kid"); return nil, nil })
		}, 401},
		{"signed by another key", func() string {
			return "service_app " + f.token(func(jwt.MapClaims, map[string]any) (jwt.SigningMethod, any) { return jwt.SigningMethodRS256, other })
		}, 401},
		{"wrong aud", func() string {
			return "service_app " + f.token(func(c jwt.MapClaims, _ map[string]any) (jwt.SigningMethod, any) {
				c["aud"] = "example.com"
				return nil, nil
			})
		}, 401},
		{"no exp", func() string {
			return "service_app " + f.token(func(c jwt.MapClaims, _ map[string]any) (jwt.SigningMethod, any) { delete(c, "exp"); return nil, nil })
		}, 401},
		{"expired", func() string {
			return "service_app " + f.token(func(c jwt.MapClaims, _ map[string]any) (jwt.SigningMethod, any) {
				c["exp"] = f.now.Add(-time.Second).Unix()
				return nil, nil
			})
		}, 401},
		{"exp 3600 s ahead is fine", func() string {
			return "service_app " + f.token(func(c jwt.MapClaims, _ map[string]any) (jwt.SigningMethod, any) {
				c["exp"] = f.now.Add(time.Hour).Unix()
				return nil, nil
			})
		}, 200},
		{"exp beyond 3600 s and the skew", func() string {
			return "service_app " + f.token(func(c jwt.MapClaims, _ map[string]any) (jwt.SigningMethod, any) {
				c["exp"] = f.now.Add(time.Hour + 2*time.Minute).Unix()
				return nil, nil
			})
		}, 401},
		{"wrong iss", func() string {
			return "service_app " + f.token(func(c jwt.MapClaims, _ map[string]any) (jwt.SigningMethod, any) { c["iss"] = "x"; return nil, nil })
		}, 401},
		{"no sub", func() string {
			return "service_app " + f.token(func(c jwt.MapClaims, _ map[string]any) (jwt.SigningMethod, any) { delete(c, "sub"); return nil, nil })
		}, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := f.do("GET", "/users/me", tc.auth(), nil)
			if status != tc.want {
				t.Fatalf("status %d (%v), want %d", status, body, tc.want)
			}
		})
	}
	t.Run("disabled service account", func(t *testing.T) {
		f.srv.Do(func(st *State) { st.ServiceApps[f.key.Issuer].Disabled = true })
		defer f.srv.Do(func(st *State) { st.ServiceApps[f.key.Issuer].Disabled = false })
		if status, _ := f.do("GET", "/users/me", f.auth(), nil); status != 401 {
			t.Fatalf("status %d", status)
		}
	})
	t.Run("revoked key", func(t *testing.T) {
		g := newFixture(t)
		g.srv.RevokeKey(g.key.KeyID)
		if status, _ := g.do("GET", "/users/me", g.auth(), nil); status != 401 {
			t.Fatalf("status %d", status)
		}
	})
}

func TestFake_CountsDistinctTokensAsMints(t *testing.T) {
	f := newFixture(t)
	tok := f.auth()
	for range 3 {
		f.do("GET", "/users/me", tok, nil)
	}
	f.now = f.now.Add(time.Second)
	f.do("GET", "/users/me", f.auth(), nil)
	if got := f.srv.Mints(f.key.KeyID); got != 2 {
		t.Fatalf("mints = %d, want 2", got)
	}
	if got := f.srv.Calls("GET /users/me"); got != 4 {
		t.Fatalf("calls = %d, want 4", got)
	}
}

func TestFake_EnforcesScopes(t *testing.T) {
	f := newFixture(t, "spaces.settings.read")
	status, body := f.do("POST", "/spaces/invite", f.auth(), map[string]any{"topic": map[string]any{"title": "x"}})
	if status != 403 || body["scope"] != "spaces.create" || !strings.Contains(body["message"].(string), "spaces.create") {
		t.Fatalf("%d %v", status, body)
	}
	status, body = f.do("POST", "/spaces/invite", f.auth(), map[string]any{"topic": map[string]any{"title": "x"}}, "X-Avaya-Act-As", "a@corp.example")
	if status != 403 || body["scope"] != "spaces.create.actas" {
		t.Fatalf("act-as: %d %v", status, body)
	}
	f.srv.SetScopes(f.key.Issuer, "spaces.create")
	if status, body := f.do("POST", "/spaces/invite", f.auth(), map[string]any{"topic": map[string]any{"title": "x"}}); status != 200 {
		t.Fatalf("after granting: %d %v", status, body)
	}
}

func TestFake_ActAsRules(t *testing.T) {
	f := newFixture(t)
	alice := f.srv.AddUser("alice@corp.example", "Alice", "S")
	cases := []struct {
		actAs string
		want  int
	}{
		{"outsider@elsewhere.example", 403},
		{"ghost@corp.example", 404},
		{"alice@corp.example", 200},
	}
	for _, tc := range cases {
		status, body := f.do("POST", "/spaces/invite", f.auth(), map[string]any{"topic": map[string]any{"title": "x"}}, "X-Avaya-Act-As", tc.actAs)
		if status != tc.want {
			t.Errorf("act-as %s: %d %v, want %d", tc.actAs, status, body, tc.want)
		}
	}
	id := f.createSpace("owned", "X-Avaya-Act-As", "alice@corp.example")
	sp, _ := f.srv.Space(id)
	if sp.CID != alice.ID || len(sp.Members) != 1 || sp.Members[0].UserID != alice.ID {
		t.Fatalf("act-as space: %+v; want alice as the sole admin", sp)
	}
	// Not an admin of it: management is refused.
	if status, _ := f.do("GET", "/spaces/"+id, f.auth(), nil); status != 403 {
		t.Fatalf("GET a space we do not administer: %d", status)
	}
}

func TestFake_AdminOnlyOperations(t *testing.T) {
	f := newFixture(t)
	id := f.createSpace("s")
	f.srv.Do(func(st *State) { st.Spaces[id].Members[0].Role = "member" })
	bob := f.srv.AddUser("bob@corp.example", "B", "J")
	cases := []struct{ method, path string }{
		{"GET", "/spaces/" + id},
		{"POST", "/spaces/" + id},
		{"DELETE", "/spaces/" + id},
		{"POST", "/spaces/" + id + "/invite"},
		{"POST", "/spaces/" + id + "/attendees/userId/" + bob.ID},
		{"DELETE", "/spaces/" + id + "/attendees/userId/" + bob.ID},
	}
	for _, tc := range cases {
		status, body := f.do(tc.method, tc.path, f.auth(), map[string]any{"invitees": []any{map[string]any{"inviteeType": "email", "invitee": "x@corp.example"}}})
		if status != 403 {
			t.Errorf("%s %s as a plain member: %d %v, want 403", tc.method, tc.path, status, body)
		}
	}
	// Members may read members and post.
	if status, _ := f.do("GET", "/spaces/"+id+"/members", f.auth(), nil); status != 200 {
		t.Errorf("members as a member: %d", status)
	}
}

func TestFake_BatchLimitsAndPages(t *testing.T) {
	f := newFixture(t)
	ops := func(n int) []map[string]any {
		var out []map[string]any
		for i := range n {
			out = append(out, map[string]any{"action": "read", "email": fmt.Sprintf("u%d@corp.example", i)})
		}
		return out
	}
	if status, _ := f.do("POST", "/users/bulkupdateaccounts", f.auth(), ops(11)); status != 400 {
		t.Errorf("11 operations: %d, want 400", status)
	}
	if status, _ := f.do("POST", "/users/bulkupdateaccounts", f.auth(), ops(0)); status != 400 {
		t.Errorf("0 operations: %d, want 400", status)
	}
	if status, _ := f.do("POST", "/users/bulkupdateaccounts", f.auth(), []map[string]any{{"action": "explode", "email": "a@corp.example"}}); status != 400 {
		t.Errorf("unknown action: %d, want 400", status)
	}
	status, body := f.do("POST", "/users/bulkupdateaccounts", f.auth(), []map[string]any{
		{"action": "create", "email": "a@corp.example", "password": "abc"},
		{"action": "create", "email": "b@corp.example", "password": "abcd", "firstname": "B;"},
		{"action": "create", "email": "c@other.example", "password": "abcd"},
		{"action": "create", "email": "d@corp.example", "password": "abcd", "workphone": "555"},
		{"action": "create", "email": "e@corp.example", "password": "abcd", "license_type": "gold"},
		{"action": "create", "email": "f@corp.example", "password": "abcd", "language": "xx"},
		{"action": "create", "email": "f@corp.example", "password": "abcd"},
		{"action": "read", "email": "zz@corp.example"},
		{"action": "update", "email": "f@corp.example", "language": "yy", "license_type": ""},
		{"action": "delete", "email": "f@corp.example"},
	})
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	wantOK := []bool{false, false, false, false, false, true, false, false, true, true}
	for i, r := range body["data"].([]any) {
		if ok := r.(map[string]any)["status"] == "success"; ok != wantOK[i] {
			t.Errorf("operation %d: %v, want success %v", i, r, wantOK[i])
		}
	}

	var emails []string
	for i := range 60 {
		u := f.srv.AddUser(fmt.Sprintf("p%02d@corp.example", i), "P", "Q")
		emails = append(emails, u.Email)
	}
	_, body = f.do("POST", "/users/me/colleaguesbulk", f.auth(), emails)
	if n := len(body["data"].([]any)); n != MaxColleaguesBulk {
		t.Errorf("colleaguesbulk of 60 returned %d, want the first 50", n)
	}

	for i := range 60 {
		f.createSpace(fmt.Sprintf("s%d", i))
	}
	_, body = f.do("GET", "/users/me/spaces?size=500", f.auth(), nil)
	if n := len(body["data"].([]any)); n != 50 || body["nextPageUrl"] == "end" {
		t.Errorf("size=500 gave %d spaces (next %v), want 50 and a next page", n, body["nextPageUrl"])
	}
	_, body = f.do("GET", "/users/me/spaces", f.auth(), nil)
	if n := len(body["data"].([]any)); n != 10 {
		t.Errorf("default page size gave %d, want 10", n)
	}
}

func TestFake_Faults(t *testing.T) {
	f := newFixture(t)
	f.srv.AddFault(Fault{Route: "GET /users/me", Status: 429, RetryAfter: "7", Times: 1})
	req, _ := http.NewRequest("GET", f.srv.URL+"/users/me", nil)
	req.Header.Set("Authorization", f.auth())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" {
		t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	time.Sleep(2 * inFlightGrace) // not a request that was on the wire already
	if status, _ := f.do("GET", "/users/me", f.auth(), nil); status != 200 {
		t.Fatalf("a Times:1 fault applied twice: %d", status)
	}
	if n := f.srv.CallsInsideRetryAfter(); n != 1 {
		t.Errorf("%d calls counted inside the 7 s Retry-After, want the 1 sent after it", n)
	}

	f.srv.AddFault(Fault{Route: "GET /users/me", Reset: true, Times: 1})
	req, _ = http.NewRequest("GET", f.srv.URL+"/users/me", nil)
	req.Header.Set("Authorization", f.auth())
	// A fresh connection, or net/http would transparently retry the GET.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := fresh.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("a reset fault answered")
	}

	f.srv.AddFault(Fault{Route: "POST /spaces/invite", DropResponse: true, Times: 1})
	req, _ = http.NewRequest("POST", f.srv.URL+"/spaces/invite", strings.NewReader(`{"topic":{"title":"dropped"}}`))
	req.Header.Set("Authorization", f.auth())
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("a dropped response arrived")
	}
	if n := len(f.srv.SpacesTitled("dropped")); n != 1 {
		t.Fatalf("the dropped create was not committed: %d spaces", n)
	}

	// A caller that gives up before a slow create is answered does not stop
	// it: the space appears after the caller has gone, as on a real server.
	f.srv.AddFault(Fault{Route: "POST /spaces/invite", Latency: 400 * time.Millisecond, Times: 1})
	impatient := &http.Client{Timeout: 50 * time.Millisecond}
	req, _ = http.NewRequest("POST", f.srv.URL+"/spaces/invite", strings.NewReader(`{"topic":{"title":"late"}}`))
	req.Header.Set("Authorization", f.auth())
	if resp, err := impatient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("a slow create answered within 50 ms")
	}
	if n := len(f.srv.SpacesTitled("late")); n != 0 {
		t.Fatalf("the slow create committed before its latency: %d spaces", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(f.srv.SpacesTitled("late")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a create whose caller gave up never committed")
		}
		time.Sleep(20 * time.Millisecond)
	}

	f.srv.AddFault(Fault{Route: "*", Latency: 300 * time.Millisecond, Times: 1})
	start := time.Now()
	f.do("GET", "/users/me", f.auth(), nil)
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("latency fault: %v", d)
	}
}

func TestFake_ControlRoutes(t *testing.T) {
	f := newFixture(t)
	base := strings.TrimSuffix(f.srv.URL, "/api")
	resp, err := http.Post(base+"/_fake/faults", "application/json", strings.NewReader(`[{"route":"GET /users/me","status":503,"times":1}]`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	resp.Body.Close()
	if status, _ := f.do("GET", "/users/me", f.auth(), nil); status != 503 {
		t.Fatalf("fault from /_fake/faults not applied: %d", status)
	}
	f.createSpace("visible")
	resp, err = http.Get(base + "/_fake/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Spaces map[string]Space `json:"spaces"`
		Calls  map[string]int   `json:"calls"`
		Mints  map[string]int   `json:"mints"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if len(st.Spaces) != 1 || st.Calls["POST /spaces/invite"] != 1 || st.Mints[f.key.KeyID] == 0 {
		t.Fatalf("state: %+v", st)
	}
}
