package spaces

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// BulkUpdateAccounts runs account operations (POST /users/bulkupdateaccounts)
// in calls of at most MaxBulkOperations, returning one result per operation
// in order. Spaces answers 200 when single operations fail; those are
// reported in the results, not as an error. Never retried after a 5xx or a
// network error. Server messages are scrubbed of the passwords sent.
//
// The answer's shape is INFERRED. Results are read as a list under data or
// results, or bare, each saying status "success" (or a success flag); an
// answer that cannot be matched to the operations is not guessed at: the
// users are read back (POST /users/me/colleaguesbulk) and each operation is
// judged by what Spaces then holds. The batch is never sent again.
func (c *Client) BulkUpdateAccounts(ctx context.Context, ops []BulkOperation) ([]BulkResult, error) {
	var results []BulkResult
	for chunk := range chunks(ops, MaxBulkOperations) {
		var passwords []string
		for _, op := range chunk {
			if op.Password != "" {
				passwords = append(passwords, string(op.Password))
			}
		}
		body, err := c.do(ctx, request{ep: EndpointUsersBulkUpdate, path: "/users/bulkupdateaccounts", body: chunk, secrets: passwords})
		if err != nil {
			return results, err
		}
		got, ok := readBulkResults(body, chunk)
		if !ok {
			if got, err = c.verifyBulk(ctx, chunk); err != nil {
				return results, err
			}
		}
		for i := range got {
			got[i].Status = Sanitize(got[i].Status, passwords...)
			if e := got[i].Error; e != nil {
				e.Message = Sanitize(e.Message, passwords...)
			}
		}
		results = append(results, got...)
	}
	return results, nil
}

// bulkWire is one result as any plausible answer spells it.
type bulkWire struct {
	Action  string          `json:"action"`
	Email   string          `json:"email"`
	Status  string          `json:"status"`
	Success *bool           `json:"success"`
	Message string          `json:"message"`
	User    *User           `json:"user"`
	Error   json.RawMessage `json:"error"`
}

// successWords are the statuses read as success.
var successWords = []string{"success", "succeeded", "ok", "done", "created", "updated", "deleted", "merged", "read"}

// readBulkResults reads the results of ops from an answer, if it can: one
// per operation, in order, each saying how it went.
func readBulkResults(body []byte, ops []BulkOperation) ([]BulkResult, bool) {
	var items []bulkWire
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if json.Unmarshal(trimmed, &items) != nil {
			return nil, false
		}
	} else {
		var env struct {
			Data    []bulkWire `json:"data"`
			Results []bulkWire `json:"results"`
		}
		if json.Unmarshal(trimmed, &env) != nil {
			return nil, false
		}
		items = env.Data
		if items == nil {
			items = env.Results
		}
	}
	if len(items) != len(ops) {
		return nil, false
	}
	out := make([]BulkResult, len(items))
	for i, it := range items {
		if it.Email != "" && !strings.EqualFold(it.Email, ops[i].Email) {
			return nil, false // not in request order: no guessing which is which
		}
		r := BulkResult{Action: orElse(it.Action, ops[i].Action), Email: ops[i].Email, User: it.User}
		code, message := http.StatusBadRequest, it.Message
		if len(it.Error) > 0 && !bytes.Equal(it.Error, []byte("null")) {
			var e struct {
				Code    json.Number `json:"code"`
				Message string      `json:"message"`
			}
			var text string
			if json.Unmarshal(it.Error, &e) == nil {
				if n, err := e.Code.Int64(); err == nil && n > 0 {
					code = int(n)
				}
				message = orElse(e.Message, message)
			} else if json.Unmarshal(it.Error, &text) == nil {
				message = orElse(text, message)
			}
		}
		switch {
		case it.Success != nil && *it.Success, it.Success == nil && slices.Contains(successWords, strings.ToLower(it.Status)):
			r.Status = "success"
		case it.Success != nil || it.Status != "":
			r.Status = orElse(it.Status, "error")
			r.Error = &BulkError{Code: code, Message: orElse(message, "failed")}
		default:
			return nil, false // says nothing of how it went
		}
		out[i] = r
	}
	return out, true
}

// verifyBulk judges operations whose answer could not be read by reading
// the users back: a create or an update shows as the user existing, a
// delete as the user gone. What does not show is a transient failure (503),
// tried again later, where the reading back proves it never happened.
func (c *Client) verifyBulk(ctx context.Context, ops []BulkOperation) ([]BulkResult, error) {
	emails := make([]string, 0, len(ops))
	for _, op := range ops {
		emails = append(emails, op.Email)
	}
	users, err := c.ColleaguesBulk(ctx, emails)
	if err != nil {
		return nil, err
	}
	byEmail := UsersByEmail(users)
	const note = "Spaces' answer could not be read; checked by reading the user back"
	out := make([]BulkResult, len(ops))
	for i, op := range ops {
		u, exists := byEmail[strings.ToLower(op.Email)]
		r := BulkResult{Action: op.Action, Email: op.Email, Status: "success", Note: note}
		switch {
		case op.Action == BulkActionDelete && exists:
			r.Status, r.Error = "error", &BulkError{Code: http.StatusServiceUnavailable, Message: note + ": the user still exists"}
		case op.Action == BulkActionDelete:
		case !exists:
			r.Status, r.Error = "error", &BulkError{Code: http.StatusServiceUnavailable, Message: note + ": the user does not exist"}
		default:
			r.User = &u
		}
		out[i] = r
	}
	return out, nil
}

func orElse(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// UsersByEmail indexes users by every address they have, in lower case.
func UsersByEmail(users []User) map[string]User {
	out := map[string]User{}
	for _, u := range users {
		for _, e := range u.Emails {
			out[strings.ToLower(e.Value)] = u
		}
		if u.Username != "" {
			out[strings.ToLower(u.Username)] = u
		}
	}
	return out
}
