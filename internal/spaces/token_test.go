package spaces

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func testServiceKey(t testing.TB) *ServiceKey {
	return &ServiceKey{Issuer: "66862e5f427b7cf325db", Subject: "66862e5f427b7cf325db@psrsu9.servicesapps.spaces.avayacloud.com", KeyID: "f14f61d7f84347880427", PrivateKey: rsaKey(t)}
}

// fakeClock is a settable clock for tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// TestToken_HeaderAndClaims verifies a minted token independently of the
// code that made it: the signature with the public key, and every header
// field and claim as the seed document specifies.
func TestToken_HeaderAndClaims(t *testing.T) {
	key := testServiceKey(t)
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	src := NewTokenSource(key, TokenOptions{Now: clock.Now})
	tok, err := src.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %d parts", len(parts))
	}
	var header map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if err := json.Unmarshal(raw, &header); err != nil {
		t.Fatal(err)
	}
	wantHeader := map[string]any{"typ": "JWT", "alg": "RS256", "kid": key.KeyID}
	if len(header) != len(wantHeader) {
		t.Errorf("header = %v, want exactly %v", header, wantHeader)
	}
	for k, v := range wantHeader {
		if header[k] != v {
			t.Errorf("header %s = %v, want %v", k, header[k], v)
		}
	}

	parsed, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return &key.PrivateKey.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(clock.Now))
	if err != nil {
		t.Fatalf("signature or claims do not verify with the public key: %v", err)
	}
	claims := parsed.Claims.(jwt.MapClaims)
	now := clock.Now().Unix()
	want := map[string]any{
		"iss": key.Issuer,
		"sub": key.Subject,
		"aud": "spaces.avayacloud.com",
		"iat": float64(now),
		"exp": float64(now + int64(DefaultTokenLifetime/time.Second)),
	}
	if len(claims) != len(want) {
		t.Errorf("claims = %v, want exactly the keys of %v", claims, want)
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	if exp := claims["exp"].(float64); exp-float64(now) > (MaxTokenLifetime - ClockSkewMargin).Seconds() {
		t.Errorf("exp is %v s ahead; a server %v behind would see more than 3600 s", exp-float64(now), ClockSkewMargin)
	}
}

func TestToken_LifetimeAndAudience(t *testing.T) {
	cases := []struct {
		name     string
		opts     TokenOptions
		lifetime time.Duration
		aud      string
	}{
		{"defaults", TokenOptions{}, 55 * time.Minute, "spaces.avayacloud.com"},
		{"shorter lifetime", TokenOptions{Lifetime: 10 * time.Minute}, 10 * time.Minute, "spaces.avayacloud.com"},
		{"lifetime over the limit is capped", TokenOptions{Lifetime: 2 * time.Hour}, 55 * time.Minute, "spaces.avayacloud.com"},
		{"exactly 3600 s is capped too", TokenOptions{Lifetime: time.Hour}, 55 * time.Minute, "spaces.avayacloud.com"},
		{"audience overridden", TokenOptions{Audience: "staging.example"}, 55 * time.Minute, "staging.example"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := testServiceKey(t)
			clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
			tc.opts.Now = clock.Now
			tok, err := NewTokenSource(key, tc.opts).Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			claims := jwt.MapClaims{}
			if _, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return &key.PrivateKey.PublicKey, nil }, jwt.WithTimeFunc(clock.Now)); err != nil {
				t.Fatal(err)
			}
			if got := time.Duration(claims["exp"].(float64)-claims["iat"].(float64)) * time.Second; got != tc.lifetime {
				t.Errorf("lifetime = %v, want %v", got, tc.lifetime)
			}
			if claims["aud"] != tc.aud {
				t.Errorf("aud = %v, want %v", claims["aud"], tc.aud)
			}
		})
	}
}

func TestToken_CachedRefreshedAndInvalidated(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	var mints atomic.Int32
	src := NewTokenSource(testServiceKey(t), TokenOptions{Now: clock.Now, OnMint: func() { mints.Add(1) }})
	ctx := context.Background()
	get := func() string {
		t.Helper()
		tok, err := src.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	first := get()
	if get() != first || mints.Load() != 1 {
		t.Fatalf("a second call minted again (mints=%d)", mints.Load())
	}
	clock.Advance(DefaultTokenLifetime - DefaultRefreshBefore - time.Second)
	if get() != first || mints.Load() != 1 {
		t.Fatal("refreshed before the refresh margin")
	}
	clock.Advance(2 * time.Second)
	second := get()
	if second == first || mints.Load() != 2 {
		t.Fatal("not refreshed inside the refresh margin")
	}

	src.Invalidate(first) // a late 401 for a token already replaced
	if get() != second || mints.Load() != 2 {
		t.Fatal("invalidating a stale token dropped the current one")
	}
	clock.Advance(time.Second) // a new iat, so the new token differs
	src.Invalidate(second)
	if third := get(); third == second || mints.Load() != 3 {
		t.Fatal("invalidating the current token did not cause a new mint")
	}
	clock.Advance(time.Second)
	src.Invalidate("") // key rotation: drop whatever is cached
	get()
	if mints.Load() != 4 {
		t.Fatal("Invalidate(\"\") did not drop the cached token")
	}
}

// TestToken_ConcurrentCallersShareOneMint: 10,000 concurrent requests for a
// token cause exactly one mint.
func TestToken_ConcurrentCallersShareOneMint(t *testing.T) {
	var mints atomic.Int32
	src := NewTokenSource(testServiceKey(t), TokenOptions{OnMint: func() { mints.Add(1) }})
	const callers = 10000
	start := make(chan struct{})
	tokens := make([]string, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tok, err := src.Token(context.Background())
			if err != nil {
				t.Error(err)
			}
			tokens[i] = tok
		}()
	}
	close(start)
	wg.Wait()
	if n := mints.Load(); n != 1 {
		t.Fatalf("%d callers caused %d mints, want 1", callers, n)
	}
	for _, tok := range tokens {
		if tok != tokens[0] {
			t.Fatal("callers got different tokens")
		}
	}
}

func TestToken_ContextCancelledWhileWaiting(t *testing.T) {
	minting, release := make(chan struct{}), make(chan struct{})
	src := NewTokenSource(testServiceKey(t), TokenOptions{OnMint: func() { close(minting); <-release }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := src.Token(ctx)
		done <- err
	}()
	<-minting // the mint is under way and will not finish until released
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Token did not return when its context was cancelled during a mint")
	}
	close(release)
	// The mint that went on is kept for the next caller.
	if tok, err := src.Token(context.Background()); err != nil || tok == "" {
		t.Fatalf("after the mint: %q, %v", tok, err)
	}
}

func BenchmarkToken_Cached(b *testing.B) {
	src := NewTokenSource(testServiceKey(b), TokenOptions{})
	ctx := context.Background()
	if _, err := src.Token(ctx); err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := src.Token(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
