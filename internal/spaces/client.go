package spaces

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
)

// Base URLs of the Spaces REST API.
const (
	ProductionURL = "https://spacesapis.avayacloud.com/api"
	StagingURL    = "https://loganstagingapis.esna.com/api"
)

// Client defaults.
const (
	DefaultQPS              = 5
	DefaultBurst            = 10
	DefaultRequestTimeout   = 30 * time.Second
	DefaultMaxRetries       = 4
	DefaultMaxRateLimitWait = 10 * time.Second
	retryBaseDelay          = 250 * time.Millisecond
	retryMaxDelay           = 10 * time.Second
	// MaxResponseBytes bounds one answer, MaxListingBytes all the pages of
	// one listing, MaxPages their number: a server that sends more gets an
	// error that says so, not the operator's memory.
	MaxResponseBytes = 8 << 20
	MaxListingBytes  = 32 << 20
	MaxPages         = 200
	// MaxRetryAfter caps a 429's Retry-After: a server asking for longer is
	// asked again then.
	MaxRetryAfter = 10 * time.Minute
)

// ClientOptions tune a Client. Zero values take the defaults.
type ClientOptions struct {
	// HTTPClient sends the requests (a client with its own transport).
	HTTPClient *http.Client
	// Limiter is the credential's shared request budget. Every Client of one
	// credential must share one (NewLimiter(DefaultQPS, DefaultBurst, 0, nil)).
	Limiter *Limiter
	// Metrics records requests (nil: none).
	Metrics *Metrics
	// RequestTimeout bounds each attempt, reading the body included.
	RequestTimeout time.Duration
	// MaxRetries is how many times a retryable failure is retried.
	MaxRetries int
	// MaxRateLimitWait is the longest 429 pause a call waits out itself;
	// longer ones return a KindRateLimited error carrying the wait.
	MaxRateLimitWait time.Duration
	// UserAgent is sent with every request.
	UserAgent string
	// Sleep waits between retries (tests shorten it).
	Sleep func(context.Context, time.Duration) error
}

// Client calls the Spaces REST API with one credential. It is safe for
// concurrent use and meant to be shared by everything using that credential.
type Client struct {
	base   *url.URL
	tokens *TokenSource
	opts   ClientOptions
}

// NewClient returns a client of the API at baseURL (ProductionURL,
// StagingURL or anything else, e.g. a fake) signing with tokens.
func NewClient(baseURL string, tokens *TokenSource, opts ClientOptions) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(baseURL), "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		// The value is not repeated: it may be anything, a key included.
		return nil, errors.New("the Spaces API URL must be an absolute http(s) URL without credentials, query or fragment")
	}
	hc := &http.Client{}
	if opts.HTTPClient != nil {
		copied := *opts.HTTPClient
		hc = &copied
	}
	// A redirect is answered, never followed: following it would carry the
	// Authorization header wherever the server points.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	opts.HTTPClient = hc
	if opts.Limiter == nil {
		opts.Limiter = NewLimiter(DefaultQPS, DefaultBurst, 0, nil)
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.MaxRetries < 0 {
		opts.MaxRetries = 0
	} else if opts.MaxRetries == 0 {
		opts.MaxRetries = DefaultMaxRetries
	}
	if opts.MaxRateLimitWait <= 0 {
		opts.MaxRateLimitWait = DefaultMaxRateLimitWait
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "spaces-operator"
	}
	if opts.Sleep == nil {
		opts.Sleep = sleepContext
	}
	return &Client{base: u, tokens: tokens, opts: opts}, nil
}

// RequestTimeout bounds each attempt of a call: after it, the client has
// given up on the answer, though Spaces may still be working on it.
func (c *Client) RequestTimeout() time.Duration { return c.opts.RequestTimeout }

type sendDeadlineKey struct{}

// ErrSendDeadline is why a call under WithSendDeadline was not sent.
var ErrSendDeadline = errors.New("not sent: its send deadline passed while it waited for its turn")

// WithSendDeadline returns a context under which a call sends nothing after
// t: an attempt that would start later (after waiting for the rate limit or
// a 429 pause, or as a retry) fails with ErrSendDeadline instead, marked
// NotSent. A caller that records its intent before an unsafe call uses it to
// know how late the call can still reach Spaces.
func WithSendDeadline(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, sendDeadlineKey{}, t)
}

// Limiter is the request budget the client spends.
func (c *Client) Limiter() *Limiter { return c.opts.Limiter }

// BaseURL is the API base URL the client calls.
func (c *Client) BaseURL() string { return c.base.String() }

// KeyID is the kid of the key the client signs with.
func (c *Client) KeyID() string { return c.tokens.KeyID() }

// request is one logical call; do may send it several times.
type request struct {
	ep     Endpoint
	path   string // below the base URL, e.g. "/spaces/5f10..."; or an absolute URL of the same host
	query  url.Values
	body   any
	header http.Header
	// secrets the body carries (passwords), redacted from any answer.
	secrets []string
}

// do sends req, retrying where safe, and returns the response body.
func (c *Client) do(ctx context.Context, req request) ([]byte, error) {
	var payload []byte
	if req.body != nil {
		var err error
		if payload, err = json.Marshal(req.body); err != nil {
			return nil, fmt.Errorf("encoding %s: %w", req.ep.Name, err)
		}
	}
	target, err := c.resolve(req.path, req.query)
	if err != nil {
		return nil, err
	}
	reauthenticated := false
	for attempt := 0; ; attempt++ {
		throttled, pause, err := c.opts.Limiter.Wait(ctx, c.opts.MaxRateLimitWait)
		c.observeThrottle(throttled)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", req.ep.Name, err)
		}
		if pause > 0 {
			return nil, &Error{Kind: KindRateLimited, Endpoint: req.ep, StatusCode: http.StatusTooManyRequests, RetryAfter: pause}
		}
		token, err := c.tokens.Token(ctx)
		if err != nil {
			return nil, err
		}
		if deadline, ok := ctx.Value(sendDeadlineKey{}).(time.Time); ok && time.Now().After(deadline) {
			return nil, &Error{Kind: KindUnavailable, Endpoint: req.ep, Err: ErrSendDeadline, NotSent: true}
		}
		status, header, body, err := c.send(ctx, req, target, payload, token)
		retryReason := ""
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s: %w", req.ep.Name, ctx.Err())
			}
			if !req.ep.Idempotent || attempt >= c.opts.MaxRetries {
				return nil, &Error{Kind: KindUnavailable, Endpoint: req.ep, Err: err, NotSent: neverSent(err)}
			}
			retryReason = "unavailable"
		case status >= 200 && status < 300:
			c.opts.Limiter.Succeeded()
			return body, nil
		case status == http.StatusUnauthorized:
			c.tokens.Invalidate(token)
			// One fresh token, in case the cached one was revoked or the key
			// just rotated; a second 401 is the key's fault.
			if reauthenticated {
				return nil, c.apiError(req.ep, status, header, body, req.secrets...)
			}
			reauthenticated = true
			c.observeRetry(req.ep, "unauthorized")
			continue
		case status == http.StatusForbidden && !reauthenticated && c.tokens.RetryForbidden(token):
			// Spaces may answer a token it no longer takes with 403, not
			// 401: one fresh token, at most once per token minted, so
			// a real 403 costs no more than one mint an hour.
			reauthenticated = true
			c.observeRetry(req.ep, "forbidden")
			continue
		case status >= 300 && status < 400:
			return nil, &Error{Kind: KindUnavailable, Endpoint: req.ep, StatusCode: status,
				Message: fmt.Sprintf("Spaces answered %d, a redirect, which the operator never follows; check the API URL", status)}
		case status == http.StatusTooManyRequests:
			// A 429 means Spaces did nothing, so any request may be repeated.
			retryAfter := parseRetryAfter(header.Get("Retry-After"), time.Now())
			if retryAfter > MaxRetryAfter {
				logr.FromContextOrDiscard(ctx).Info("Capping a 429's Retry-After", "endpoint", req.ep.Name, "asked", retryAfter.Round(time.Second).String(), "cap", MaxRetryAfter.String())
				retryAfter = MaxRetryAfter
			}
			applied := c.opts.Limiter.Pause(retryAfter)
			if attempt >= c.opts.MaxRetries {
				e := c.apiError(req.ep, status, header, body, req.secrets...)
				e.RetryAfter = applied
				return nil, e
			}
			c.observeRetry(req.ep, "rate_limited")
			continue // the limiter waits out the pause
		case status >= 500:
			if !req.ep.Idempotent || attempt >= c.opts.MaxRetries {
				return nil, c.apiError(req.ep, status, header, body, req.secrets...)
			}
			retryReason = "unavailable"
		default:
			return nil, c.apiError(req.ep, status, header, body, req.secrets...)
		}
		c.observeRetry(req.ep, retryReason)
		if err := c.opts.Sleep(ctx, jitteredBackoff(retryBaseDelay, retryMaxDelay, attempt)); err != nil {
			return nil, fmt.Errorf("%s: %w", req.ep.Name, err)
		}
	}
}

// send makes one attempt within the per-request timeout.
func (c *Client) send(ctx context.Context, req request, target string, payload []byte, token string) (int, http.Header, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	hr, err := http.NewRequestWithContext(ctx, req.ep.Method, target, body)
	if err != nil {
		return 0, nil, nil, err
	}
	hr.Header.Set("Authorization", "service_app "+token)
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", c.opts.UserAgent)
	if payload != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range req.header {
		hr.Header[k] = v
	}
	start := time.Now()
	resp, err := c.opts.HTTPClient.Do(hr)
	if err != nil {
		c.observe(req.ep, "error", start)
		return 0, nil, nil, scrubURLError(err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	c.observe(req.ep, strconv.Itoa(resp.StatusCode), start)
	if err != nil {
		return 0, nil, nil, err
	}
	if len(data) > MaxResponseBytes {
		return 0, nil, nil, &Error{Kind: KindUnavailable, Endpoint: req.ep, StatusCode: resp.StatusCode,
			Message: fmt.Sprintf("the answer is larger than %d MiB; the operator reads no more", MaxResponseBytes>>20)}
	}
	return resp.StatusCode, resp.Header, data, nil
}

// resolve turns a path below the base URL, or an absolute URL such as a
// nextPageUrl, into the URL to call. An absolute URL must be on the API's own
// host: the Authorization header never goes anywhere else.
func (c *Client) resolve(path string, query url.Values) (string, error) {
	raw := path
	switch {
	case strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://"):
	case c.base.Path != "" && strings.HasPrefix(path, c.base.Path+"/"):
		// A server-made link that already carries the /api prefix.
		raw = c.base.Scheme + "://" + c.base.Host + path
	default:
		raw = c.base.String() + path
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("spaces: bad URL %q: %w", raw, err)
	}
	if u.Scheme != c.base.Scheme || u.Host != c.base.Host {
		return "", fmt.Errorf("spaces: refusing to send credentials to another host (%s)", u.Host)
	}
	if len(query) > 0 {
		q := u.Query()
		for k, vs := range query {
			q[k] = vs
		}
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// errorBody is what Spaces sends with an error (INFERRED: {code, message},
// perhaps nested under error as its socket errors are; scope is our fake's
// way of naming a missing scope).
type errorBody struct {
	Message string          `json:"message"`
	Scope   string          `json:"scope"`
	Error   json.RawMessage `json:"error"`
}

// errorMessage is the server's own text of an error answer, wherever it
// put it.
func errorMessage(body []byte) (message, scope string) {
	var eb errorBody
	if json.Unmarshal(body, &eb) != nil {
		return "", ""
	}
	message, scope = eb.Message, eb.Scope
	if message == "" && len(eb.Error) > 0 {
		var nested errorBody
		var text string
		switch {
		case json.Unmarshal(eb.Error, &nested) == nil:
			message = nested.Message
			if scope == "" {
				scope = nested.Scope
			}
		case json.Unmarshal(eb.Error, &text) == nil:
			message = text
		}
	}
	return message, scope
}

func (c *Client) apiError(ep Endpoint, status int, header http.Header, body []byte, secrets ...string) *Error {
	message, scope := errorMessage(body)
	e := &Error{Endpoint: ep, StatusCode: status, Message: Sanitize(message, secrets...)}
	switch {
	case status == http.StatusUnauthorized:
		e.Kind = KindUnauthorized
	case status == http.StatusForbidden:
		e.Kind = KindForbidden
		e.ScopeMissing = scope != "" && scope == ep.Scope
	case status == http.StatusNotFound:
		e.Kind = KindNotFound
	case status == http.StatusTooManyRequests:
		e.Kind = KindRateLimited
		e.RetryAfter = parseRetryAfter(header.Get("Retry-After"), time.Now())
	case status >= 500:
		e.Kind = KindUnavailable
	default:
		e.Kind = KindInvalid
	}
	return e
}

// parseRetryAfter reads Retry-After as seconds or an HTTP date; 0 if absent
// or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// neverSent reports whether a transport error happened before the request
// could reach Spaces: no connection was made.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// scrubURLError drops the URL from a transport error: it is ours and
// harmless, but the error text lands in status messages, where the cause
// alone reads better.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *Client) observe(ep Endpoint, code string, start time.Time) {
	if m := c.opts.Metrics; m != nil {
		m.requests.WithLabelValues(ep.Name, code).Inc()
		m.latency.WithLabelValues(ep.Name).Observe(time.Since(start).Seconds())
	}
}

func (c *Client) observeRetry(ep Endpoint, reason string) {
	if m := c.opts.Metrics; m != nil {
		m.retries.WithLabelValues(ep.Name, reason).Inc()
	}
}

func (c *Client) observeThrottle(d time.Duration) {
	if m := c.opts.Metrics; m != nil && d > 0 {
		m.throttled.Add(d.Seconds())
	}
}

// decodeOne decodes a single object that Spaces may send bare or wrapped as
// {"data": object} or {"data": [object]} (spaces-api.md §6, item 9).
func decodeOne(ep Endpoint, body []byte, out any) error {
	var probe struct {
		Data json.RawMessage `json:"data"`
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &probe) == nil && len(probe.Data) > 0 {
		d := bytes.TrimSpace(probe.Data)
		switch d[0] {
		case '[':
			var items []json.RawMessage
			if err := json.Unmarshal(d, &items); err != nil {
				return decodeError(ep, err)
			}
			if len(items) == 0 {
				return &Error{Kind: KindUnavailable, Endpoint: ep, StatusCode: http.StatusOK, Message: "the response's data list is empty"}
			}
			trimmed = items[0]
		case '{':
			trimmed = d
		}
	}
	if err := json.Unmarshal(trimmed, out); err != nil {
		return decodeError(ep, err)
	}
	return nil
}

func decodeInto(ep Endpoint, body []byte, out any) error {
	if err := json.Unmarshal(body, out); err != nil {
		return decodeError(ep, err)
	}
	return nil
}

func decodeError(ep Endpoint, err error) error {
	return &Error{Kind: KindUnavailable, Endpoint: ep, StatusCode: http.StatusOK, Message: "unexpected response body", Err: err}
}
