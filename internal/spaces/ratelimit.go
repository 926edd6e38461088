package spaces

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is the request budget of one credential, shared by every caller
// that uses it: a token bucket, plus a pause that a 429 imposes on all
// callers at once until Spaces says they may come back.
//
// Drift checks (re-reads of objects already in step) book their turns in a
// second, smaller bucket (ReserveDrift) before they take their tokens from
// the first: they never use more than their share of the budget, so new
// and changed objects always find the rest.
type Limiter struct {
	bucket *rate.Limiter
	drift  *rate.Limiter
	now    func() time.Time

	mu          sync.Mutex
	pausedUntil time.Time
	strikes     int // 429s in a row without Retry-After
	stretched   bool
}

// DefaultDriftShare is the share of a key's request budget drift checks
// may use.
const DefaultDriftShare = 0.5

// Backoff bounds for 429s that come without Retry-After.
const (
	rateLimitBackoffBase = time.Second
	rateLimitBackoffMax  = 2 * time.Minute
)

// NewLimiter returns a limiter allowing qps requests a second on average and
// bursts of burst, of which drift checks may take driftShare (0:
// DefaultDriftShare; 1: drift checks are not held back).
func NewLimiter(qps float64, burst int, driftShare float64, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	if burst < 1 {
		burst = 1
	}
	if driftShare <= 0 || driftShare > 1 {
		driftShare = DefaultDriftShare
	}
	return &Limiter{
		bucket: rate.NewLimiter(rate.Limit(qps), burst),
		drift:  rate.NewLimiter(rate.Limit(qps*driftShare), max(1, int(float64(burst)*driftShare))),
		now:    now,
	}
}

// DriftRate is how many drift requests a second the limiter lets through.
func (l *Limiter) DriftRate() float64 { return float64(l.drift.Limit()) }

// ReserveDrift books a drift check of cost requests in the drift share and
// says how long from now its turn comes (0: now). The booking stands:
// the caller comes back after the wait and goes ahead without booking
// again. stretching is true once, when the waits start to stretch the
// drift period by more than a tenth (and again after they shrank back):
// the share cannot re-read every object each period.
func (l *Limiter) ReserveDrift(cost int, period time.Duration) (wait time.Duration, stretching bool) {
	now := l.now()
	r := l.drift.ReserveN(now, min(max(cost, 1), l.drift.Burst()))
	if !r.OK() {
		return 0, false
	}
	wait = r.DelayFrom(now)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case !l.stretched && wait > period/10:
		l.stretched = true
		return wait, true
	case l.stretched && wait < period/20:
		l.stretched = false
	}
	return wait, false
}

// PausedFor is how long the limiter is paused from now, 0 if it is not.
func (l *Limiter) PausedFor() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d := l.pausedUntil.Sub(l.now()); d > 0 {
		return d
	}
	return 0
}

// Wait blocks until a request may be sent: after any pause, and with a token
// from the bucket. A pause longer than maxPause is not waited out: Wait
// returns it at once, so the caller can hand the wait back to its own
// scheduler (a controller requeues) instead of holding a worker.
func (l *Limiter) Wait(ctx context.Context, maxPause time.Duration) (throttled, pause time.Duration, err error) {
	start := l.now()
	for {
		p := l.PausedFor()
		if p <= 0 {
			break
		}
		if p > maxPause {
			return l.now().Sub(start), p, nil
		}
		t := time.NewTimer(p)
		select {
		case <-ctx.Done():
			t.Stop()
			return l.now().Sub(start), 0, ctx.Err()
		case <-t.C:
		}
	}
	if err := l.bucket.Wait(ctx); err != nil {
		return l.now().Sub(start), 0, err
	}
	return l.now().Sub(start), 0, nil
}

// Pause stops every caller for retryAfter, or, when Spaces gave no
// Retry-After, for an exponentially growing, jittered wait. It returns the
// pause applied.
func (l *Limiter) Pause(retryAfter time.Duration) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := retryAfter
	if d <= 0 {
		d = jitteredBackoff(rateLimitBackoffBase, rateLimitBackoffMax, l.strikes)
		l.strikes++
	}
	if until := l.now().Add(d); until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
	return d
}

// Succeeded resets the backoff after a request that was not rate limited.
func (l *Limiter) Succeeded() {
	l.mu.Lock()
	l.strikes = 0
	l.mu.Unlock()
}

// jitteredBackoff is base·2^attempt capped at max, with "equal jitter": half
// fixed, half random, so many callers spread out but none retries at once.
func jitteredBackoff(base, max time.Duration, attempt int) time.Duration {
	d := base
	for i := 0; i < attempt && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	half := d / 2
	return half + rand.N(half+1)
}
