package spacestest

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Route names: method and path template below /api, as the client's
// spaces.Endpoint names them.
const (
	routeUsersMe        = "GET /users/me"
	routeBulkUpdate     = "POST /users/bulkupdateaccounts"
	routeColleagues     = "GET /users/me/colleagues"
	routeColleaguesBulk = "POST /users/me/colleaguesbulk"
	routeMySpaces       = "GET /users/me/spaces"
	routeSpaceCreate    = "POST /spaces/invite"
	routeDirect         = "GET /spaces/direct/user/{id}"
	routeSpaceGet       = "GET /spaces/{id}"
	routeSpaceUpdate    = "POST /spaces/{id}"
	routeSpaceDelete    = "DELETE /spaces/{id}"
	routeSpaceInvite    = "POST /spaces/{id}/invite"
	routeMembers        = "GET /spaces/{id}/members"
	routeAttendeeSet    = "POST /spaces/{id}/attendees/{type}/{userId}"
	routeAttendeeDelete = "DELETE /spaces/{id}/attendees/{type}/{userId}"
	routeChats          = "POST /spaces/{id}/chats"
	routeByRef          = "GET /spaces/{id}/messages/byref"
	routeIdeasGet       = "GET /spaces/{id}/ideas"
	routeIdeasPost      = "POST /spaces/{id}/ideas"
	routeTasksGet       = "GET /spaces/{id}/tasks"
	routeTasksPost      = "POST /spaces/{id}/tasks"
	routeMessageUpdate  = "POST /messages/{id}"
)

// caller is the authenticated service app and its service account.
type caller struct {
	app  *ServiceApp
	user *User
}

// maxRequestBody bounds what the fake reads of a request body.
const maxRequestBody = 8 << 20

type handler func(w http.ResponseWriter, r *http.Request, c caller)

func (s *Server) routes() {
	s.route(routeUsersMe, "", s.getMe)
	s.route(routeBulkUpdate, "accounts.users.bulk.write", s.bulkUpdate)
	s.route(routeColleagues, "users.search", s.colleagues)
	s.route(routeColleaguesBulk, "users.search.bulk", s.colleaguesBulk)
	s.route(routeMySpaces, "spaces.list", s.mySpaces)
	s.route(routeSpaceCreate, "spaces.create", s.createSpace) // act-as: spaces.create.actas
	s.route(routeDirect, "spaces.direct.create", s.directSpace)
	s.route(routeSpaceGet, "spaces.settings.read", s.getSpace)
	s.route(routeSpaceUpdate, "spaces.settings.write", s.updateSpace)
	s.route(routeSpaceDelete, "spaces.delete", s.deleteSpace)
	s.route(routeSpaceInvite, "spaces.invite.write", s.inviteToSpace)
	s.route(routeMembers, "spaces.settings.read", s.members)
	s.route(routeAttendeeSet, "spaces.invite.write", s.setAttendee)
	s.route(routeAttendeeDelete, "spaces.invite.write", s.removeAttendee)
	s.route(routeChats, "spaces.chat.create", s.postMessage("chat"))
	s.route(routeByRef, "spaces.chat.read", s.listMessages("chat"))
	s.route(routeIdeasGet, "spaces.post.read", s.listMessages("idea"))
	s.route(routeIdeasPost, "spaces.post.create", s.postMessage("idea"))
	s.route(routeTasksGet, "spaces.task.read", s.listMessages("task"))
	s.route(routeTasksPost, "spaces.task.create", s.postMessage("task"))
	s.route(routeMessageUpdate, "spaces.messages.write", s.updateMessage)
	// The seed's table spells the task list /task; answer it as /tasks.
	s.mux.Handle("GET /api/spaces/{id}/task", s.wrap(routeTasksGet, "spaces.task.read", s.listMessages("task")))

	s.mux.HandleFunc("GET /_fake/state", func(w http.ResponseWriter, r *http.Request) {
		b, err := s.StateJSON()
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error(), "")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	})
	s.mux.HandleFunc("POST /_fake/faults", s.handleFaults)
	s.mux.HandleFunc("DELETE /_fake/faults", s.handleFaults)
}

// route registers h for a route under /api and its legacy /topics alias.
func (s *Server) route(name, scope string, h handler) {
	method, path, _ := strings.Cut(name, " ")
	wrapped := s.wrap(name, scope, h)
	s.mux.Handle(method+" /api"+path, wrapped)
	if strings.HasPrefix(path, "/spaces/{id}") {
		s.mux.Handle(method+" /api/topics"+strings.TrimPrefix(path, "/spaces"), wrapped)
	}
}

// wrap adds what every route does: count, apply faults, authenticate,
// check the scope, then run the handler under the state lock.
func (s *Server) wrap(name, scope string, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		now := time.Now()
		s.calls[name]++
		s.arrivals[name] = append(s.arrivals[name], now)
		if now.After(s.quietFrom) && now.Before(s.quietUntil) {
			s.insideRetryAfter++
		}
		fault := s.takeFault(name)
		s.mu.Unlock()

		// A real server goes on with a request whose caller hung up or gave
		// up waiting: the work commits late, unseen. So the body is read
		// now, the latency is served in full, and the handler runs detached
		// from the connection.
		if fault != nil && fault.Latency > 0 {
			body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
			if err != nil {
				return // the request never fully arrived: nothing to process
			}
			r = r.WithContext(context.WithoutCancel(r.Context()))
			r.Body = io.NopCloser(bytes.NewReader(body))
			time.Sleep(fault.Latency)
		}
		if fault != nil && fault.Reset {
			resetConnection(w)
			return
		}
		if fault != nil && fault.Status != 0 {
			writeFaultStatus(w, fault)
			s.openRetryAfter(fault)
			return
		}

		s.mu.Lock()
		defer s.mu.Unlock()
		// Everything is answered into a recorder first, so the dialect can
		// reshape the answer as another server would have sent it.
		rec := httptest.NewRecorder()
		s.serve(rec, r, name, scope, h, fault)
		if fault != nil && fault.DropResponse {
			resetConnection(w) // committed, and the answer is lost
			return
		}
		if fault != nil && fault.Answer != nil {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, *fault.Answer) // committed, and answered with this
			return
		}
		s.reshape(w, rec)
	})
}

// openRetryAfter starts the window of a 429's Retry-After once the answer
// is out. Requests that arrive in it are counted (CallsInsideRetryAfter),
// except in its first inFlightGrace: those left the client before the
// answer reached it.
func (s *Server) openRetryAfter(f *Fault) {
	secs, err := strconv.Atoi(f.RetryAfter)
	if f.Status != http.StatusTooManyRequests || err != nil || secs <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.quietFrom, s.quietUntil = now.Add(inFlightGrace), now.Add(time.Duration(secs)*time.Second)
}

// inFlightGrace is how long after a 429 left the fake a request may still
// arrive that its client sent before reading it.
const inFlightGrace = 20 * time.Millisecond

// serve authenticates, checks the scope and runs h; the caller holds s.mu.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, name, scope string, h handler, fault *Fault) {
	c, status, msg := s.authenticate(r)
	if status != 0 {
		if s.is(DialectAuth403) {
			status = http.StatusForbidden
		}
		writeError(w, status, msg, "")
		return
	}
	need := scope
	if name == routeSpaceCreate && r.Header.Get("X-Avaya-Act-As") != "" {
		need = "spaces.create.actas"
	}
	if need != "" && !c.app.hasScope(need) {
		writeError(w, http.StatusForbidden, "the service app does not have scope "+need, need)
		return
	}
	if s.is(DialectMembersRefused) && (name == routeMembers || name == routeAttendeeSet || name == routeAttendeeDelete) {
		writeError(w, http.StatusForbidden, "this route does not accept service-app authentication", "")
		return
	}
	if fault != nil {
		r = r.WithContext(context.WithValue(r.Context(), faultKey{}, fault))
	}
	h(w, r, c)
}

// authenticate verifies the service-app JWT as Spaces would (spaces-api.md
// §1.3): scheme service_app; RS256 only; a registered kid; the signature;
// aud; exp present, in the future and at most MaxTokenLifetime (+ skew)
// ahead; iss and sub matching the key's app. Failures are 401.
func (s *Server) authenticate(r *http.Request) (caller, int, string) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "service_app") || token == "" {
		return caller{}, http.StatusUnauthorized, "missing Authorization: service_app <jwt>"
	}
	var app *ServiceApp
	var kid string
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithAudience(s.opts.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.now),
	)
	claims := jwt.MapClaims{}
	_, err := parser.ParseWithClaims(strings.TrimSpace(token), claims, func(t *jwt.Token) (any, error) {
		kid, _ = t.Header["kid"].(string)
		var pub *rsa.PublicKey
		for _, a := range s.state.ServiceApps {
			if k, ok := a.Keys[kid]; ok {
				app, pub = a, k
			}
		}
		if pub == nil {
			return nil, jwt.ErrTokenUnverifiable
		}
		return pub, nil
	})
	if err != nil {
		return caller{}, http.StatusUnauthorized, "invalid token: " + err.Error()
	}
	exp, _ := claims.GetExpirationTime()
	if exp.Sub(s.now()) > s.opts.MaxTokenLifetime+s.opts.ClockSkew {
		return caller{}, http.StatusUnauthorized, "invalid token: exp is more than 3600 seconds ahead"
	}
	iss, _ := claims.GetIssuer()
	sub, _ := claims.GetSubject()
	if iss != app.Issuer || sub != app.Subject {
		return caller{}, http.StatusUnauthorized, "invalid token: iss or sub does not match the key's service app"
	}
	if app.Disabled {
		return caller{}, http.StatusUnauthorized, "the service account is disabled"
	}
	if s.forgotten[sha256.Sum256([]byte(token))] {
		return caller{}, http.StatusUnauthorized, "invalid token: token has expired"
	}
	s.sawToken(kid, token)
	return caller{app: app, user: s.state.Users[app.UserID]}, 0, ""
}

// writeError sends the INFERRED error body {code, message}; a 403 for a
// missing scope also names it in scope.
func writeError(w http.ResponseWriter, status int, msg, scope string) {
	body := map[string]any{"code": status, "message": msg}
	if scope != "" {
		body["scope"] = scope
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func writeJSON(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf.Bytes())
}

// decodeBody reads a JSON body into v, answering 400 when it cannot.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error(), "")
		return false
	}
	return true
}
