package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// CreateLead creates or updates a lead from a form, scores it and queues it
// (scope form). idempotencyKey identifies the submission: a repeat with the
// same key returns the first answer. Pass a key that survives your own
// restarts (e.g. the form submission's id); when it is empty the client makes
// one, which still makes its own retries safe.
func (c *Client) CreateLead(ctx context.Context, form LeadForm, idempotencyKey string) (*LeadScore, error) {
	if idempotencyKey == "" {
		idempotencyKey = newKey()
	}
	var out LeadScore
	status, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/leads", body: form, out: &out, safety: idempotent,
		header: http.Header{"Idempotency-Key": {idempotencyKey}}})
	if err != nil {
		return nil, err
	}
	out.Created = status == http.StatusCreated
	return &out, nil
}

// Score scores a form without storing anything (scope form).
func (c *Client) Score(ctx context.Context, form LeadForm) (*Score, error) {
	var out Score
	if _, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/score", body: form, out: &out, safety: idempotent}); err != nil {
		return nil, err
	}
	return &out, nil
}

// SendEvents sends a batch of events (scope ingest). Invalid events do not
// fail the call: they are listed by index in the result's Errors.
func (c *Client) SendEvents(ctx context.Context, events ...Event) (*EventsResult, error) {
	if events == nil {
		events = []Event{}
	}
	var out EventsResult
	if _, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/events", body: map[string][]Event{"events": events},
		out: &out, safety: unsafe}); err != nil { // the stream does not deduplicate by event_id: see doc.go
		return nil, err
	}
	return &out, nil
}

// Lead returns a lead's features, score, state, attempts and SLA clock
// (scope dialer).
func (c *Client) Lead(ctx context.Context, leadID string) (*Lead, error) {
	var out Lead
	if _, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/leads/" + url.PathEscape(leadID), out: &out, safety: idempotent}); err != nil {
		return nil, err
	}
	return &out, nil
}

// Queue returns the best leads of pools in descending priority without
// claiming any (scope dialer). A limit ≤ 0 means the server's default.
func (c *Client) Queue(ctx context.Context, pools []string, limit int) ([]QueueItem, error) {
	q := url.Values{}
	if len(pools) > 0 {
		q.Set("pools", strings.Join(pools, ","))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Items []QueueItem `json:"items"`
	}
	if _, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/queue", query: q, out: &out, safety: idempotent}); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// Next claims the next-best lead for a rep (scope dialer). It returns a nil
// Claim and a nil error when no lead is eligible (204). A rep at their claim
// cap gets a *Error with status 409. Not retried on ambiguous failures: see
// the package documentation.
func (c *Client) Next(ctx context.Context, req NextRequest) (*Claim, error) {
	var out Claim
	status, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/queue/next", body: req, out: &out, safety: unsafe})
	if err != nil || status == http.StatusNoContent {
		return nil, err
	}
	return &out, nil
}

// Extend renews a claim's lease from now (scope dialer).
func (c *Client) Extend(ctx context.Context, claimID, sdrID string) (*Lease, error) {
	var out Lease
	if _, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/claims/" + url.PathEscape(claimID) + "/extend",
		body: map[string]string{"sdr_id": sdrID}, out: &out, safety: idempotent}); err != nil {
		return nil, err
	}
	return &out, nil
}

// Release hands a claimed lead back to the queue without an outcome (scope
// dialer).
func (c *Client) Release(ctx context.Context, claimID, sdrID string) error {
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/claims/" + url.PathEscape(claimID) + "/release",
		body: map[string]string{"sdr_id": sdrID}, safety: unsafe})
	return err
}

// Outcome reports how a claimed call went (scope dialer). A stale or foreign
// claim gets a *Error with status 409. Not retried on ambiguous failures: see
// the package documentation.
func (c *Client) Outcome(ctx context.Context, leadID string, req OutcomeRequest) (*OutcomeResult, error) {
	var out OutcomeResult
	if _, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/leads/" + url.PathEscape(leadID) + "/outcome",
		body: req, out: &out, safety: unsafe}); err != nil {
		return nil, err
	}
	return &out, nil
}

// Model returns the model the answering replica serves (scope admin).
func (c *Client) Model(ctx context.Context) (*Model, error) {
	var out Model
	if _, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/model", out: &out, safety: idempotent}); err != nil {
		return nil, err
	}
	return &out, nil
}

// ModelVersions lists every registered model (scope admin).
func (c *Client) ModelVersions(ctx context.Context) (*ModelVersions, error) {
	var out ModelVersions
	if _, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/model/versions", out: &out, safety: idempotent}); err != nil {
		return nil, err
	}
	return &out, nil
}

// Retrain trains a model now and promotes it if it beats the champion
// (scope admin). It may take tens of seconds; 409 while another replica trains.
func (c *Client) Retrain(ctx context.Context) (*RetrainResult, error) {
	var out RetrainResult
	if _, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/model/retrain", out: &out, safety: unsafe}); err != nil {
		return nil, err
	}
	return &out, nil
}

// Rollback makes the previous champion the champion again and returns it
// ("prior" when none is left) (scope admin).
func (c *Client) Rollback(ctx context.Context) (string, error) {
	var out struct {
		Champion string `json:"champion"`
	}
	if _, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/model/rollback", out: &out, safety: unsafe}); err != nil {
		return "", err
	}
	return out.Champion, nil
}

// Healthy returns nil when the server process is up (GET /healthz).
func (c *Client) Healthy(ctx context.Context) error {
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/healthz", safety: idempotent})
	return err
}

// Ready returns nil when the server and its dependencies are up (GET
// /readyz); else a *Error whose Errors name each dependency that is down.
// It is not retried: the answer is the point.
func (c *Client) Ready(ctx context.Context) error {
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/readyz", safety: unsafe})
	return err
}

// Metrics returns the Prometheus text exposition (GET /metrics).
func (c *Client) Metrics(ctx context.Context) (string, error) {
	var raw []byte
	if _, err := c.do(ctx, call{method: http.MethodGet, path: "/metrics", raw: &raw, safety: idempotent}); err != nil {
		return "", err
	}
	return string(raw), nil
}

// OpenAPI returns the server's OpenAPI 3 document as JSON (GET /openapi.json).
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) {
	var raw []byte
	if _, err := c.do(ctx, call{method: http.MethodGet, path: "/openapi.json", raw: &raw, safety: idempotent}); err != nil {
		return nil, err
	}
	return raw, nil
}

// newKey returns a random Idempotency-Key.
func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
