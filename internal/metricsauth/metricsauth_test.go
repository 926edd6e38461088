package metricsauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/avayacloud/spaces-operator/internal/testenv"
)

// fakeReviewer answers from tables and counts what it was asked.
type fakeReviewer struct {
	users        map[string]authnv1.UserInfo // token -> user
	allowed      map[string]bool             // username + " " + verb + " " + path
	authnErr     error
	authzErr     error
	authns       int
	authzs       int
	lastVerbPath string
}

func (f *fakeReviewer) Authenticate(_ context.Context, token string) (authnv1.UserInfo, bool, error) {
	f.authns++
	if f.authnErr != nil {
		return authnv1.UserInfo{}, false, f.authnErr
	}
	u, ok := f.users[token]
	return u, ok, nil
}

func (f *fakeReviewer) Authorize(_ context.Context, user authnv1.UserInfo, verb, path string) (bool, error) {
	f.authzs++
	f.lastVerbPath = verb + " " + path
	if f.authzErr != nil {
		return false, f.authzErr
	}
	return f.allowed[user.Username+" "+verb+" "+path], nil
}

func serve(t *testing.T, r Reviewer, method, authorization string) (int, bool) {
	t.Helper()
	reached := false
	h, err := Filter(r)(logr.Discard(), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { reached = true }))
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(method, "/metrics", nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, reached
}

func TestFilter(t *testing.T) {
	prom := authnv1.UserInfo{Username: "system:serviceaccount:monitoring:prometheus"}
	other := authnv1.UserInfo{Username: "system:serviceaccount:team-a:default"}
	tests := []struct {
		name          string
		method        string
		authorization string
		authnErr      error
		authzErr      error
		want          int
	}{
		{name: "no token", authorization: "", want: http.StatusUnauthorized},
		{name: "not a bearer token", authorization: "Basic cHJvbTpwYXNz", want: http.StatusUnauthorized},
		{name: "empty bearer token", authorization: "Bearer ", want: http.StatusUnauthorized},
		{name: "token the API server refuses", authorization: "Bearer forged", want: http.StatusUnauthorized},
		{name: "allowed caller", authorization: "Bearer prom-token", want: http.StatusOK},
		{name: "scheme in any case", authorization: "bearer prom-token", want: http.StatusOK},
		{name: "caller without the role", authorization: "Bearer other-token", want: http.StatusForbidden},
		{name: "verb the role does not grant", method: http.MethodPost, authorization: "Bearer prom-token", want: http.StatusForbidden},
		{name: "token review fails", authorization: "Bearer prom-token", authnErr: errors.New("connection refused"), want: http.StatusInternalServerError},
		{name: "access review fails", authorization: "Bearer prom-token", authzErr: errors.New("connection refused"), want: http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &fakeReviewer{
				users:    map[string]authnv1.UserInfo{"prom-token": prom, "other-token": other},
				allowed:  map[string]bool{prom.Username + " get /metrics": true},
				authnErr: tt.authnErr, authzErr: tt.authzErr,
			}
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			code, reached := serve(t, r, method, tt.authorization)
			if code != tt.want {
				t.Fatalf("status %d, want %d", code, tt.want)
			}
			if reached != (tt.want == http.StatusOK) {
				t.Fatalf("handler reached %v with status %d", reached, code)
			}
		})
	}
}

func TestCachingReviewer(t *testing.T) {
	ctx := context.Background()
	prom := authnv1.UserInfo{Username: "prom", Groups: []string{"system:authenticated"}}
	next := &fakeReviewer{
		users:   map[string]authnv1.UserInfo{"prom-token": prom},
		allowed: map[string]bool{"prom get /metrics": true},
	}
	now := time.Unix(1_000_000, 0)
	c := NewCachingReviewer(next, func() time.Time { return now })

	authn := func(token string) bool {
		_, ok, err := c.Authenticate(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	authz := func(user authnv1.UserInfo, path string) bool {
		ok, err := c.Authorize(ctx, user, "get", path)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}

	// Scrapes within a minute cost one token review, whatever the answer.
	for range 3 {
		if !authn("prom-token") || authn("forged") {
			t.Fatal("wrong authentication answer from the cache")
		}
	}
	if next.authns != 2 {
		t.Fatalf("%d token reviews for two tokens within their TTL, want 2", next.authns)
	}
	now = now.Add(tokenTTL)
	authn("prom-token")
	if next.authns != 3 {
		t.Fatalf("%d token reviews after the TTL, want 3", next.authns)
	}

	// An allow is kept 5 minutes, a deny 30 s.
	authz(prom, "/metrics")
	authz(prom, "/debug")
	authz(prom, "/metrics")
	authz(prom, "/debug")
	if next.authzs != 2 {
		t.Fatalf("%d access reviews, want 2", next.authzs)
	}
	now = now.Add(denyTTL)
	authz(prom, "/metrics")
	authz(prom, "/debug")
	if next.authzs != 3 {
		t.Fatalf("%d access reviews after the deny TTL, want 3 (only the deny asked again)", next.authzs)
	}

	// Another group set is another question.
	admin := prom
	admin.Groups = []string{"system:authenticated", "system:masters"}
	authz(admin, "/metrics")
	if next.authzs != 4 {
		t.Fatalf("%d access reviews, want 4: a user in other groups shares no answer", next.authzs)
	}

	// Errors are not remembered.
	next.authnErr = errors.New("timeout")
	now = now.Add(tokenTTL)
	if _, _, err := c.Authenticate(ctx, "prom-token"); err == nil {
		t.Fatal("want the error")
	}
	next.authnErr = nil
	if !authn("prom-token") {
		t.Fatal("a failed review was cached")
	}
}

func TestCachingReviewer_Bounded(t *testing.T) {
	next := &fakeReviewer{users: map[string]authnv1.UserInfo{}}
	c := NewCachingReviewer(next, time.Now).(*cachingReviewer)
	for i := range 3 * maxCached {
		if _, _, err := c.Authenticate(context.Background(), string(rune(i))+"random"); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.tokens.entries) > maxCached {
		t.Fatalf("%d tokens cached, want at most %d", len(c.tokens.entries), maxCached)
	}
}

// TestProvider asks a real API server, with the metrics-reader ClusterRole
// this repository ships.
func TestProvider(t *testing.T) {
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(env.Config)

	var role rbacv1.ClusterRole
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "rbac", "metrics_reader_role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &role); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "monitoring"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	token := func(sa string) string {
		if _, err := cs.CoreV1().ServiceAccounts("monitoring").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		tr, err := cs.CoreV1().ServiceAccounts("monitoring").CreateToken(ctx, sa, &authnv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}
	prometheus, stranger := token("prometheus"), token("stranger")
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "prometheus-metrics-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "monitoring", Name: "prometheus"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	hc, err := rest.HTTPClientFor(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	filter, err := Provider(env.Config, hc)
	if err != nil {
		t.Fatal(err)
	}
	h, err := filter(logr.Discard(), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		method string
		path   string
		token  string
		want   int
	}{
		{"bound to metrics-reader", http.MethodGet, "/metrics", prometheus, http.StatusOK},
		{"no binding", http.MethodGet, "/metrics", stranger, http.StatusForbidden},
		{"path the role does not name", http.MethodGet, "/debug/pprof/", prometheus, http.StatusForbidden},
		{"verb the role does not grant", http.MethodPost, "/metrics", prometheus, http.StatusForbidden},
		{"token no one issued", http.MethodGet, "/metrics", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", http.StatusUnauthorized},
		{"no token", http.MethodGet, "/metrics", "", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d (%s), want %d", rec.Code, rec.Body.String(), tt.want)
			}
		})
	}
}
