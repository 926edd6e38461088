package spaces

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/sync/singleflight"
)

const (
	// DefaultAudience is the aud claim Spaces expects, in production and (as
	// far as anyone knows) in staging.
	DefaultAudience = "spaces.avayacloud.com"

	// MaxTokenLifetime is the longest exp - now Spaces accepts.
	MaxTokenLifetime = 3600 * time.Second
	// ClockSkewMargin is kept off the lifetime so that a Spaces server whose
	// clock is behind ours still never sees exp > its now + 3600 s.
	ClockSkewMargin = 5 * time.Minute
	// DefaultTokenLifetime is the longest lifetime allowed with the margin.
	DefaultTokenLifetime = MaxTokenLifetime - ClockSkewMargin
	// DefaultRefreshBefore: a token is replaced this long before it expires,
	// so a request never leaves with a token about to lapse in flight.
	DefaultRefreshBefore = 5 * time.Minute
)

// TokenOptions tune a TokenSource. Zero values take the defaults.
type TokenOptions struct {
	// Audience is the aud claim (DefaultAudience).
	Audience string
	// Lifetime of each token, capped at DefaultTokenLifetime.
	Lifetime time.Duration
	// RefreshBefore is how long before expiry a token is replaced.
	RefreshBefore time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
	// OnMint is called after each mint, and OnMintFailure after each
	// failed one, for metrics.
	OnMint        func()
	OnMintFailure func()
}

// TokenSource mints service-app JWTs for one key and shares them: callers get
// the cached token until shortly before it expires; concurrent callers that
// find none wait for a single mint.
type TokenSource struct {
	key  *ServiceKey
	opts TokenOptions

	mint singleflight.Group

	mu      sync.Mutex
	token   string
	expires time.Time
	// afterForbidden: the next mint replaces a token refused with a 403;
	// forbiddenFresh is that token, which gets no second chance.
	afterForbidden bool
	forbiddenFresh string
	forbiddenAt    time.Time
	// dropped are the last tokens dropped as refused: a new one must
	// differ from them.
	dropped []string
}

// NewTokenSource returns a TokenSource for key.
func NewTokenSource(key *ServiceKey, opts TokenOptions) *TokenSource {
	if opts.Audience == "" {
		opts.Audience = DefaultAudience
	}
	if opts.Lifetime <= 0 || opts.Lifetime > DefaultTokenLifetime {
		opts.Lifetime = DefaultTokenLifetime
	}
	if opts.RefreshBefore <= 0 {
		opts.RefreshBefore = DefaultRefreshBefore
	}
	// A refresh margin as long as the lifetime would mint on every call.
	if opts.RefreshBefore > opts.Lifetime/2 {
		opts.RefreshBefore = opts.Lifetime / 2
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &TokenSource{key: key, opts: opts}
}

// KeyID is the kid of the key this source signs with.
func (s *TokenSource) KeyID() string { return s.key.KeyID }

// Token returns a valid token, minting one only when the cached one is
// missing or due for refresh.
func (s *TokenSource) Token(ctx context.Context) (string, error) {
	if tok, ok := s.cached(); ok {
		return tok, nil
	}
	ch := s.mint.DoChan("mint", func() (any, error) {
		// Another caller may have minted while this one queued.
		if tok, ok := s.cached(); ok {
			return tok, nil
		}
		return s.mintLocked()
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Invalidate drops token if it is still the cached one, so that the next
// Token mints afresh (after a 401). Passing the token that failed, rather
// than dropping whatever is cached, keeps a burst of 401s from stale requests
// from throwing away a token minted a moment ago.
func (s *TokenSource) Invalidate(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if token == "" || token == s.token {
		s.drop()
	}
}

// forbiddenRemintEvery is how often a 403 may replace the token: so a 403
// that is really about permissions costs at most one mint in that time.
const forbiddenRemintEvery = 5 * time.Minute

// RetryForbidden reports whether a call refused with 403 under token is
// worth one more try with a fresh token, and if so drops token. A token
// minted because of a 403 gets no such retry for forbiddenRemintEvery.
func (s *TokenSource) RetryForbidden(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if token == "" || (token == s.forbiddenFresh && s.opts.Now().Sub(s.forbiddenAt) < forbiddenRemintEvery) {
		return false
	}
	if token == s.token {
		s.drop()
		s.afterForbidden = true
	}
	return true
}

func (s *TokenSource) cached() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && s.opts.Now().Before(s.expires.Add(-s.opts.RefreshBefore)) {
		return s.token, true
	}
	return "", false
}

func (s *TokenSource) mintLocked() (string, error) {
	now := s.opts.Now()
	exp := now.Add(s.opts.Lifetime)
	signed, err := s.sign(now, exp)
	if err != nil {
		if s.opts.OnMintFailure != nil {
			s.opts.OnMintFailure()
		}
		return "", err
	}
	s.mu.Lock()
	dropped := slices.Clone(s.dropped)
	s.mu.Unlock()
	for slices.Contains(dropped, signed) {
		// RS256 signatures are deterministic: minted within the second of
		// a token it replaces, it would be that very token again.
		exp = exp.Add(-time.Second)
		if signed, err = s.sign(now, exp); err != nil {
			return "", err
		}
	}
	s.mu.Lock()
	s.token, s.expires = signed, exp
	if s.afterForbidden {
		s.forbiddenFresh, s.forbiddenAt, s.afterForbidden = signed, now, false
	}
	s.mu.Unlock()
	if s.opts.OnMint != nil {
		s.opts.OnMint()
	}
	return signed, nil
}

// sign makes a token with the seed's claims (and iat).
func (s *TokenSource) sign(now, exp time.Time) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": s.key.Issuer,
		"sub": s.key.Subject,
		"aud": s.opts.Audience,
		"iat": now.Unix(),
		"exp": exp.Unix(),
	})
	// golang-jwt sets typ and alg; kid is ours.
	t.Header["kid"] = s.key.KeyID
	signed, err := t.SignedString(s.key.PrivateKey)
	if err != nil {
		// The error of the RSA signer never carries the key.
		return "", fmt.Errorf("signing the service-app JWT: %w", err)
	}
	return signed, nil
}

// drop forgets the cached token, remembering it as refused; s.mu is held.
func (s *TokenSource) drop() {
	if s.token != "" {
		s.dropped = append(s.dropped, s.token)
		if len(s.dropped) > 8 {
			s.dropped = s.dropped[1:]
		}
	}
	s.token, s.expires = "", time.Time{}
}
