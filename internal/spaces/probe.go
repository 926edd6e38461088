package spaces

import (
	"context"
	"net/http"
	"net/url"
)

// ProbeAnswer is what Spaces answered to one read-only probe request.
type ProbeAnswer struct {
	Status int
	Body   []byte
}

// Probe sends one GET, once (no retries), and returns whatever Spaces
// answered, errors included, for `spacesctl probe` to report the wire
// format the server speaks. With badToken, the request carries a token
// Spaces cannot accept, to see how it refuses one.
func (c *Client) Probe(ctx context.Context, path string, query url.Values, badToken bool) (ProbeAnswer, error) {
	target, err := c.resolve(path, query)
	if err != nil {
		return ProbeAnswer{}, err
	}
	if _, _, err := c.opts.Limiter.Wait(ctx, c.opts.MaxRateLimitWait); err != nil {
		return ProbeAnswer{}, err
	}
	token := "not-a-token"
	if !badToken {
		if token, err = c.tokens.Token(ctx); err != nil {
			return ProbeAnswer{}, err
		}
	}
	ep := Endpoint{Name: "GET " + path + " (probe)", Method: http.MethodGet}
	status, _, body, err := c.send(ctx, request{ep: ep, path: path}, target, nil, token)
	return ProbeAnswer{Status: status, Body: body}, err
}
