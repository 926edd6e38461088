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
	l := NewLimiter(10, 1, nil)
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
	l := NewLimiter(1000, 10, nil)
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
