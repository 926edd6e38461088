package spacestest

import (
	"net/http"
	"sort"
	"strings"
)

// postMessage creates a chat message, post (idea) or task in a space the
// caller is a member of. Responses are INFERRED: chats answer
// {"data":[message]}, posts and tasks the bare message, so clients are tested
// against both shapes spaces-api.md allows.
func (s *Server) postMessage(category string) handler {
	return func(w http.ResponseWriter, r *http.Request, c caller) {
		sp := s.spaceFor(w, r, c, true)
		if sp == nil {
			return
		}
		var b struct {
			Content   map[string]any `json:"content"`
			ParentMsg *struct {
				ID string `json:"_id"`
			} `json:"parentMsg"`
			Assignees []string `json:"assignees"`
			DueDate   string   `json:"dueDate"`
			Status    *int     `json:"status"`
		}
		if !decodeBody(w, r, &b) {
			return
		}
		body, _ := b.Content["bodyText"].(string)
		if strings.TrimSpace(body) == "" {
			writeError(w, http.StatusBadRequest, "content.bodyText is required", "")
			return
		}
		now := s.now()
		m := &Message{ID: objectID(now), Category: category, TopicID: sp.ID, SenderID: c.user.ID, Content: b.Content, Created: now, Modified: now, Sequence: len(s.state.Messages)}
		if b.ParentMsg != nil && b.ParentMsg.ID != "" {
			if p := s.state.Messages[b.ParentMsg.ID]; p == nil || p.TopicID != sp.ID {
				writeError(w, http.StatusBadRequest, "parentMsg is not a message of this space", "")
				return
			}
			m.ParentID = b.ParentMsg.ID
		}
		if category == "task" {
			if b.Status != nil && *b.Status == 1 {
				m.Content["status"] = "completed"
			} else if _, ok := m.Content["status"]; !ok {
				m.Content["status"] = "pending"
			}
			if b.DueDate != "" {
				m.Content["dueDate"] = b.DueDate
			}
			assignees := make([]map[string]string, 0, len(b.Assignees))
			for _, a := range b.Assignees {
				assignees = append(assignees, map[string]string{"_id": a})
			}
			if len(assignees) > 0 {
				m.Content["assignees"] = assignees
			}
		}
		s.state.Messages[m.ID] = m
		sp.Modified = now
		if category == "chat" {
			writeJSON(w, map[string]any{"data": []any{s.state.messageWire(m)}})
			return
		}
		writeJSON(w, s.state.messageWire(m))
	}
}

// listMessages lists a space's messages of a category, newest first, in
// reference-style pages (size default 30, at most 50).
func (s *Server) listMessages(category string) handler {
	return func(w http.ResponseWriter, r *http.Request, c caller) {
		sp := s.spaceFor(w, r, c, true)
		if sp == nil {
			return
		}
		size, _, ok := pageParams(w, r.URL.Query(), 30, 50)
		if !ok {
			return
		}
		var msgs []*Message
		for _, m := range s.state.Messages {
			if m.TopicID == sp.ID && m.Category == category {
				msgs = append(msgs, m)
			}
		}
		sort.Slice(msgs, func(i, j int) bool { return msgs[i].Sequence > msgs[j].Sequence })
		all := make([]map[string]any, 0, len(msgs))
		for _, m := range msgs {
			all = append(all, s.state.messageWire(m))
		}
		writeJSON(w, refPage(r, all, size))
	}
}

// updateMessage: POST /messages/{id}: body {_id, content}; _id must match.
func (s *Server) updateMessage(w http.ResponseWriter, r *http.Request, c caller) {
	var b struct {
		ID      string         `json:"_id"`
		Content map[string]any `json:"content"`
	}
	if !decodeBody(w, r, &b) {
		return
	}
	id := r.PathValue("id")
	if b.ID != id {
		writeError(w, http.StatusBadRequest, "_id must equal the message id in the path", "")
		return
	}
	m := s.state.Messages[id]
	if m == nil {
		writeError(w, http.StatusNotFound, "message not found", "")
		return
	}
	if sp := s.state.Spaces[m.TopicID]; sp == nil || sp.member(c.user.ID) == nil {
		writeError(w, http.StatusForbidden, "the service account is not a member of the message's space", "")
		return
	}
	for k, v := range b.Content {
		m.Content[k] = v
	}
	m.Modified = s.now()
	writeJSON(w, s.state.messageWire(m))
}

func (s *Server) sortedUsers() []*User {
	out := make([]*User, 0, len(s.state.Users))
	for _, u := range s.state.Users {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Email < out[j].Email })
	return out
}
