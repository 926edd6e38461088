package spacestest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Fault changes how a route answers, for testing a client's resilience.
type Fault struct {
	// Route is the route it applies to (e.g. "POST /spaces/invite"); "" or
	// "*" for every API route.
	Route string `json:"route"`
	// Latency is added before anything else happens.
	Latency time.Duration `json:"latency,omitempty"`
	// Status answers with this code without doing anything (429, 500, 503).
	Status int `json:"status,omitempty"`
	// RetryAfter is the Retry-After header sent with Status, if any.
	RetryAfter string `json:"retryAfter,omitempty"`
	// Reset closes the connection without answering or doing anything.
	Reset bool `json:"reset,omitempty"`
	// DropResponse does the work (commits it), then closes the connection
	// without answering: the caller cannot know it succeeded.
	DropResponse bool `json:"dropResponse,omitempty"`
	// OperationStatus makes each bulk account operation on an email in
	// Emails fail alone with this code, doing nothing, inside an answer of
	// 200 (POST /users/bulkupdateaccounts).
	// Answer does the work, then answers 200 with exactly this body (null,
	// {}, nothing, or a document cut short) instead of the real answer.
	Answer          *string  `json:"answer,omitempty"`
	OperationStatus int      `json:"operationStatus,omitempty"`
	Emails          []string `json:"emails,omitempty"`
	// Times is how many requests it applies to; 0 means until cleared.
	Times int `json:"times,omitempty"`
}

type faultKey struct{}

// faultOf is the fault the request is being served under, if any.
func faultOf(r *http.Request) *Fault {
	f, _ := r.Context().Value(faultKey{}).(*Fault)
	return f
}

// AddFault installs a fault. Faults apply in the order added; the first
// matching one wins.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fc := f
	s.faults = append(s.faults, &fc)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault returns the fault for route, consuming one of its Times.
func (s *Server) takeFault(route string) *Fault {
	for i, f := range s.faults {
		if f.Route != "" && f.Route != "*" && f.Route != route {
			continue
		}
		fc := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		return &fc
	}
	return nil
}

// resetConnection closes the client's connection without a response.
func resetConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// Not hijackable (HTTP/2): abort the handler, which resets the stream.
	panic(http.ErrAbortHandler)
}

func writeFaultStatus(w http.ResponseWriter, f *Fault) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	writeError(w, f.Status, http.StatusText(f.Status), "")
}

// handleFaults serves POST /_fake/faults (a Fault, or a list of them, to
// add) and DELETE /_fake/faults (clear all).
func (s *Server) handleFaults(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodDelete {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var list []Fault
	dec := json.NewDecoder(r.Body)
	raw := json.RawMessage{}
	if err := dec.Decode(&raw); err != nil {
		writeError(w, http.StatusBadRequest, "body must be a fault or a list of faults: "+err.Error(), "")
		return
	}
	if len(raw) > 0 && raw[0] == '[' {
		if err := json.Unmarshal(raw, &list); err != nil {
			writeError(w, http.StatusBadRequest, err.Error(), "")
			return
		}
	} else {
		var f Fault
		if err := json.Unmarshal(raw, &f); err != nil {
			writeError(w, http.StatusBadRequest, err.Error(), "")
			return
		}
		list = []Fault{f}
	}
	for _, f := range list {
		s.AddFault(f)
	}
	writeJSON(w, map[string]string{"added": strconv.Itoa(len(list))})
}
