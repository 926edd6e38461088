package controller

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// A create can land in Spaces long after its caller died or gave up, so
// every attempt is announced before it is sent (the create-pending mark)
// and carries a ticket in the new space's initial description: the
// object's UID and the attempt number. Recovery then tells this object's
// spaces from anyone else's, and the newest attempt from earlier ones.

// createMark is the value of the create-pending annotation.
type createMark struct {
	// attempt numbers the creates of one pending episode from 1; 0 is a
	// mark of a release without tickets, whose create carried none.
	attempt int
	// first is when the episode's first attempt was marked: spaces older
	// than it (less the clock skew) are not this episode's.
	first time.Time
	// at is when this attempt was marked; its create is sent within
	// sendWindow of it or not at all.
	at time.Time
	// until is when the attempt can no longer land (at plus the settle
	// time of the manager that sent it, whose request timeout may differ
	// from the one recovering it).
	until time.Time
	// title is the title this attempt created the space with: recovery
	// looks for it too when the spec's title has changed since.
	title string
}

// maxSettle bounds how far a mark's until may lie after its at, so that a
// damaged mark cannot hold a Space forever.
const maxSettle = time.Hour

// markTimeFormat keeps milliseconds: the settle wait is measured from the
// mark, and must not come out short by a truncated second.
const markTimeFormat = "2006-01-02T15:04:05.000Z07:00"

func (m createMark) String() string {
	v := fmt.Sprintf("attempt=%d first=%s at=%s until=%s", m.attempt,
		m.first.UTC().Format(markTimeFormat), m.at.UTC().Format(markTimeFormat), m.until.UTC().Format(markTimeFormat))
	if m.title != "" {
		v += " title=" + url.QueryEscape(m.title)
	}
	return v
}

// parseCreateMark reads a mark. A bare RFC 3339 time (an older release's
// mark) is attempt 0 at that time; anything unreadable or inconsistent is
// attempt 0 with zero times, so recovery considers every space of the
// title and adopts only a single one.
func parseCreateMark(v string) createMark {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return createMark{first: t, at: t}
	}
	var m createMark
	for _, field := range strings.Fields(v) {
		key, val, ok := strings.Cut(field, "=")
		if !ok {
			return createMark{}
		}
		var err error
		switch key {
		case "attempt":
			m.attempt, err = strconv.Atoi(val)
			if m.attempt < 1 || m.attempt > maxCreateAttempt {
				err = fmt.Errorf("attempt out of range")
			}
		case "first":
			m.first, err = time.Parse(time.RFC3339, val)
		case "at":
			m.at, err = time.Parse(time.RFC3339, val)
		case "until":
			m.until, err = time.Parse(time.RFC3339, val)
		case "title":
			m.title, err = url.QueryUnescape(val)
		default:
			err = fmt.Errorf("unknown field")
		}
		if err != nil {
			return createMark{}
		}
	}
	if m.attempt == 0 || m.first.IsZero() || m.at.IsZero() || m.until.IsZero() ||
		m.at.Before(m.first) || m.until.Before(m.at) || m.until.Sub(m.at) > maxSettle {
		return createMark{}
	}
	return m
}

// maxCreateAttempt bounds attempt numbers (a ticket's digits).
const maxCreateAttempt = 999_999_999

// ticketDescription is the initial description of a space created by the
// given attempt; the settings write that follows the create replaces it
// with the spec's. It reads as an explanation to anyone who sees it first.
func ticketDescription(uid types.UID, attempt int) string {
	return fmt.Sprintf("Being set up by spaces-operator (create ticket %s/%d)", uid, attempt)
}

var ticketPattern = regexp.MustCompile(`\(create ticket ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/([1-9][0-9]{0,8})\)$`)

// parseTicket reads the ticket in a space's description.
func parseTicket(description string) (uid types.UID, attempt int, ok bool) {
	m := ticketPattern.FindStringSubmatch(strings.TrimSpace(description))
	if m == nil {
		return "", 0, false
	}
	n, err := strconv.Atoi(m[2])
	if err != nil {
		return "", 0, false
	}
	return types.UID(m[1]), n, true
}

// holdsTicketOf reports whether a description is still a create ticket of
// the object uid: a space of ours whose settings write has not happened.
func holdsTicketOf(description string, uid types.UID) bool {
	got, _, ok := parseTicket(description)
	return ok && got == uid
}

// Timing of attempts, from the client's per-request timeout T. The create
// must start within sendWindow of its mark (the client refuses to send it
// later), the client gives up on it T after that, and recovery waits
// settleTime from the mark before concluding it did not land: so Spaces may
// still commit it for at least settleTime-sendWindow-T after the client
// gave up, three quarters of T or more.
func sendWindow(requestTimeout time.Duration) time.Duration {
	return min(requestTimeout/4, 10*time.Second)
}

func settleTime(requestTimeout time.Duration) time.Duration {
	return 2 * requestTimeout
}
