package spacestest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// MaxBulkOperations and MaxColleaguesBulk are the API's batch limits.
const (
	MaxBulkOperations = 10
	MaxColleaguesBulk = 50
)

func (s *Server) getMe(w http.ResponseWriter, _ *http.Request, c caller) {
	writeJSON(w, s.state.userWire(c.user))
}

// refusedNameChars are the characters Spaces refuses in names.
const refusedNameChars = `|~!@#$%^&*()_+=<>?:;,."`

var (
	phonePattern = regexp.MustCompile(`^\+[0-9]{6,15}$`)
	emailPattern = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	licenses     = map[string]bool{"spaces_power": true, "spaces_business": true, "": true}
	bulkActions  = map[string]bool{"create": true, "read": true, "update": true, "delete": true, "merge": true}
)

type bulkOp struct {
	Action      string  `json:"action"`
	Email       string  `json:"email"`
	Password    *string `json:"password"`
	Firstname   *string `json:"firstname"`
	Lastname    *string `json:"lastname"`
	Language    *string `json:"language"`
	Cellphone   *string `json:"cellphone"`
	Workphone   *string `json:"workphone"`
	LicenseType *string `json:"license_type"`
}

// bulkUpdate: POST /users/bulkupdateaccounts, service apps only. The body
// is a JSON array of 1 to 10 operations (INFERRED envelope); a bad batch is
// a 400, a bad operation an error in its own result, HTTP 200 either way.
func (s *Server) bulkUpdate(w http.ResponseWriter, r *http.Request, c caller) {
	var ops []bulkOp
	if !decodeBody(w, r, &ops) {
		return
	}
	if len(ops) == 0 || len(ops) > MaxBulkOperations {
		writeError(w, http.StatusBadRequest, "a bulk update takes 1 to 10 operations", "")
		return
	}
	for _, op := range ops {
		if !bulkActions[op.Action] || op.Email == "" {
			writeError(w, http.StatusBadRequest, "every operation needs an action (create, read, update, delete, merge) and an email", "")
			return
		}
	}
	results := make([]map[string]any, 0, len(ops))
	fault := faultOf(r)
	for _, op := range ops {
		if fault != nil && fault.OperationStatus != 0 && slices.Contains(fault.Emails, op.Email) {
			results = append(results, map[string]any{"action": op.Action, "email": op.Email, "status": "error",
				"error": map[string]any{"code": fault.OperationStatus, "message": http.StatusText(fault.OperationStatus)}})
			continue
		}
		results = append(results, s.bulkOne(op))
	}
	switch {
	case s.is(DialectBulkAnswerOpaque):
		writeJSON(w, map[string]string{"message": "accepted"})
	case s.is(DialectBulkAnswerBare):
		bare := make([]map[string]any, 0, len(results))
		for _, res := range results {
			b := map[string]any{"email": res["email"], "action": res["action"], "success": res["status"] == "success"}
			if e, ok := res["error"].(map[string]any); ok {
				b["message"] = e["message"]
			}
			if u, ok := res["user"]; ok {
				b["user"] = u
			}
			bare = append(bare, b)
		}
		writeJSON(w, bare)
	default:
		writeJSON(w, map[string]any{"data": results})
	}
}

func (s *Server) bulkOne(op bulkOp) map[string]any {
	fail := func(code int, msg string) map[string]any {
		return map[string]any{"action": op.Action, "email": op.Email, "status": "error", "error": map[string]any{"code": code, "message": msg}}
	}
	if !emailPattern.MatchString(op.Email) {
		return fail(400, "email is not valid")
	}
	if !s.state.inCompanyDomain(op.Email) {
		return fail(400, "email is not in one of the company's domains")
	}
	if msg := validateAccountFields(op); msg != "" {
		return fail(400, msg)
	}
	u := s.state.userByEmail(op.Email)
	action := op.Action
	if action == "merge" {
		action = "update"
		if u == nil {
			action = "create"
		}
	}
	switch action {
	case "create":
		s.state.CreateAttempts[strings.ToLower(op.Email)]++
		if u != nil {
			return fail(409, "user already exists")
		}
		if op.Password == nil || len(*op.Password) < 4 || len(*op.Password) > 200 {
			return fail(400, "password of 4 to 200 characters is required to create a user")
		}
		now := s.now()
		u = &User{ID: objectID(now), Email: strings.ToLower(op.Email), Language: "en", Created: now}
		u.setPassword(*op.Password)
		applyAccount(u, op, true)
		s.state.Users[u.ID] = u
	case "read":
		if u == nil {
			return fail(404, "user not found")
		}
	case "update":
		if u == nil {
			return fail(404, "user not found")
		}
		if u.Service {
			return fail(403, "service accounts cannot be changed")
		}
		applyAccount(u, op, false)
		if op.Password != nil {
			u.setPassword(*op.Password)
		}
	case "delete":
		if u == nil {
			return fail(404, "user not found")
		}
		if u.Service {
			return fail(403, "service accounts cannot be deleted")
		}
		delete(s.state.Users, u.ID)
		for _, sp := range s.state.Spaces {
			for i, m := range sp.Members {
				if m.UserID == u.ID {
					sp.Members = append(sp.Members[:i], sp.Members[i+1:]...)
					break
				}
			}
		}
	}
	return map[string]any{"action": op.Action, "email": op.Email, "status": "success",
		"user": map[string]any{"_id": u.ID, "username": u.Email, "displayname": u.displayName()}}
}

func validateAccountFields(op bulkOp) string {
	for field, v := range map[string]*string{"firstname": op.Firstname, "lastname": op.Lastname} {
		if v != nil && strings.ContainsAny(*v, refusedNameChars) {
			return field + " contains a character Spaces refuses (" + refusedNameChars + ")"
		}
	}
	if op.Firstname != nil && op.Lastname != nil && len(*op.Firstname)+len(*op.Lastname) > 380 {
		return "firstname and lastname together must be at most 380 characters"
	}
	for field, v := range map[string]*string{"cellphone": op.Cellphone, "workphone": op.Workphone} {
		if v != nil && *v != "" && !phonePattern.MatchString(*v) {
			return field + " must be a phone number starting with +"
		}
	}
	if op.LicenseType != nil && !licenses[*op.LicenseType] {
		return "license_type must be spaces_power, spaces_business or empty"
	}
	return ""
}

// knownLanguages are the codes the fake accepts; others become en on create
// and are ignored on update, as the docs say.
var knownLanguages = map[string]bool{"en": true, "fr": true, "de": true, "es": true, "it": true, "ja": true, "ko": true, "pt": true, "ru": true, "zh": true, "fr-CA": true, "en-GB": true, "en-US": true, "pt-BR": true, "zh-CN": true}

func applyAccount(u *User, op bulkOp, create bool) {
	if op.Firstname != nil {
		u.FirstName = *op.Firstname
	}
	if op.Lastname != nil {
		u.LastName = *op.Lastname
	}
	if op.Language != nil {
		if knownLanguages[*op.Language] {
			u.Language = *op.Language
		} else if create {
			u.Language = "en"
		}
	}
	if op.Cellphone != nil {
		u.Cellphone = *op.Cellphone
	}
	if op.Workphone != nil {
		u.Workphone = *op.Workphone
	}
	if op.LicenseType != nil {
		u.LicenseType = *op.LicenseType
	}
}

// colleagues: GET /users/me/colleagues: company users matching search (a
// regular expression over names and emails).
func (s *Server) colleagues(w http.ResponseWriter, r *http.Request, c caller) {
	q := r.URL.Query()
	size, search, ok := listParams(w, q)
	if !ok {
		return
	}
	var all []map[string]any
	for _, u := range s.sortedUsers() {
		if u.ID == c.user.ID || u.Service {
			continue
		}
		if search == nil || search.MatchString(u.displayName()) || search.MatchString(u.Email) {
			all = append(all, s.state.userWire(u))
		}
	}
	writeJSON(w, refPage(r, all, size))
}

// colleaguesBulk: POST /users/me/colleaguesbulk: a bare array of emails;
// from the 51st on they are ignored; only found users come back.
func (s *Server) colleaguesBulk(w http.ResponseWriter, r *http.Request, _ caller) {
	var emails []json.RawMessage
	if !decodeBody(w, r, &emails) {
		return
	}
	if len(emails) > MaxColleaguesBulk {
		emails = emails[:MaxColleaguesBulk]
	}
	data := []map[string]any{}
	for _, raw := range emails {
		var e string
		if json.Unmarshal(raw, &e) != nil {
			writeError(w, http.StatusBadRequest, "the body must be an array of email strings", "")
			return
		}
		if u := s.state.userByEmail(e); u != nil && !u.Service {
			data = append(data, s.state.userWire(u))
		}
	}
	writeJSON(w, map[string]any{"data": data})
}
