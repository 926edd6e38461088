package spaces

import (
	"errors"
	"fmt"
	"time"
)

// ErrorKind classifies a failed Spaces call by what the caller should do.
type ErrorKind int

const (
	// KindUnauthorized (401): the token was refused. Terminal until the key
	// changes.
	KindUnauthorized ErrorKind = iota + 1
	// KindForbidden (403): a missing scope or a permission the service
	// account lacks. Terminal until the key, its scopes or the spec change.
	KindForbidden
	// KindNotFound (404).
	KindNotFound
	// KindInvalid (400 and other 4xx): the request itself is wrong. Terminal
	// until the spec changes.
	KindInvalid
	// KindRateLimited (429): retry after RetryAfter.
	KindRateLimited
	// KindUnavailable (5xx, network errors, timeouts): retry with backoff.
	KindUnavailable
)

func (k ErrorKind) String() string {
	switch k {
	case KindUnauthorized:
		return "Unauthorized"
	case KindForbidden:
		return "Forbidden"
	case KindNotFound:
		return "NotFound"
	case KindInvalid:
		return "Invalid"
	case KindRateLimited:
		return "RateLimited"
	case KindUnavailable:
		return "Unavailable"
	}
	return "Unknown"
}

// Error is a failed Spaces call. Its message is safe for status, events and
// logs: it never holds a token, key or password.
type Error struct {
	Kind ErrorKind
	// Endpoint is the route that failed.
	Endpoint Endpoint
	// StatusCode is the HTTP status, 0 for a network error.
	StatusCode int
	// Message is the server's own message, if it sent one.
	Message string
	// ScopeMissing is true when the server said outright that the service
	// app lacks Endpoint.Scope (a 403 naming the scope). Without it a 403 may
	// be a missing scope or a missing permission on the object.
	ScopeMissing bool
	// RetryAfter is how long to wait before retrying (rate limits).
	RetryAfter time.Duration
	// Err is the underlying network error, if any.
	Err error
	// NotSent is true when the request certainly never reached Spaces (no
	// connection could be made), so even an unsafe call did nothing.
	NotSent bool
}

// unauthorizedCauses are the seed document's reasons for a refused token.
const unauthorizedCauses = "the key was deleted or regenerated in the developer portal, " +
	"the service account was disabled by the company admin, " +
	"or this machine's clock is off by minutes"

func (e *Error) Error() string {
	var msg string
	switch e.Kind {
	case KindUnauthorized:
		msg = fmt.Sprintf("Spaces refused the service-app token on %s (401): %s", e.Endpoint.Name, unauthorizedCauses)
	case KindForbidden:
		switch {
		case e.ScopeMissing:
			msg = fmt.Sprintf("Spaces refused %s (403): the service app lacks scope %s; enable it in the developer portal (Manage company apps > the app > Scopes)", e.Endpoint.Name, e.Endpoint.Scope)
		case e.Endpoint.Scope != "":
			msg = fmt.Sprintf("Spaces refused %s (403) without saying why: either the service app lacks scope %s (enable it in the developer portal: Manage company apps > the app > Scopes), or the service account is not allowed to act on this object (for a space: it is not one of its admins)", e.Endpoint.Name, e.Endpoint.Scope)
		default:
			msg = fmt.Sprintf("Spaces refused %s (403): the service account is not allowed to do this", e.Endpoint.Name)
		}
	case KindNotFound:
		msg = fmt.Sprintf("%s: not found (404)", e.Endpoint.Name)
	case KindInvalid:
		msg = fmt.Sprintf("Spaces refused %s as invalid (%d)", e.Endpoint.Name, e.StatusCode)
	case KindRateLimited:
		msg = fmt.Sprintf("Spaces rate-limited %s (429); retry in %s", e.Endpoint.Name, e.RetryAfter.Round(time.Second))
	case KindUnavailable:
		if e.StatusCode != 0 {
			msg = fmt.Sprintf("Spaces failed %s (%d)", e.Endpoint.Name, e.StatusCode)
		} else {
			msg = fmt.Sprintf("Spaces could not be reached for %s", e.Endpoint.Name)
		}
	default:
		msg = fmt.Sprintf("Spaces call %s failed (%d)", e.Endpoint.Name, e.StatusCode)
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of a Spaces error, or 0 if err is not one.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// IsNotFound reports whether err is a Spaces 404.
func IsNotFound(err error) bool { return KindOf(err) == KindNotFound }

// DefinitelyNotDone reports whether a failed call certainly changed nothing
// in Spaces: it was refused (401, 403, 400), rate limited, or never sent.
// After any other failure an unsafe call (a create, an invitation) may have
// happened.
func DefinitelyNotDone(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Kind {
	case KindUnauthorized, KindForbidden, KindInvalid, KindRateLimited:
		return true
	}
	return e.NotSent
}

// IsRetryable reports whether repeating the call later may succeed without
// anything else changing.
func IsRetryable(err error) bool {
	k := KindOf(err)
	return k == KindRateLimited || k == KindUnavailable
}
