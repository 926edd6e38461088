// Package spacestest is a stateful, in-memory fake of the Avaya Spaces REST
// API, faithful to shared/spaces-api.md: it verifies service-app JWTs as the
// real service would, enforces scopes, admin-only operations, the act-as
// domain rule, batch limits and pagination, and can inject faults per route.
// Use NewServer in Go tests; cmd/spaces-fake runs it as a program.
package spacestest

import (
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure a Server.
type Options struct {
	// Domains of the company (default corp.example).
	Domains []string
	// Audience required in tokens (default spaces.avayacloud.com).
	Audience string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// ActAsAddsServiceAccount makes a space created with X-Avaya-Act-As
	// include the service account as an admin. Unknown for the real
	// service; off by default, the safer assumption.
	ActAsAddsServiceAccount bool
	// MaxTokenLifetime is the longest exp - now accepted (3600 s), plus
	// ClockSkew (60 s).
	MaxTokenLifetime time.Duration
	ClockSkew        time.Duration
	// Dialect answers the INFERRED points of the wire format the other way
	// (see DialectSwitches); nil is the fake's default.
	Dialect Dialect
}

// Server is the fake. All its methods are safe for concurrent use.
type Server struct {
	opts Options
	mux  *http.ServeMux

	mu     sync.Mutex
	state  *State
	faults []*Fault
	calls  map[string]int
	// arrivals records when each request reached each route.
	arrivals map[string][]time.Time
	// tokens seen per kid: distinct tokens are mints.
	tokens map[string]map[[32]byte]bool
	// forgotten tokens are refused (ForgetTokens).
	forgotten map[[32]byte]bool
	// quietUntil is the end of the latest Retry-After a 429 fault asked
	// for; insideRetryAfter counts the requests that came before it.
	quietFrom, quietUntil time.Time
	insideRetryAfter      int

	// URL is the API base URL (ending in /api) once serving.
	URL string
	ts  *httptest.Server
}

// New returns a fake that is not yet serving; use Handler to serve it.
func New(opts Options) *Server {
	if len(opts.Domains) == 0 {
		opts.Domains = []string{"corp.example"}
	}
	if opts.Audience == "" {
		opts.Audience = "spaces.avayacloud.com"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxTokenLifetime == 0 {
		opts.MaxTokenLifetime = time.Hour
	}
	if opts.ClockSkew == 0 {
		opts.ClockSkew = time.Minute
	}
	s := &Server{
		opts:     opts,
		mux:      http.NewServeMux(),
		state:    newState(opts.Domains),
		calls:    map[string]int{},
		arrivals: map[string][]time.Time{},
		tokens:   map[string]map[[32]byte]bool{},
	}
	s.routes()
	return s
}

// NewServer starts a fake on 127.0.0.1 for the duration of a test.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s := New(opts)
	s.ts = httptest.NewServer(s.Handler())
	s.URL = s.ts.URL + "/api"
	t.Cleanup(s.ts.Close)
	return s
}

// Handler serves the API under /api and the control routes under /_fake.
func (s *Server) Handler() http.Handler { return s.mux }

// Calls returns how many requests reached route (e.g. "GET /spaces/{id}"),
// faulted ones included.
func (s *Server) Calls(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[route]
}

// Arrivals returns when each request reached route, in order.
func (s *Server) Arrivals(route string) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.arrivals[route]...)
}

// AllCalls returns the request count of every route.
func (s *Server) AllCalls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// Writes returns how many requests reached routes that change state.
func (s *Server) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for route, c := range s.calls {
		if !strings.HasPrefix(route, "GET ") && route != routeColleaguesBulk {
			n += c
		}
	}
	return n
}

// Mints returns how many distinct valid tokens were seen signed by kid.
func (s *Server) Mints(kid string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens[kid])
}

// ResetCounters zeroes the call and mint counters.
func (s *Server) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
	s.arrivals = map[string][]time.Time{}
	s.tokens = map[string]map[[32]byte]bool{}
	s.insideRetryAfter = 0
}

// CallsInsideRetryAfter is how many requests arrived while a Retry-After
// that a 429 fault sent was still running: a client that honours it, and
// shares it among every caller of the app, sends none.
func (s *Server) CallsInsideRetryAfter() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.insideRetryAfter
}

func (s *Server) sawToken(kid, token string) {
	m := s.tokens[kid]
	if m == nil {
		m = map[[32]byte]bool{}
		s.tokens[kid] = m
	}
	m[sha256.Sum256([]byte(token))] = true
}

// StateJSON is the whole state as GET /_fake/state serves it.
func (s *Server) StateJSON() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return json.MarshalIndent(struct {
		*State
		Calls                 map[string]int `json:"calls"`
		Mints                 map[string]int `json:"mints"`
		CallsInsideRetryAfter int            `json:"callsInsideRetryAfter"`
	}{s.state, s.calls, s.mintsLocked(), s.insideRetryAfter}, "", "  ")
}

func (s *Server) mintsLocked() map[string]int {
	out := map[string]int{}
	for kid, m := range s.tokens {
		out[kid] = len(m)
	}
	return out
}

// Do runs f on the state under the server's lock: tests read or change
// anything (edit a space behind the operator's back, disable an app).
func (s *Server) Do(f func(*State)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.state)
}

// Space returns a copy of a space.
func (s *Server) Space(id string) (Space, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sp, ok := s.state.Spaces[id]
	if !ok {
		return Space{}, false
	}
	return sp.clone(), true
}

// SpacesTitled returns copies of the spaces with title, for duplicate checks.
func (s *Server) SpacesTitled(title string) []Space {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Space
	for _, sp := range s.state.Spaces {
		if sp.Title == title {
			out = append(out, sp.clone())
		}
	}
	return out
}

// DeletedSpaces returns the ids of the spaces deleted through the API, in
// order.
func (s *Server) DeletedSpaces() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.state.DeletedSpaces...)
}

// Invitations returns how many times invitee (email or user id) was
// invited, by email or by id alike.
func (s *Server) Invitations(invitee string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.Invitations[s.state.invitationKey(invitee)]
}

// UserByEmail returns a copy of a user.
func (s *Server) UserByEmail(email string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.state.userByEmail(email)
	if u == nil {
		return User{}, false
	}
	return *u, true
}

// PasswordIs reports whether the user's password is pw.
func (s *Server) PasswordIs(email, pw string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.state.userByEmail(email)
	return u != nil && u.HasPassword && u.passwordHash == sha256.Sum256([]byte(pw))
}

func (s *Server) now() time.Time { return s.opts.Now() }
