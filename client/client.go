package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls one leadq server with one API key. It is safe for concurrent
// use; make one per key and reuse it.
type Client struct {
	base          string
	key           string
	hc            *http.Client
	userAgent     string
	retries       int
	minBackoff    time.Duration
	maxBackoff    time.Duration
	maxRetryAfter time.Duration
	// sleep waits d or until ctx ends; tests replace it to record the waits.
	sleep func(ctx context.Context, d time.Duration) error
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (transport, proxy, TLS, timeout). The
// default has a 60 s timeout per attempt, long enough for Retrain.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithRetries sets how many times a failed call is retried (default 3; 0
// disables retries).
func WithRetries(n int) Option { return func(c *Client) { c.retries = max(n, 0) } }

// WithBackoff sets the first backoff and its cap (defaults 100 ms and 5 s).
// The n-th retry waits a random time up to min(max, first·2ⁿ⁻¹).
func WithBackoff(first, max time.Duration) Option {
	return func(c *Client) { c.minBackoff, c.maxBackoff = first, max }
}

// WithMaxRetryAfter sets the longest Retry-After the client waits out
// (default 1 min); a longer one ends the call with the *Error, whose
// RetryAfter says when to come back.
func WithMaxRetryAfter(d time.Duration) Option { return func(c *Client) { c.maxRetryAfter = d } }

// WithUserAgent sets the User-Agent header, e.g. "acme-dialer/2.1".
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the server at baseURL (e.g. "http://127.0.0.1:8080")
// that authenticates with apiKey.
func New(baseURL, apiKey string, opts ...Option) *Client {
	c := &Client{
		base:          strings.TrimRight(baseURL, "/"),
		key:           apiKey,
		hc:            &http.Client{Timeout: 60 * time.Second},
		userAgent:     "leadq-go-client/1",
		retries:       3,
		minBackoff:    100 * time.Millisecond,
		maxBackoff:    5 * time.Second,
		maxRetryAfter: time.Minute,
		sleep:         sleepCtx,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// safety says which failures a call may be retried after.
type safety int

const (
	// unsafe calls are retried only when the server cannot have acted:
	// 429, or a connection that was never opened.
	unsafe safety = iota
	// idempotent calls are also retried after 503 and transport errors.
	idempotent
)

// call is one API request.
type call struct {
	method, path string
	query        url.Values
	header       http.Header
	body         any // JSON-encoded when not nil
	safety       safety
	out          any     // decoded from a 2xx JSON body when not nil
	raw          *[]byte // receives a 2xx body as is when not nil
}

// do runs cl, retrying as its safety allows, and returns the final status.
func (c *Client) do(ctx context.Context, cl call) (int, error) {
	var body []byte
	if cl.body != nil {
		var err error
		if body, err = json.Marshal(cl.body); err != nil {
			return 0, fmt.Errorf("leadq: encode %s %s: %w", cl.method, cl.path, err)
		}
	}
	for attempt := 0; ; attempt++ {
		status, err := c.once(ctx, cl, body)
		if err == nil {
			return status, nil
		}
		if ctx.Err() != nil && status == 0 { // the transport error is the context's: do not retry
			return 0, err
		}
		wait, retry := c.retryable(status, err, cl.safety, attempt)
		if !retry {
			return status, err
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return status, err // the retry could not happen in time: the real error beats a timeout
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return 0, fmt.Errorf("leadq: %s %s: %w while waiting to retry after: %w", cl.method, cl.path, serr, err)
		}
	}
}

// retryable says whether the failed attempt may be retried and how long to
// wait first. status is 0 when no answer arrived.
func (c *Client) retryable(status int, err error, s safety, attempt int) (time.Duration, bool) {
	if attempt >= c.retries || (status >= 200 && status <= 299) { // a 2xx that did not decode is final
		return 0, false
	}
	backoff := c.backoff(attempt)
	var e *Error
	switch {
	case errors.As(err, &e) && e.Status == http.StatusTooManyRequests:
		if e.RetryAfter > c.maxRetryAfter {
			return 0, false
		}
		return max(e.RetryAfter, backoff), true
	case errors.As(err, &e) && e.Status == http.StatusServiceUnavailable:
		return max(e.RetryAfter, backoff), s == idempotent && e.RetryAfter <= c.maxRetryAfter
	case errors.As(err, &e) && e.Status == http.StatusConflict && e.RetryAfter > 0:
		// A 409 with Retry-After: the first request with this
		// Idempotency-Key is still running (a retry after a timeout); the
		// server replays its answer once it is done.
		return max(e.RetryAfter, backoff), s == idempotent && e.RetryAfter <= c.maxRetryAfter
	case errors.As(err, &e):
		return 0, false // any other answer is final: retrying 400 or a stale claim's 409 cannot help
	case neverSent(err):
		return backoff, true
	default: // the request may have reached the server
		return backoff, s == idempotent
	}
}

// backoff is exponential with full jitter: uniform in [0, min(max, min·2^attempt)].
func (c *Client) backoff(attempt int) time.Duration {
	d := c.minBackoff << min(attempt, 30)
	if d <= 0 || d > c.maxBackoff {
		d = c.maxBackoff
	}
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

// neverSent reports whether err means the connection was never established,
// so the server cannot have seen the request.
func neverSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// once sends one attempt and decodes its answer.
func (c *Client) once(ctx context.Context, cl call, body []byte) (int, error) {
	u := c.base + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, rd)
	if err != nil {
		return 0, fmt.Errorf("leadq: %s %s: %w", cl.method, cl.path, err)
	}
	for k, v := range cl.header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", c.userAgent)
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("leadq: %s %s: %w", cl.method, cl.path, err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody)) // lets the connection be reused
		resp.Body.Close()
	}()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, errorFrom(resp)
	}
	switch {
	case cl.raw != nil:
		if *cl.raw, err = io.ReadAll(resp.Body); err != nil {
			return resp.StatusCode, fmt.Errorf("leadq: %s %s: read answer: %w", cl.method, cl.path, err)
		}
	case cl.out != nil && resp.StatusCode != http.StatusNoContent:
		if err := json.NewDecoder(resp.Body).Decode(cl.out); err != nil {
			return resp.StatusCode, fmt.Errorf("leadq: %s %s: decode answer: %w", cl.method, cl.path, err)
		}
	}
	return resp.StatusCode, nil
}

// sleepCtx waits d, or less if ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
