// Package credentials turns where an object takes its key from (its own
// Secret, a ClusterSpacesAccount, or the operator's default account) into a
// ready Spaces client and the policy it is bound by, caching one client per
// Secret and rebuilding it the moment the Secret changes.
package credentials

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/sync/singleflight"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
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
	// Issuer is the service app (the key file's iss), whose request budget
	// the client shares with every other credential of the app.
	Issuer string

	// proofKey signs the operator's own records (Vouch).
	proofKey []byte

	mu     sync.Mutex
	userID string
}

// Vouch is the proof that the operator recorded spaceID for the object
// uid: an HMAC keyed by a digest of the service-app private key, which a
// tenant who can edit annotations but not read the key cannot forge.
func (c *Credential) Vouch(uid types.UID, spaceID string) string {
	if len(c.proofKey) == 0 {
		return ""
	}
	mac := hmac.New(sha256.New, c.proofKey)
	mac.Write([]byte(string(uid) + "/" + spaceID))
	return "v1." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// Vouched reports whether proof is Vouch(uid, spaceID) under this key.
func (c *Credential) Vouched(uid types.UID, spaceID, proof string) bool {
	want := c.Vouch(uid, spaceID)
	return want != "" && hmac.Equal([]byte(want), []byte(proof))
}

// proofKeyOf derives the key of Vouch from the private key, never the key
// itself, under a label of its own.
func proofKeyOf(key *spaces.ServiceKey) []byte {
	h := sha256.New()
	h.Write([]byte("spaces-operator space-id proof v1\x00"))
	h.Write(x509.MarshalPKCS1PrivateKey(key.PrivateKey))
	return h.Sum(nil)
}

// ServiceAccountID is the user id of the key's service account, asked of
// Spaces (GET /users/me) once and remembered for the credential's life.
func (c *Credential) ServiceAccountID(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.userID != "" {
		return c.userID, nil
	}
	me, err := c.Client.Me(ctx)
	if err != nil {
		return "", err
	}
	if me.ID == "" {
		return "", &spaces.Error{Kind: spaces.KindUnavailable, Endpoint: spaces.EndpointUsersMe, StatusCode: http.StatusOK, Message: "the answer names no user id"}
	}
	c.userID = me.ID
	return c.userID, nil
}

// Error says why no credential could be had. Reason is a condition reason.
type Error struct {
	Reason  string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Source is where an object takes its key from: its own Secret
// (credentialsRef), a ClusterSpacesAccount (accountRef), or, with neither,
// the operator's default account.
type Source struct {
	CredentialsRef *spacesv1alpha1.CredentialsReference
	AccountRef     *spacesv1alpha1.AccountReference
}

// Policy is what an object may do with its credential.
type Policy struct {
	// Account is the ClusterSpacesAccount lending the key; "" for a key in
	// the object's own namespace (credentialsRef), the team's own service
	// app, which may do everything its scopes allow.
	Account string
	// EmailDomains bound invitees, owners and users (empty: any).
	EmailDomains []string
	// Allow is what the account permits.
	Allow spacesv1alpha1.AccountPermissions
}

// Unrestricted reports whether the policy is a team's own key's.
func (p Policy) Unrestricted() bool { return p.Account == "" }

// Options configure a Resolver.
type Options struct {
	// DefaultAccount is the ClusterSpacesAccount of objects with neither
	// accountRef nor credentialsRef (--default-account); "": such objects
	// have no credentials.
	DefaultAccount string
	// APIURL is the Spaces API base URL unless a Secret's api-url or an
	// account's apiURL says otherwise.
	APIURL string
	// AllowedAPIURLs are the only API base URLs ever called
	// (--allowed-api-urls); APIURL is always among them. Empty: production
	// and staging.
	AllowedAPIURLs []string
	// AllowAPIURL, when set, decides instead of AllowedAPIURLs (tests, whose
	// fakes listen on random ports).
	AllowAPIURL func(string) bool
	// QPS and Burst size each service app's shared token bucket, of which
	// drift checks may take DriftShare (spaces.DefaultDriftShare).
	QPS        float64
	Burst      int
	DriftShare float64
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
	limiters map[limiterKey]*spaces.Limiter
	flight   singleflight.Group
}

type ref struct {
	secret types.NamespacedName
	key    string
	// apiURL is an account's apiURL, which outranks the Secret's api-url.
	apiURL string
}

type entry struct {
	resourceVersion string
	// fingerprint is what the credential was built from (the key file and
	// the API URL): a Secret whose resourceVersion moved for anything else
	// (the in-use finalizer, a label) keeps its client, tokens included.
	fingerprint [sha256.Size]byte
	cred        *Credential
}

// NewResolver returns a Resolver. cached must serve PartialObjectMetadata
// of Secrets and Namespaces and ClusterSpacesAccounts (the manager's
// client, with Secrets watched metadata-only); direct reads Secrets
// uncached (the manager's API reader).
func NewResolver(cached, direct client.Reader, opts Options) *Resolver {
	if opts.APIURL == "" {
		opts.APIURL = spaces.ProductionURL
	}
	if len(opts.AllowedAPIURLs) == 0 {
		opts.AllowedAPIURLs = []string{spaces.ProductionURL, spaces.StagingURL}
	}
	if opts.QPS <= 0 {
		opts.QPS = spaces.DefaultQPS
	}
	if opts.Burst <= 0 {
		opts.Burst = spaces.DefaultBurst
	}
	return &Resolver{cached: cached, direct: direct, opts: opts, entries: map[ref]*entry{}, limiters: map[limiterKey]*spaces.Limiter{}}
}

// SourceKey names where an object in namespace takes its key from, for
// indexes: "secret:NAMESPACE/NAME" for its own Secret, "account:NAME" for an
// account (the default one included). ok is false when there is none.
func (r *Resolver) SourceKey(namespace string, src Source) (string, bool) {
	if src.CredentialsRef != nil {
		return SecretSourceKey(types.NamespacedName{Namespace: namespace, Name: src.CredentialsRef.Name}), true
	}
	if name := r.AccountOf(src); name != "" {
		return AccountSourceKey(name), true
	}
	return "", false
}

// SecretSourceKey is the SourceKey of objects using secret directly.
func SecretSourceKey(secret types.NamespacedName) string { return "secret:" + secret.String() }

// AccountSourceKey is the SourceKey of objects using account name.
func AccountSourceKey(name string) string { return "account:" + name }

// AccountOf names the account an object with src uses: its accountRef, or
// the default account; "" for none (or its own Secret).
func (r *Resolver) AccountOf(src Source) string {
	if src.CredentialsRef != nil {
		return ""
	}
	if src.AccountRef != nil {
		return src.AccountRef.Name
	}
	return r.opts.DefaultAccount
}

// Resolve returns the credential of an object in namespace and the policy
// it is bound by. Errors are *Error with reason CredentialsNotFound,
// CredentialsInvalid or NotAllowed and a message saying what to do.
func (r *Resolver) Resolve(ctx context.Context, namespace string, src Source) (*Credential, Policy, error) {
	if cr := src.CredentialsRef; cr != nil {
		cred, err := r.credential(ctx, ref{secret: types.NamespacedName{Namespace: namespace, Name: cr.Name}, key: keyOrDefault(cr.Key)})
		return cred, Policy{}, err
	}
	name := r.AccountOf(src)
	if name == "" {
		return nil, Policy{}, &Error{Reason: spacesv1alpha1.ReasonCredentialsNotFound,
			Message: "neither spec.accountRef nor spec.credentialsRef is set and the operator has no --default-account; name a ClusterSpacesAccount lent to this namespace, or a Secret in it holding the service-app key file"}
	}
	var account spacesv1alpha1.ClusterSpacesAccount
	if err := r.cached.Get(ctx, client.ObjectKey{Name: name}, &account); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, Policy{}, &Error{Reason: spacesv1alpha1.ReasonCredentialsNotFound, Message: fmt.Sprintf(
				"ClusterSpacesAccount %q not found; ask the platform team for the account to use, or use spec.credentialsRef", name)}
		}
		return nil, Policy{}, err
	}
	lent, err := r.lends(ctx, &account, namespace)
	if err != nil {
		return nil, Policy{}, err
	}
	if !lent {
		return nil, Policy{}, &Error{Reason: spacesv1alpha1.ReasonNotAllowed, Message: fmt.Sprintf(
			"ClusterSpacesAccount %q is not lent to namespace %q (its spec.namespaceSelector does not select it); ask the platform team to label the namespace, or use spec.credentialsRef", name, namespace)}
	}
	cred, err := r.Account(ctx, &account)
	if err != nil {
		return nil, Policy{}, err
	}
	return cred, Policy{Account: name, EmailDomains: account.Spec.EmailDomains, Allow: account.Spec.Allow}, nil
}

// Account returns the credential of an account's key, whoever uses it.
func (r *Resolver) Account(ctx context.Context, account *spacesv1alpha1.ClusterSpacesAccount) (*Credential, error) {
	return r.credential(ctx, ref{secret: AccountSecret(account), key: keyOrDefault(account.Spec.SecretRef.Key), apiURL: account.Spec.APIURL})
}

// AccountSecret names the Secret holding an account's key.
func AccountSecret(account *spacesv1alpha1.ClusterSpacesAccount) types.NamespacedName {
	return types.NamespacedName{Namespace: account.Spec.SecretRef.Namespace, Name: account.Spec.SecretRef.Name}
}

func keyOrDefault(key string) string {
	if key == "" {
		return spacesv1alpha1.DefaultCredentialsKey
	}
	return key
}

// Lends reports whether account lends its key to namespace: its selector,
// empty meaning nobody, matches the namespace's labels.
func (r *Resolver) lends(ctx context.Context, account *spacesv1alpha1.ClusterSpacesAccount, namespace string) (bool, error) {
	sel := account.Spec.NamespaceSelector
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		return false, nil
	}
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false, &Error{Reason: spacesv1alpha1.ReasonNotAllowed, Message: fmt.Sprintf(
			"ClusterSpacesAccount %q has an invalid spec.namespaceSelector (%v); the platform team must correct it", account.Name, err)}
	}
	ns := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}}
	if err := r.cached.Get(ctx, client.ObjectKey{Name: namespace}, ns); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	return selector.Matches(labels.Set(ns.Labels)), nil
}

// credential returns the cached client of a Secret's key, rebuilt when the
// Secret has changed.
func (r *Resolver) credential(ctx context.Context, k ref) (*Credential, error) {
	secret, key := k.secret, k.key
	meta := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}}
	err := r.cached.Get(ctx, secret, meta)
	if err != nil && !apierrors.IsNotFound(err) {
		// An account's Secret may lie outside the namespaces the manager
		// watches (--watch-namespaces): read it around the cache.
		err = r.direct.Get(ctx, secret, meta)
	}
	if err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(k)
			return nil, notFound(secret, key)
		}
		return nil, err
	}
	if cred := r.cachedCredential(k, meta.ResourceVersion, nil); cred != nil {
		return cred, nil
	}
	// Concurrent misses of one Secret read and build it once: one client,
	// one token source, one JWT.
	v, err, _ := r.flight.Do(fmt.Sprintf("%v", k), func() (any, error) {
		var s corev1.Secret
		if err := r.direct.Get(ctx, secret, &s); err != nil {
			if apierrors.IsNotFound(err) {
				r.forget(k)
				return nil, notFound(secret, key)
			}
			return nil, err
		}
		fp := fingerprint(k, &s)
		if cred := r.cachedCredential(k, s.ResourceVersion, &fp); cred != nil {
			return cred, nil
		}
		cred, err := r.build(k, &s)
		if err != nil {
			r.forget(k)
			return nil, err
		}
		r.mu.Lock()
		r.entries[k] = &entry{resourceVersion: s.ResourceVersion, fingerprint: fp, cred: cred}
		r.mu.Unlock()
		return cred, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Credential), nil
}

// cachedCredential returns the cached credential of k when the Secret is at
// resourceVersion, or, given the fingerprint of its content, when that is
// unchanged (recording the new resourceVersion).
func (r *Resolver) cachedCredential(k ref, resourceVersion string, fp *[sha256.Size]byte) *Credential {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.entries[k]
	switch {
	case !ok:
		return nil
	case e.resourceVersion == resourceVersion:
		return e.cred
	case fp != nil && *fp == e.fingerprint:
		e.resourceVersion = resourceVersion
		return e.cred
	}
	return nil
}

// fingerprint digests what a credential is built from.
func fingerprint(k ref, s *corev1.Secret) [sha256.Size]byte {
	h := sha256.New()
	for _, part := range [][]byte{s.Data[k.key], s.Data[spacesv1alpha1.CredentialsAPIURLKey], []byte(k.apiURL)} {
		_, _ = fmt.Fprintf(h, "%d:", len(part))
		_, _ = h.Write(part)
	}
	var out [sha256.Size]byte
	copy(out[:], h.Sum(nil))
	return out
}

// APIURLAllowed reports whether the operator may call the API at base.
func (r *Resolver) APIURLAllowed(base string) bool {
	if r.opts.AllowAPIURL != nil {
		return r.opts.AllowAPIURL(base)
	}
	want := normalizeURL(base)
	for _, u := range append([]string{r.opts.APIURL}, r.opts.AllowedAPIURLs...) {
		if normalizeURL(u) == want {
			return true
		}
	}
	return false
}

func normalizeURL(u string) string {
	return strings.ToLower(strings.TrimRight(strings.TrimSpace(u), "/"))
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
	apiURL, from := r.opts.APIURL, "the manager's --api-url"
	if v := strings.TrimSpace(string(s.Data[spacesv1alpha1.CredentialsAPIURLKey])); v != "" {
		apiURL, from = v, fmt.Sprintf("Secret %s key %q", k.secret, spacesv1alpha1.CredentialsAPIURLKey)
	}
	if k.apiURL != "" {
		apiURL, from = k.apiURL, "the account's spec.apiURL"
	}
	if !r.APIURLAllowed(apiURL) {
		// The value is not repeated: it may be anything, a key included.
		return nil, &Error{Reason: spacesv1alpha1.ReasonCredentialsInvalid, Message: fmt.Sprintf(
			"%s names a Spaces API URL the operator may not call; it calls only the URLs of its --allowed-api-urls (production and staging by default)", from)}
	}
	tokens := spaces.NewTokenSource(key, spaces.TokenOptions{OnMint: r.opts.Metrics.JWTMinted, OnMintFailure: r.opts.Metrics.JWTMintFailed})
	opts := r.opts.ClientOptions
	opts.Limiter = r.limiter(key.Issuer, apiURL)
	opts.Metrics = r.opts.Metrics
	opts.HTTPClient = r.opts.HTTPClient
	c, err := spaces.NewClient(apiURL, tokens, opts)
	if err != nil {
		return nil, &Error{Reason: spacesv1alpha1.ReasonCredentialsInvalid, Message: fmt.Sprintf(
			"%s is not an absolute http(s) URL", from)}
	}
	return &Credential{Secret: k.secret, Client: c, Subject: key.Subject, KeyID: key.KeyID, Issuer: key.Issuer, proofKey: proofKeyOf(key)}, nil
}

// limiter is the request budget of a service app (its iss) at one API: the
// rate Spaces allows belongs to the app, so every Secret holding one of its
// keys, in any namespace, and every rotation of them, share one bucket and
// one 429 pause.
func (r *Resolver) limiter(issuer, apiURL string) *spaces.Limiter {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := limiterKey{issuer, normalizeURL(apiURL)}
	l, ok := r.limiters[k]
	if !ok {
		l = spaces.NewLimiter(r.opts.QPS, r.opts.Burst, r.opts.DriftShare, nil)
		r.limiters[k] = l
	}
	return l
}

type limiterKey struct{ issuer, apiURL string }

func (r *Resolver) forget(k ref) {
	r.mu.Lock()
	delete(r.entries, k)
	r.mu.Unlock()
}
