package spaces

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxMessage bounds any text from outside (Spaces' answers, a Secret's
// values) that reaches status, events or logs.
const MaxMessage = 300

// Sanitize makes text from outside fit for status, events and logs, in the
// only safe order: the secrets given are redacted first (so no cut can
// leave part of one behind), control and bidirectional-override characters
// go, then the length is capped at MaxMessage bytes on a character
// boundary.
func Sanitize(s string, secrets ...string) string {
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	s = strings.Map(func(r rune) rune {
		switch {
		case r == utf8.RuneError:
			return '?'
		case unicode.IsControl(r):
			return ' '
		case isBidiControl(r):
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	return Truncate(s, MaxMessage)
}

// Truncate cuts s to at most n bytes on a character boundary, marking the
// cut with an ellipsis.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// isBidiControl reports the characters that reorder how text displays
// (Trojan Source): embeddings, overrides, isolates and marks.
func isBidiControl(r rune) bool {
	switch {
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return r == 0x200E || r == 0x200F || r == 0x061C
}
