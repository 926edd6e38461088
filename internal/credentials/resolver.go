// Package credentials turns an object's spec.credentialsRef (or the
// operator's default) into a ready Spaces client, caching one per Secret and
// rebuilding it the moment the Secret changes.
package credentials

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/spaces"
)

// Credential is a usable service-app key.
type Credential struct {
	// Secret holds the key file.
	Secret types.NamespacedName
	// Client calls Spaces with the key.
	Client *spaces.Client
	// Subject is the service account (the key file's sub).
	Subject string
	// KeyID is the key's kid.
	KeyID string
}

// Error says why no credential could be had. Reason is a condition reason.
type Error struct {
	Reason  string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Options configure a Resolver.
type Options struct {
	// Default is the Secret used by objects without spec.credentialsRef
	// (--default-credentials); nil: such objects have none.
	Default *types.NamespacedName
	// APIURL is the Spaces API base URL unless a Secret's api-url says
	// otherwise.
	APIURL string
	// QPS and Burst size each credential's shared token bucket.
	QPS   float64
	Burst int
	// Metrics of the Spaces clients (nil: none).
	Metrics *spaces.Metrics
	// HTTPClient for the Spaces clients (nil: a default one).
	HTTPClient *http.Client
	// ClientOptions are the rest of the client settings (timeouts, retries).
	ClientOptions spaces.ClientOptions
}

// Resolver resolves and caches credentials. Secrets are read metadata-first
// from the manager's cache (so only metadata of Secrets is held in memory)
// and fetched in full only when their resourceVersion differs from the
// cached credential's.
type Resolver struct {
	cached client.Reader // metadata reads, served by the informer cache
	direct client.Reader // full Secret reads, straight from the API server
	opts   Options

	mu       sync.Mutex
	entries  map[ref]*entry
	limiters map[ref]*spaces.Limiter
}

type ref struct {
	secret types.NamespacedName
	key    string
}

type entry struct {
	resourceVersion string
	cred            *Credential
}

// NewResolver returns a Resolver. cached must serve PartialObjectMetadata
// of Secrets (the manager's client, with Secrets watched metadata-only);
// direct reads Secrets uncached (the manager's API reader).
func NewResolver(cached, direct client.Reader, opts Options) *Resolver {
	if opts.APIURL == "" {
		opts.APIURL = spaces.ProductionURL
	}
	if opts.QPS <= 0 {
		opts.QPS = spaces.DefaultQPS
	}
	if opts.Burst <= 0 {
		opts.Burst = spaces.DefaultBurst
	}
	return &Resolver{cached: cached, direct: direct, opts: opts, entries: map[ref]*entry{}, limiters: map[ref]*spaces.Limiter{}}
}

// SecretFor names the Secret an object in namespace uses: its own
// credentialsRef, else the default. ok is false when there is none.
func (r *Resolver) SecretFor(namespace string, cr *spacesv1alpha1.CredentialsReference) (secret types.NamespacedName, key string, ok bool) {
	if cr != nil {
		key = cr.Key
		if key == "" {
			key = spacesv1alpha1.DefaultCredentialsKey
		}
		return types.NamespacedName{Namespace: namespace, Name: cr.Name}, key, true
	}
	if r.opts.Default != nil {
		return *r.opts.Default, spacesv1alpha1.DefaultCredentialsKey, true
	}
	return types.NamespacedName{}, "", false
}

// Resolve returns the credential of an object in namespace with the given
// credentialsRef. Errors are *Error with reason CredentialsNotFound or
// CredentialsInvalid and a message saying what to do.
func (r *Resolver) Resolve(ctx context.Context, namespace string, cr *spacesv1alpha1.CredentialsReference) (*Credential, error) {
	secret, key, ok := r.SecretFor(namespace, cr)
	if !ok {
		return nil, &Error{Reason: spacesv1alpha1.ReasonCredentialsNotFound,
			Message: "spec.credentialsRef is not set and the operator has no --default-credentials; set spec.credentialsRef to a Secret in this namespace holding the service-app key file"}
	}
	k := ref{secret, key}

	meta := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}}
	if err := r.cached.Get(ctx, secret, meta); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(k)
			return nil, notFound(secret, key)
		}
		return nil, err
	}
	r.mu.Lock()
	if e, ok := r.entries[k]; ok && e.resourceVersion == meta.ResourceVersion {
		r.mu.Unlock()
		return e.cred, nil
	}
	r.mu.Unlock()

	var s corev1.Secret
	if err := r.direct.Get(ctx, secret, &s); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(k)
			return nil, notFound(secret, key)
		}
		return nil, err
	}
	cred, err := r.build(k, &s)
	if err != nil {
		r.forget(k)
		return nil, err
	}
	r.mu.Lock()
	r.entries[k] = &entry{resourceVersion: s.ResourceVersion, cred: cred}
	r.mu.Unlock()
	return cred, nil
}

func notFound(secret types.NamespacedName, key string) *Error {
	return &Error{Reason: spacesv1alpha1.ReasonCredentialsNotFound, Message: fmt.Sprintf(
		"Secret %s not found; create it from the downloaded key file: kubectl create secret generic %s -n %s --from-file=%s=./service-key-XXXX.json",
		secret, secret.Name, secret.Namespace, key)}
}

func (r *Resolver) build(k ref, s *corev1.Secret) (*Credential, error) {
	data, ok := s.Data[k.key]
	if !ok || len(data) == 0 {
		return nil, &Error{Reason: spacesv1alpha1.ReasonCredentialsNotFound, Message: fmt.Sprintf(
			"Secret %s has no key %q; it must hold the service-app key file under that key", k.secret, k.key)}
	}
	key, err := spaces.ParseServiceKey(data)
	if err != nil {
		return nil, &Error{Reason: spacesv1alpha1.ReasonCredentialsInvalid, Message: fmt.Sprintf(
			"Secret %s key %q: %v; download the key again from the developer portal", k.secret, k.key, err)}
	}
	apiURL := r.opts.APIURL
	if v := strings.TrimSpace(string(s.Data[spacesv1alpha1.CredentialsAPIURLKey])); v != "" {
		apiURL = v
	}
	tokens := spaces.NewTokenSource(key, spaces.TokenOptions{OnMint: r.opts.Metrics.JWTMinted})
	opts := r.opts.ClientOptions
	opts.Limiter = r.limiter(k)
	opts.Metrics = r.opts.Metrics
	opts.HTTPClient = r.opts.HTTPClient
	c, err := spaces.NewClient(apiURL, tokens, opts)
	if err != nil {
		return nil, &Error{Reason: spacesv1alpha1.ReasonCredentialsInvalid, Message: fmt.Sprintf(
			"Secret %s key %q: %v", k.secret, spacesv1alpha1.CredentialsAPIURLKey, err)}
	}
	return &Credential{Secret: k.secret, Client: c, Subject: key.Subject, KeyID: key.KeyID}, nil
}

// limiter is the credential's request budget. It outlives key rotations: a
// rotated key belongs to the same service app, whose rate limit and 429
// pauses carry on.
func (r *Resolver) limiter(k ref) *spaces.Limiter {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.limiters[k]
	if !ok {
		l = spaces.NewLimiter(r.opts.QPS, r.opts.Burst, nil)
		r.limiters[k] = l
	}
	return l
}

func (r *Resolver) forget(k ref) {
	r.mu.Lock()
	delete(r.entries, k)
	r.mu.Unlock()
}
