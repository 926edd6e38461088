// Package metricsauth lets only callers the API server vouches for read the
// metrics endpoint: the caller's bearer token is checked with a TokenReview,
// and its right to GET the path with a SubjectAccessReview, which the
// metrics-reader ClusterRole grants.
//
// It does what controller-runtime's metrics/filters package does, with the
// same cache times, but with the client-go typed clients the manager links
// anyway: that package brings in k8s.io/apiserver (CEL, gRPC,
// OpenTelemetry), 20 MB of the binary and 16 MiB of every replica's resident
// memory, for two API calls.
package metricsauth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authnclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authzclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// The cache times of controller-runtime's filter (and of the kubelet's):
// a scrape every 15-60 s costs the API server a review a minute at most.
const (
	tokenTTL      = time.Minute
	allowTTL      = 5 * time.Minute
	denyTTL       = 30 * time.Second
	reviewTimeout = 10 * time.Second
	// maxCached bounds each cache: a caller sending random tokens must not
	// grow the manager's memory.
	maxCached = 1024
)

// Reviewer asks the API server who a token belongs to and what it may do.
type Reviewer interface {
	// Authenticate returns the user a token belongs to, false when the API
	// server does not accept the token.
	Authenticate(ctx context.Context, token string) (authnv1.UserInfo, bool, error)
	// Authorize says whether user may do verb on the non-resource path.
	Authorize(ctx context.Context, user authnv1.UserInfo, verb, path string) (bool, error)
}

// Provider is a metricsserver.Options FilterProvider.
func Provider(cfg *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	authn, err := authnclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	authz, err := authzclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	return Filter(NewCachingReviewer(apiReviewer{authn: authn, authz: authz}, time.Now)), nil
}

// Filter wraps the metrics handler: 401 without a token the API server
// accepts, 403 when its user may not do the request's verb on the path,
// 500 when the API server cannot say.
func Filter(r Reviewer) metricsserver.Filter {
	return func(log logr.Logger, next http.Handler) (http.Handler, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			ctx, cancel := context.WithTimeout(req.Context(), reviewTimeout)
			defer cancel()
			token, ok := bearerToken(req)
			if !ok {
				http.Error(w, "Unauthorized", http.StatusUnauthorized)
				return
			}
			user, ok, err := r.Authenticate(ctx, token)
			if err != nil {
				log.Error(err, "Cannot review the token of a metrics request")
				http.Error(w, "Authentication failed", http.StatusInternalServerError)
				return
			}
			if !ok {
				log.V(4).Info("Metrics request with a token the API server does not accept")
				http.Error(w, "Unauthorized", http.StatusUnauthorized)
				return
			}
			allowed, err := r.Authorize(ctx, user, strings.ToLower(req.Method), req.URL.Path)
			if err != nil {
				log.Error(err, "Cannot review the access of a metrics request", "user", user.Username)
				http.Error(w, fmt.Sprintf("Authorization for user %s failed", user.Username), http.StatusInternalServerError)
				return
			}
			if !allowed {
				log.V(4).Info("Metrics request denied", "user", user.Username, "path", req.URL.Path)
				http.Error(w, fmt.Sprintf("Authorization denied for user %s", user.Username), http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, req)
		}), nil
	}
}

func bearerToken(req *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(req.Header.Get("Authorization")), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
		return "", false
	}
	return token, true
}

// apiReviewer sends the reviews to the API server.
type apiReviewer struct {
	authn authnclient.TokenReviewsGetter
	authz authzclient.SubjectAccessReviewsGetter
}

func (a apiReviewer) Authenticate(ctx context.Context, token string) (authnv1.UserInfo, bool, error) {
	review, err := a.authn.TokenReviews().Create(ctx, &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return authnv1.UserInfo{}, false, err
	}
	if review.Status.Error != "" && !review.Status.Authenticated {
		// The review ran and refused the token; its error says why (expired,
		// unknown issuer), not that the API server failed.
		return authnv1.UserInfo{}, false, nil
	}
	return review.Status.User, review.Status.Authenticated, nil
}

func (a apiReviewer) Authorize(ctx context.Context, user authnv1.UserInfo, verb, path string) (bool, error) {
	extra := make(map[string]authzv1.ExtraValue, len(user.Extra))
	for k, v := range user.Extra {
		extra[k] = authzv1.ExtraValue(v)
	}
	review, err := a.authz.SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User: user.Username, UID: user.UID, Groups: user.Groups, Extra: extra,
		NonResourceAttributes: &authzv1.NonResourceAttributes{Path: path, Verb: verb},
	}}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return review.Status.Allowed && !review.Status.Denied, nil
}

// NewCachingReviewer remembers next's answers (never its errors) for the
// cache times above, keyed by a digest of the token, never the token.
func NewCachingReviewer(next Reviewer, now func() time.Time) Reviewer {
	return &cachingReviewer{next: next, now: now}
}

type cachingReviewer struct {
	next   Reviewer
	now    func() time.Time
	tokens ttlCache[[sha256.Size]byte, tokenAnswer]
	access ttlCache[string, bool]
}

type tokenAnswer struct {
	user authnv1.UserInfo
	ok   bool
}

func (c *cachingReviewer) Authenticate(ctx context.Context, token string) (authnv1.UserInfo, bool, error) {
	key := sha256.Sum256([]byte(token))
	if a, found := c.tokens.get(key, c.now()); found {
		return a.user, a.ok, nil
	}
	user, ok, err := c.next.Authenticate(ctx, token)
	if err == nil {
		c.tokens.put(key, tokenAnswer{user: user, ok: ok}, c.now(), tokenTTL)
	}
	return user, ok, err
}

func (c *cachingReviewer) Authorize(ctx context.Context, user authnv1.UserInfo, verb, path string) (bool, error) {
	key := accessKey(user, verb, path)
	if allowed, found := c.access.get(key, c.now()); found {
		return allowed, nil
	}
	allowed, err := c.next.Authorize(ctx, user, verb, path)
	if err != nil {
		return false, err
	}
	ttl := denyTTL
	if allowed {
		ttl = allowTTL
	}
	c.access.put(key, allowed, c.now(), ttl)
	return allowed, nil
}

// accessKey names everything a SubjectAccessReview is asked about, so two
// users (or one user in two group sets) never share an answer.
func accessKey(user authnv1.UserInfo, verb, path string) string {
	h := sha256.New()
	write := func(s string) { fmt.Fprintf(h, "%d:%s", len(s), s) }
	write(user.Username)
	write(user.UID)
	write(verb)
	write(path)
	for _, g := range user.Groups {
		write("g" + g)
	}
	for _, k := range slices.Sorted(maps.Keys(user.Extra)) {
		write("x" + k)
		for _, v := range user.Extra[k] {
			write(v)
		}
	}
	return string(h.Sum(nil))
}

// ttlCache holds answers until they expire, at most maxCached of them.
type ttlCache[K comparable, V any] struct {
	mu      sync.Mutex
	entries map[K]ttlEntry[V]
}

type ttlEntry[V any] struct {
	value   V
	expires time.Time
}

func (c *ttlCache[K, V]) get(k K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || !now.Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.value, true
}

// put stores v for ttl from now, first dropping expired entries when the
// cache is full, and everything when that is not enough.
func (c *ttlCache[K, V]) put(k K, v V, now time.Time, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[K]ttlEntry[V]{}
	}
	if len(c.entries) >= maxCached {
		for key, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, key)
			}
		}
		if len(c.entries) >= maxCached {
			clear(c.entries)
		}
	}
	c.entries[k] = ttlEntry[V]{value: v, expires: now.Add(ttl)}
}
