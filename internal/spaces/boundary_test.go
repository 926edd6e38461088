package spaces_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avayacloud/spaces-operator/internal/spaces"
	"github.com/avayacloud/spaces-operator/internal/spaces/spacestest"
)

// hostile is a server that answers every request with h, counting them and
// the Authorization headers it saw.
type hostile struct {
	*httptest.Server
	requests, authorized atomic.Int32
}

func newHostile(t *testing.T, h http.HandlerFunc) *hostile {
	t.Helper()
	s := &hostile{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if r.Header.Get("Authorization") != "" {
			s.authorized.Add(1)
		}
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func clientOf(t *testing.T, base string) *spaces.Client {
	t.Helper()
	fake := spacestest.New(spacestest.Options{})
	key, err := fake.AddServiceApp()
	if err != nil {
		t.Fatal(err)
	}
	sk, err := spaces.ParseServiceKey(key.JSON)
	if err != nil {
		t.Fatal(err)
	}
	c, err := spaces.NewClient(base, spaces.NewTokenSource(sk, spaces.TokenOptions{}), spaces.ClientOptions{
		MaxRetries: -1, Limiter: spaces.NewLimiter(1000, 1000, 0, nil), Sleep: noSleep, MaxRateLimitWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBoundary_BaseURL: a base URL with a query, fragment or credentials
// (the SSRF of a path appended after "?x=") is refused, without repeating
// it.
func TestBoundary_BaseURL(t *testing.T) {
	for _, u := range []string{
		"http://logging.internal:9200/index?x=", "https://spaces.example/api#zqxfrag", "https://user:zqxpw@spaces.example/api",
		"-----BEGIN RSA PRIVATE KEY-----\nMIIE", "ftp://spaces.example/api", "/api",
	} {
		_, err := spaces.NewClient(u, nil, spaces.ClientOptions{})
		if err == nil {
			t.Errorf("%q accepted", u)
			continue
		}
		for _, part := range []string{"logging", "zqxfrag", "zqxpw", "BEGIN", "ftp"} {
			if strings.Contains(u, part) && strings.Contains(err.Error(), part) {
				t.Errorf("the error repeats %q: %v", part, err)
			}
		}
	}
}

// TestBoundary_RedirectsAreNotFollowed: a 307 to another server is an
// error naming the status; the other server sees nothing, so no token.
func TestBoundary_RedirectsAreNotFollowed(t *testing.T) {
	elsewhere := newHostile(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	redirector := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	_, err := clientOf(t, redirector.URL+"/api").Me(context.Background())
	if err == nil || !strings.Contains(err.Error(), "307") || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("err = %v, want one naming the 307 redirect", err)
	}
	if n := elsewhere.requests.Load(); n != 0 {
		t.Fatalf("the redirect was followed: %d requests (%d with Authorization)", n, elsewhere.authorized.Load())
	}
}

// TestBoundary_HugeAnswersAndEndlessPages: an answer over the cap, and a
// listing that never ends, stop with errors that say so.
func TestBoundary_HugeAnswersAndEndlessPages(t *testing.T) {
	huge := newHostile(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"_id":"`))
		chunk := []byte(strings.Repeat("x", 1<<20))
		for range 20 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		_, _ = w.Write([]byte(`"}`))
	})
	_, err := clientOf(t, huge.URL+"/api").Me(context.Background())
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("a 20 MiB answer: %v", err)
	}

	var n atomic.Int32
	endless := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"data":[{"_id":"%024x","title":"t"}],"nextPageUrl":"%s?pageToken=%d"}`, i, r.URL.Path, i)
	})
	_, err = clientOf(t, endless.URL+"/api").MySpaces(context.Background(), spaces.MySpacesQuery{})
	if err == nil || !strings.Contains(err.Error(), "pages") {
		t.Fatalf("an endless listing: %v", err)
	}
	if got := endless.requests.Load(); got > spaces.MaxPages {
		t.Fatalf("%d pages read", got)
	}

	// A server that keeps linking to empty pages: the first one ends it.
	var m atomic.Int32
	empty := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
		i := m.Add(1)
		data := `[]`
		if i == 1 {
			data = `[{"_id":"5f1051f0f3ed772f915e19ed","title":"t"}]`
		}
		fmt.Fprintf(w, `{"data":%s,"nextPageUrl":"%s?pageToken=%d"}`, data, r.URL.Path, i)
	})
	got, err := clientOf(t, empty.URL+"/api").MySpaces(context.Background(), spaces.MySpacesQuery{})
	if err != nil || len(got) != 1 || m.Load() != 2 {
		t.Fatalf("%d spaces, %d requests, %v: an empty page must end the listing", len(got), m.Load(), err)
	}
}

// TestBoundary_RetryAfterIsCapped: a year's Retry-After pauses 10 minutes.
func TestBoundary_RetryAfterIsCapped(t *testing.T) {
	s := newHostile(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "31536000")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	_, err := clientOf(t, s.URL+"/api").Me(context.Background())
	var e *spaces.Error
	if !errors.As(err, &e) || e.Kind != spaces.KindRateLimited || e.RetryAfter > spaces.MaxRetryAfter || e.RetryAfter < spaces.MaxRetryAfter-time.Second {
		t.Fatalf("err = %v (retry after %v), want RateLimited for %v", err, e.RetryAfter, spaces.MaxRetryAfter)
	}
}

// TestBoundary_PasswordsNeverReachMessages: a password straddling the
// message cap is redacted before the cut, in error answers and in bulk
// results alike; control and bidi characters go.
func TestBoundary_PasswordsNeverReachMessages(t *testing.T) {
	const password = "Sup3r-S3cret-Passw0rd-Xyz"
	msg := strings.Repeat("a", 295) + password + "\u202e\x07 tail"
	for _, status := range []int{http.StatusBadRequest, http.StatusOK} {
		s := newHostile(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if status != http.StatusOK {
				w.WriteHeader(status)
				fmt.Fprintf(w, `{"message":%q}`, msg)
				return
			}
			fmt.Fprintf(w, `{"data":[{"action":"create","email":"a@corp.example","status":%q,"error":{"code":400,"message":%q}}]}`, msg, msg)
		})
		results, err := clientOf(t, s.URL+"/api").BulkUpdateAccounts(context.Background(),
			[]spaces.BulkOperation{{Action: spaces.BulkActionCreate, Email: "a@corp.example", Password: password}})
		var texts []string
		if err != nil {
			texts = append(texts, err.Error())
		}
		for _, r := range results {
			texts = append(texts, r.Status, r.Error.Message)
		}
		if len(texts) == 0 {
			t.Fatalf("status %d: nothing to check", status)
		}
		for _, text := range texts {
			if strings.Contains(text, password[:4]) || strings.ContainsAny(text, "\u202e\x07") || len(text) > spaces.MaxMessage+200 {
				t.Errorf("status %d: %q", status, text)
			}
		}
	}
}
