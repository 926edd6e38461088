package spacestest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
)

// reshape sends a recorded answer as the dialect would: ids as "id",
// phone numbers as an object, errors nested. The caller holds s.mu.
func (s *Server) reshape(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	body := rec.Body.Bytes()
	if s.is(DialectIDNotUnderscore) || s.is(DialectPhoneNumbersObject) || (s.is(DialectErrorNested) && rec.Code >= 400) {
		var doc any
		if json.Unmarshal(body, &doc) == nil {
			if rec.Code >= 400 && s.is(DialectErrorNested) {
				if m, ok := doc.(map[string]any); ok {
					doc = map[string]any{"error": map[string]any{"code": strconv.Itoa(rec.Code), "message": m["message"]}}
				}
			}
			doc = s.rewrite(doc)
			var buf bytes.Buffer
			if json.NewEncoder(&buf).Encode(doc) == nil {
				body = buf.Bytes()
			}
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// rewrite walks a decoded answer, renaming and reshaping fields.
func (s *Server) rewrite(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			val = s.rewrite(val)
			switch {
			case k == "_id" && s.is(DialectIDNotUnderscore):
				out["id"] = val
			case k == "phone_numbers" && s.is(DialectPhoneNumbersObject):
				byType := map[string]any{}
				if list, ok := val.([]any); ok {
					for i, p := range list {
						if pm, ok := p.(map[string]any); ok {
							if t, ok := pm["type"].(string); ok {
								byType[t] = pm["number"]
								continue
							}
						}
						byType["phone"+strconv.Itoa(i)] = p
					}
				}
				out[k] = byType
			default:
				out[k] = val
			}
		}
		return out
	case []any:
		for i := range x {
			x[i] = s.rewrite(x[i])
		}
		return x
	}
	return v
}

// ForgetTokens makes the fake refuse every token it has seen so far, as if
// they had expired on its clock: a client must mint afresh to go on.
func (s *Server) ForgetTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.forgotten == nil {
		s.forgotten = map[[32]byte]bool{}
	}
	for _, m := range s.tokens {
		for h := range m {
			s.forgotten[h] = true
		}
	}
}
