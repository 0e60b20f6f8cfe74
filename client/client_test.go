package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waits records the backoffs a client would have slept, without sleeping.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.d = append(w.d, d)
	w.mu.Unlock()
	return ctx.Err()
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

// newTestClient returns a client of url whose backoffs are recorded, not slept.
func newTestClient(url string, opts ...Option) (*Client, *waits) {
	c := New(url, "k", opts...)
	w := &waits{}
	c.sleep = w.sleep
	return c, w
}

// serve answers with status and body, as JSON (or problem+json for errors).
func serve(w http.ResponseWriter, status int, body string) {
	if body != "" {
		ct := "application/json"
		if status >= 400 {
			ct = "application/problem+json"
		}
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func TestCreateLead(t *testing.T) {
	t.Parallel()
	var keys []string
	status := http.StatusCreated
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var f LeadForm
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if r.Method != "POST" || r.URL.Path != "/v1/leads" || r.Header.Get("Authorization") != "Bearer k" ||
			r.Header.Get("Content-Type") != "application/json" || dec.Decode(&f) != nil || f.Email != "jane@acme.io" {
			serve(w, 400, `{"type":"about:blank","title":"Bad Request","status":400}`)
			return
		}
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		// An unknown field: clients must ignore what v1 adds.
		serve(w, status, `{"lead_id":"L9","probability":0.31,"tier":"A","model_version":"m2","reasons":[{"feature":"source=referral","value":1,"impact":0.8}],"pool":"emea","priority":0.31,"new_field":true}`)
	}))
	defer srv.Close()
	c, _ := newTestClient(srv.URL + "/")
	yes := true
	got, err := c.CreateLead(t.Context(), LeadForm{Email: "jane@acme.io", Company: "Acme", Consent: &yes}, "")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Created || got.LeadID != "L9" || got.Tier != "A" || got.Pool != "emea" || len(got.Reasons) != 1 || got.Reasons[0].Impact != 0.8 {
		t.Fatalf("%+v", got)
	}
	status = http.StatusOK
	got, err = c.CreateLead(t.Context(), LeadForm{Email: "jane@acme.io", Company: "Acme"}, "form-123")
	if err != nil || got.Created {
		t.Fatalf("existing lead: %+v %v", got, err)
	}
	if len(keys) != 2 || len(keys[0]) != 32 || keys[1] != "form-123" {
		t.Fatalf("idempotency keys %q", keys)
	}
}

// TestDecoding runs every call against a canned answer and checks the
// request it sent and what it decoded.
func TestDecoding(t *testing.T) {
	t.Parallel()
	ts := "2026-03-01T10:00:00Z"
	at, _ := time.Parse(time.RFC3339, ts)
	lead := `{"lead_id":"L1","state":"queued","probability":0.2,"model_version":"m2","reasons":[],"features":{"source_first":"website","age_minutes":3},"trigger_at":"` + ts + `","attempts":1,"pool":"emea","sla":{"due_at":"` + ts + `","first_attempt_at":null,"breached":false}}`
	for _, tc := range []struct {
		name, method, path, query string
		status                    int
		body                      string
		run                       func(c *Client) (any, error)
		check                     func(v any) bool
	}{
		{"score", "POST", "/v1/score", "", 200, `{"probability":0.1,"tier":"C","model_version":"prior","reasons":[]}`,
			func(c *Client) (any, error) { return c.Score(t.Context(), LeadForm{Email: "a@b.io", Company: "B"}) },
			func(v any) bool { s := v.(*Score); return s.Tier == "C" && s.ModelVersion == "prior" }},
		{"events", "POST", "/v1/events", "", 202, `{"accepted":1,"errors":[{"index":1,"problem":{"type":"https://leadq.dev/problems/unknown_type","title":"Bad Request","status":400,"errors":[{"field":"events[1].type","detail":"unknown_type"}]}}]}`,
			func(c *Client) (any, error) {
				return c.SendEvents(t.Context(), Event{EventID: "e1", LeadID: "L1", Type: "page_viewed", TS: at}, Event{EventID: "e2", LeadID: "L1", Type: "x", TS: at})
			},
			func(v any) bool {
				r := v.(*EventsResult)
				return r.Accepted == 1 && r.Errors[0].Index == 1 && r.Errors[0].Problem.Errors[0].Field == "events[1].type"
			}},
		{"lead", "GET", "/v1/leads/a%2Fb", "", 200, lead,
			func(c *Client) (any, error) { return c.Lead(t.Context(), "a/b") },
			func(v any) bool {
				l := v.(*Lead)
				return l.LeadID == "L1" && l.TriggerAt.Equal(at) && l.SLA.DueAt.Equal(at) && l.SLA.FirstAttemptAt == nil && l.Features["source_first"] == "website"
			}},
		{"queue", "GET", "/v1/queue", "limit=10&pools=emea%2Cna", 200, `{"items":[{"lead_id":"L1","priority":0.5,"probability":0.5,"contact_factor":1,"attempt_factor":1,"age_seconds":12.5,"segment":0,"pool":"emea"}]}`,
			func(c *Client) (any, error) { return c.Queue(t.Context(), []string{"emea", "na"}, 10) },
			func(v any) bool {
				it := v.([]QueueItem)
				return len(it) == 1 && it[0].AgeSeconds == 12.5 && it[0].Pool == "emea"
			}},
		{"next", "POST", "/v1/queue/next", "", 200, `{"claim_id":"c1","lease_expires_at":"` + ts + `","priority":0.2,"lead":` + lead + `}`,
			func(c *Client) (any, error) {
				return c.Next(t.Context(), NextRequest{SDRID: "rep-1", Pools: []string{"emea"}})
			},
			func(v any) bool {
				cl := v.(*Claim)
				return cl.ClaimID == "c1" && cl.LeaseExpiresAt.Equal(at) && cl.Lead.Pool == "emea"
			}},
		{"next empty", "POST", "/v1/queue/next", "", 204, "",
			func(c *Client) (any, error) { return c.Next(t.Context(), NextRequest{SDRID: "rep-1"}) },
			func(v any) bool { return v.(*Claim) == nil }},
		{"extend", "POST", "/v1/claims/c%201/extend", "", 200, `{"claim_id":"c 1","lease_expires_at":"` + ts + `"}`,
			func(c *Client) (any, error) { return c.Extend(t.Context(), "c 1", "rep-1") },
			func(v any) bool { return v.(*Lease).LeaseExpiresAt.Equal(at) }},
		{"release", "POST", "/v1/claims/c1/release", "", 200, `{"claim_id":"c1","released":true}`,
			func(c *Client) (any, error) { return nil, c.Release(t.Context(), "c1", "rep-1") },
			func(v any) bool { return true }},
		{"outcome", "POST", "/v1/leads/L1/outcome", "", 200, `{"lead_id":"L1","state":"scheduled","next_attempt_at":"` + ts + `","attempts":2}`,
			func(c *Client) (any, error) {
				return c.Outcome(t.Context(), "L1", OutcomeRequest{ClaimID: "c1", SDRID: "rep-1", Outcome: NoAnswer})
			},
			func(v any) bool {
				r := v.(*OutcomeResult)
				return r.State == "scheduled" && r.NextAttemptAt.Equal(at) && r.Attempts == 2
			}},
		{"model", "GET", "/v1/model", "", 200, `{"version":"prior","card":null}`,
			func(c *Client) (any, error) { return c.Model(t.Context()) },
			func(v any) bool { m := v.(*Model); return m.Version == "prior" && m.Card == nil }},
		{"model versions", "GET", "/v1/model/versions", "", 200, `{"serving":"m2","versions":[{"version":"m2","created_at":"` + ts + `","champion":true,"card":{"version":"m2","kind":"logreg","created_at":"` + ts + `","metrics":{"n":10,"positives":2,"auc":0.8,"log_loss":0.4,"brier":0.1}}}]}`,
			func(c *Client) (any, error) { return c.ModelVersions(t.Context()) },
			func(v any) bool {
				m := v.(*ModelVersions)
				return m.Serving == "m2" && m.Versions[0].Card.Metrics.AUC == 0.8
			}},
		{"retrain", "POST", "/v1/model/retrain", "", 200, `{"trained":true,"promoted":false,"reason":"worse than the champion","stats":{"Rows":10}}`,
			func(c *Client) (any, error) { return c.Retrain(t.Context()) },
			func(v any) bool { r := v.(*RetrainResult); return r.Trained && !r.Promoted && r.Reason != "" }},
		{"rollback", "POST", "/v1/model/rollback", "", 200, `{"champion":"m1"}`,
			func(c *Client) (any, error) { return c.Rollback(t.Context()) },
			func(v any) bool { return v.(string) == "m1" }},
		{"healthz", "GET", "/healthz", "", 200, `{"status":"ok"}`,
			func(c *Client) (any, error) { return nil, c.Healthy(t.Context()) },
			func(v any) bool { return true }},
		{"readyz", "GET", "/readyz", "", 200, `{"status":"ready"}`,
			func(c *Client) (any, error) { return nil, c.Ready(t.Context()) },
			func(v any) bool { return true }},
		{"metrics", "GET", "/metrics", "", 200, "# HELP up\nup 1\n",
			func(c *Client) (any, error) { return c.Metrics(t.Context()) },
			func(v any) bool { return strings.Contains(v.(string), "up 1") }},
		{"openapi", "GET", "/openapi.json", "", 200, `{"openapi":"3.0.3"}`,
			func(c *Client) (any, error) { return c.OpenAPI(t.Context()) },
			func(v any) bool { return string(v.([]byte)) == `{"openapi":"3.0.3"}` }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != tc.method || r.URL.EscapedPath() != tc.path || r.URL.RawQuery != tc.query {
					serve(w, 404, `{"type":"about:blank","title":"Not Found","status":404,"detail":"`+r.Method+` `+r.URL.String()+`"}`)
					return
				}
				if tc.method == "POST" && tc.path != "/v1/model/retrain" && tc.path != "/v1/model/rollback" {
					var m map[string]any
					if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
						serve(w, 400, `{"type":"about:blank","title":"Bad Request","status":400}`)
						return
					}
				}
				serve(w, tc.status, tc.body)
			}))
			defer srv.Close()
			c, _ := newTestClient(srv.URL)
			v, err := tc.run(c)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(v) {
				t.Fatalf("decoded %+v", v)
			}
		})
	}
}

func TestProblemError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/score" {
			serve(w, 400, `{"type":"about:blank","title":"Bad Request","status":400,"detail":"invalid lead","instance":"/v1/score","errors":[{"field":"email","detail":"required"},{"field":"company","detail":"required"}]}`)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<h1>upstream down</h1>")
	}))
	defer srv.Close()
	c, _ := newTestClient(srv.URL)
	_, err := c.Score(t.Context(), LeadForm{})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%T %v", err, err)
	}
	if e.Status != 400 || e.Title != "Bad Request" || e.Detail != "invalid lead" || e.Instance != "/v1/score" || len(e.Errors) != 2 || e.Errors[1].Field != "company" {
		t.Fatalf("%+v", e)
	}
	if want := "leadq: 400 Bad Request: invalid lead (email: required; company: required)"; err.Error() != want {
		t.Fatalf("%q, want %q", err.Error(), want)
	}
	if !IsStatus(err, 400) || IsStatus(err, 409) || IsStatus(errors.New("x"), 400) {
		t.Fatal("IsStatus")
	}
	_, err = c.Lead(t.Context(), "L1")
	if !errors.As(err, &e) || e.Status != 502 || e.Title != "Bad Gateway" || !strings.Contains(e.Detail, "upstream down") {
		t.Fatalf("non-problem answer: %v", err)
	}
}

// script answers the i-th request with steps[i] (the last step repeats).
type step struct {
	status     int
	retryAfter string
}

func TestRetries(t *testing.T) {
	t.Parallel()
	const okLead = `{"lead_id":"L1","state":"new","features":{},"trigger_at":null,"attempts":0}`
	getLead := func(c *Client) error { _, err := c.Lead(t.Context(), "L1"); return err }
	next := func(c *Client) error { _, err := c.Next(t.Context(), NextRequest{SDRID: "r"}); return err }
	outcome := func(c *Client) error {
		_, err := c.Outcome(t.Context(), "L1", OutcomeRequest{ClaimID: "c", SDRID: "r", Outcome: Busy})
		return err
	}
	createLead := func(c *Client) error {
		_, err := c.CreateLead(t.Context(), LeadForm{Email: "a@b.io", Company: "B"}, "")
		return err
	}
	for _, tc := range []struct {
		name      string
		steps     []step
		run       func(*Client) error
		attempts  int
		errStatus int           // 0: the call succeeds
		minWait   time.Duration // the first wait is at least this
	}{
		{"GET retried on 503", []step{{503, ""}, {503, ""}, {200, ""}}, getLead, 3, 0, 0},
		{"GET waits out Retry-After on 429", []step{{429, "2"}, {200, ""}}, getLead, 2, 0, 2 * time.Second},
		{"GET waits out Retry-After on 503", []step{{503, "1"}, {200, ""}}, getLead, 2, 0, time.Second},
		{"GET gives up after the retries", []step{{503, ""}}, getLead, 4, 503, 0},
		{"GET not retried on 400", []step{{400, ""}, {200, ""}}, getLead, 1, 400, 0},
		{"GET not retried on 404", []step{{404, ""}, {200, ""}}, getLead, 1, 404, 0},
		{"Next retried on 429", []step{{429, "1"}, {200, ""}}, next, 2, 0, time.Second},
		{"Next not retried on 503", []step{{503, ""}, {200, ""}}, next, 1, 503, 0},
		{"Next not retried on 409", []step{{409, ""}, {200, ""}}, next, 1, 409, 0},
		{"Outcome not retried on 503", []step{{503, ""}, {200, ""}}, outcome, 1, 503, 0},
		{"Outcome not retried on 409", []step{{409, ""}, {200, ""}}, outcome, 1, 409, 0},
		{"CreateLead retried on 503", []step{{503, ""}, {201, ""}}, createLead, 2, 0, 0},
		{"Retry-After too long", []step{{429, "3600"}, {200, ""}}, getLead, 1, 429, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int32
			var keys sync.Map
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1)) - 1
				keys.Store(r.Header.Get("Idempotency-Key"), true)
				s := tc.steps[min(i, len(tc.steps)-1)]
				if s.retryAfter != "" {
					w.Header().Set("Retry-After", s.retryAfter)
				}
				switch {
				case s.status >= 400:
					serve(w, s.status, `{"type":"about:blank","title":"`+http.StatusText(s.status)+`","status":`+strconv.Itoa(s.status)+`}`)
				case r.URL.Path == "/v1/leads/L1":
					serve(w, s.status, okLead)
				default:
					serve(w, s.status, `{"claim_id":"c","lease_expires_at":"2026-01-01T00:00:00Z","lead":`+okLead+`,"lead_id":"L1","state":"x"}`)
				}
			}))
			defer srv.Close()
			c, w := newTestClient(srv.URL)
			err := tc.run(c)
			if got := int(n.Load()); got != tc.attempts {
				t.Errorf("%d attempts, want %d", got, tc.attempts)
			}
			switch {
			case tc.errStatus == 0 && err != nil:
				t.Errorf("error %v", err)
			case tc.errStatus != 0 && !IsStatus(err, tc.errStatus):
				t.Errorf("error %v, want status %d", err, tc.errStatus)
			}
			if ws := w.all(); len(ws) != tc.attempts-1 || (len(ws) > 0 && ws[0] < tc.minWait) {
				t.Errorf("waits %v, want %d of them, the first ≥ %v", ws, tc.attempts-1, tc.minWait)
			}
			if tc.name == "CreateLead retried on 503" {
				var distinct []any
				keys.Range(func(k, _ any) bool { distinct = append(distinct, k); return true })
				if len(distinct) != 1 || distinct[0] == "" {
					t.Error("a retried CreateLead must resend the same Idempotency-Key")
				}
			}
			if tc.name == "Retry-After too long" {
				var e *Error
				if !errors.As(err, &e) || e.RetryAfter != time.Hour {
					t.Errorf("RetryAfter of %v", err)
				}
			}
		})
	}
}

func TestConnectionErrors(t *testing.T) {
	t.Parallel()
	// A server that is gone: the connection is never opened, so even Next,
	// which is not idempotent, may be retried.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	for _, name := range []string{"lead", "next"} {
		c, w := newTestClient(gone.URL)
		var err error
		if name == "lead" {
			_, err = c.Lead(t.Context(), "L1")
		} else {
			_, err = c.Next(t.Context(), NextRequest{SDRID: "r"})
		}
		var e *Error
		if err == nil || errors.As(err, &e) || len(w.all()) != 3 {
			t.Errorf("%s on a closed port: %v after %d waits, want a transport error after 3", name, err, len(w.all()))
		}
	}
	// A server that drops the connection after reading the request: it may
	// have acted, so only idempotent calls are retried.
	var n atomic.Int32
	drop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer drop.Close()
	c, _ := newTestClient(drop.URL)
	if _, err := c.Lead(t.Context(), "L1"); err == nil || n.Load() != 4 {
		t.Errorf("GET after dropped connections: %v, %d attempts, want 4", err, n.Load())
	}
	n.Store(0)
	if _, err := c.Next(t.Context(), NextRequest{SDRID: "r"}); err == nil || n.Load() != 1 {
		t.Errorf("Next after a dropped connection: %v, %d attempts, want 1", err, n.Load())
	}
}

func TestContextCancellation(t *testing.T) {
	t.Parallel()
	t.Run("in flight", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}))
		defer srv.Close()
		c, w := newTestClient(srv.URL)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, err := c.Lead(ctx, "L1")
		if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second || len(w.all()) != 0 {
			t.Fatalf("%v after %v and %d retries", err, time.Since(start), len(w.all()))
		}
	})
	t.Run("while waiting to retry", func(t *testing.T) {
		t.Parallel()
		var n atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			w.Header().Set("Retry-After", "30")
			serve(w, 503, `{"type":"about:blank","title":"Service Unavailable","status":503}`)
		}))
		defer srv.Close()
		c := New(srv.URL, "k") // real sleeps
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := c.Lead(ctx, "L1")
		if !errors.Is(err, context.Canceled) || !IsStatus(err, 503) || time.Since(start) > 5*time.Second || n.Load() != 1 {
			t.Fatalf("%v after %v and %d attempts", err, time.Since(start), n.Load())
		}
	})
	t.Run("deadline before the retry", func(t *testing.T) {
		t.Parallel()
		var n atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			w.Header().Set("Retry-After", "30")
			serve(w, 503, `{"type":"about:blank","title":"Service Unavailable","status":503}`)
		}))
		defer srv.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
		_, err := New(srv.URL, "k").Lead(ctx, "L1")
		if !IsStatus(err, 503) || time.Since(start) > time.Second || n.Load() != 1 {
			t.Fatalf("want the 503 at once, not a wait past the deadline: %v after %v", err, time.Since(start))
		}
	})
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	c := New("http://x", "k", WithBackoff(10*time.Millisecond, 200*time.Millisecond))
	for attempt := range 40 {
		limit := min(200*time.Millisecond, 10*time.Millisecond<<min(attempt, 30))
		for range 50 {
			if d := c.backoff(attempt); d < 0 || d > limit {
				t.Fatalf("attempt %d: backoff %v outside [0, %v]", attempt, d, limit)
			}
		}
	}
	if d := New("http://x", "k", WithBackoff(0, 0)).backoff(3); d != 0 {
		t.Fatalf("zero backoff: %v", d)
	}
}

func TestRetryAfterHeader(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for h, want := range map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		"-3":                            0,
		"soon":                          0,
		"Thu, 01 Jan 2026 12:00:30 GMT": 30 * time.Second,
		"Thu, 01 Jan 2026 11:00:00 GMT": 0,
	} {
		if got := retryAfter(h, now); got != want {
			t.Errorf("Retry-After %q: %v, want %v", h, got, want)
		}
	}
}
