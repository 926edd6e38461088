package spaces

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-3", 0},
		{"7", 7 * time.Second},
		{"1.5", 1500 * time.Millisecond},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"soon", 0},
	}
	for _, tc := range cases {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestLimiter_PauseWithoutRetryAfterGrows: each 429 without Retry-After
// doubles the pause (with equal jitter) up to the cap; a success resets it.
func TestLimiter_PauseWithoutRetryAfterGrows(t *testing.T) {
	l := NewLimiter(10, 1, 0, nil)
	for attempt, base := range []time.Duration{1, 2, 4, 8, 16, 32, 64, 120, 120} {
		max := base * time.Second
		if d := l.Pause(0); d < max/2 || d > max {
			t.Errorf("429 #%d paused %v, want within [%v, %v]", attempt+1, d, max/2, max)
		}
	}
	l.Succeeded()
	if d := l.Pause(0); d > time.Second {
		t.Errorf("after a success the pause restarted at %v, want at most 1s", d)
	}
}

func TestLimiter_PauseHoldsEveryWaiter(t *testing.T) {
	l := NewLimiter(1000, 10, 0, nil)
	l.Pause(300 * time.Millisecond)
	start := time.Now()
	done := make(chan time.Duration, 3)
	for range 3 {
		go func() {
			_, _, _ = l.Wait(context.Background(), time.Minute)
			done <- time.Since(start)
		}()
	}
	for range 3 {
		if d := <-done; d < 290*time.Millisecond {
			t.Fatalf("a waiter went after %v, before the 300ms pause ended", d)
		}
	}
	// A pause longer than the caller will wait is handed back at once.
	l.Pause(time.Hour)
	if _, pause, err := l.Wait(context.Background(), time.Second); err != nil || pause < 59*time.Minute {
		t.Fatalf("pause %v err %v, want the hour handed back", pause, err)
	}
}

// TestLimiter_DriftShare: drift checks book turns at share × qps, so a
// fleet larger than that share can re-read in one period waits its turn
// (the effective period stretches, said once), and the rest of the budget
// stays free for new work.
func TestLimiter_DriftShare(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	l := NewLimiter(5, 10, 0.5, func() time.Time { return now })
	if got := l.DriftRate(); got != 2.5 {
		t.Fatalf("drift rate %v, want 2.5 (half of 5/s)", got)
	}
	period := 30 * time.Second
	var last time.Duration
	stretches := 0
	for i := range 1000 {
		wait, stretching := l.ReserveDrift(1, period)
		if stretching {
			stretches++
		}
		if i < 5 && wait != 0 {
			t.Errorf("check %d within the drift burst waits %v", i, wait)
		}
		last = wait
	}
	// 995 turns beyond the burst of 5, at 2.5 a second: 398 s.
	if want := 398 * time.Second; last < want-time.Second || last > want+time.Second {
		t.Errorf("the 1000th drift check waits %v, want about %v (N / (share × qps))", last, want)
	}
	if stretches != 1 {
		t.Errorf("the stretch was said %d times, want once", stretches)
	}
	// The foreground bucket was not touched by the bookings.
	if r := l.bucket.ReserveN(now, 10); !r.OK() || r.DelayFrom(now) != 0 {
		t.Error("drift bookings took the foreground's burst")
	}
	// Once the backlog is gone the stretch ends, and a new one is said again.
	now = now.Add(time.Hour)
	if wait, stretching := l.ReserveDrift(1, period); wait != 0 || stretching {
		t.Errorf("after the backlog: wait %v, stretching %v", wait, stretching)
	}
	for range 200 {
		if _, stretching := l.ReserveDrift(1, period); stretching {
			stretches++
		}
	}
	if stretches != 2 {
		t.Errorf("a second stretch was said %d times in all, want 2", stretches-1)
	}
}
