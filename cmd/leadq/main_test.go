package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/leadq/leadq/internal/testenv"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// serve starts the real program in-process and returns its base URL and a
// function that stops it and returns its exit error.
func serve(t *testing.T, env map[string]string) (string, func() error) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("leadq's log:\n%s", logs.String())
		}
	})
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	go func() {
		done <- runServe(ctx, []string{"--http-addr", addr, "--shutdown-timeout", "5s"}, lookup, io.Discard, logs)
	}()
	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("leadq exited at start: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("leadq did not serve /healthz within 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return base, func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("leadq did not stop within 30s of SIGTERM")
			return nil
		}
	}
}

func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestServeEmbeddedDefault(t *testing.T) {
	t.Parallel()
	start := time.Now()
	// Calling hours off: the tour must claim a lead at any hour.
	base, stop := serve(t, map[string]string{
		"LEADQ_API_KEYS":      "admin:dev-admin-key,form:dev-form-key,dialer:dev-dialer-key,ingest:dev-ingest-key",
		"LEADQ_CALLING_HOURS": "",
	})
	t.Logf("embedded leadq served /healthz after %s", time.Since(start))
	if code, _, body := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("readyz %d: %s", code, body)
	}
	if code, _, body := get(t, base+"/metrics"); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("metrics %d", code)
	}
	tourEmbedded(t, base)
	if err := stop(); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
}

// tourEmbedded walks the README's tour on the embedded servers: the queue's
// and the feature store's Lua scripts must run on the in-process Redis too
// (it has no cmsgpack and no bit library), or `make run` serves 503s.
func tourEmbedded(t *testing.T, base string) {
	t.Helper()
	form := `{"email":"ada@example.com","company":"Example Ltd","source":"website","country":"GB","timezone":"Europe/London"}`
	code, body := do(t, "POST", base+"/v1/leads", "dev-form-key", form)
	var created struct {
		LeadID   string  `json:"lead_id"`
		Priority float64 `json:"priority"`
	}
	if err := json.Unmarshal([]byte(body), &created); code != 201 || err != nil || created.LeadID == "" {
		t.Fatalf("POST /v1/leads: %d %s", code, body)
	}
	if code, body := do(t, "POST", base+"/v1/events", "dev-ingest-key", `{"events":[`+demoEvent("lead-e1")+`]}`); code != 202 {
		t.Fatalf("POST /v1/events: %d %s", code, body)
	}
	if code, body := do(t, "GET", base+"/v1/queue?limit=5", "dev-dialer-key", ""); code != 200 {
		t.Fatalf("GET /v1/queue: %d %s", code, body)
	}
	code, body = do(t, "POST", base+"/v1/queue/next", "dev-dialer-key", `{"sdr_id":"rep-1"}`)
	var claim struct {
		ClaimID string `json:"claim_id"`
		Lead    struct {
			LeadID string `json:"lead_id"`
		} `json:"lead"`
	}
	if err := json.Unmarshal([]byte(body), &claim); code != 200 || err != nil || claim.ClaimID == "" {
		t.Fatalf("POST /v1/queue/next: %d %s", code, body)
	}
	outcome := `{"claim_id":"` + claim.ClaimID + `","sdr_id":"rep-1","outcome":"no_answer"}`
	if code, body := do(t, "POST", base+"/v1/leads/"+claim.Lead.LeadID+"/outcome", "dev-dialer-key", outcome); code != 200 {
		t.Fatalf("outcome: %d %s", code, body)
	}
	if code, body := do(t, "GET", base+"/v1/stats", "dev-dialer-key", ""); code != 200 {
		t.Fatalf("GET /v1/stats: %d %s", code, body)
	}
	if code, body := do(t, "GET", base+"/v1/leads/"+created.LeadID, "dev-dialer-key", ""); code != 200 {
		t.Fatalf("GET /v1/leads/{id}: %d %s", code, body)
	}
}

func TestServeRealServers(t *testing.T) {
	t.Parallel()
	u := testenv.Unique()
	env := map[string]string{
		"LEADQ_REDIS_URL":     testenv.RedisURL(t),
		"LEADQ_KAFKA_BROKERS": strings.Join(testenv.KafkaBrokers(t), ","),
		"LEADQ_TOPIC":         "ev" + u,
		"LEADQ_DLQ_TOPIC":     "dlq" + u,
		"LEADQ_ALERT_TOPIC":   "al" + u,
		"LEADQ_SLA":           "1s",
		"LEADQ_CALLING_HOURS": "", // the queue's tests cover calling hours; here any hour is callable
		"LEADQ_GROUP_ID":      "g" + u,
		"LEADQ_KEY_PREFIX":    "t" + u + ":",
		"LEADQ_API_KEYS":      "dialer:dialer-secret,ingest:ingest-secret,admin:admin-secret,form:form-secret",
	}
	base, stop := serve(t, env)
	if code, _, body := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("readyz %d: %s", code, body)
	}

	// An event produced to the real topic shows in the lead's features.
	w := testenv.Writer(t, testenv.KafkaBrokers(t), env["LEADQ_TOPIC"])
	sent := time.Now()
	if err := w.WriteMessages(t.Context(), kafka.Message{Key: []byte("lead-1"), Value: []byte(demoEvent("lead-1"))}); err != nil {
		t.Fatal(err)
	}
	waitTriggered(t, base, "lead-1", sent)

	// So does one posted to POST /v1/events.
	sent = time.Now()
	code, body := do(t, "POST", base+"/v1/events", "ingest-secret", `{"events":[`+demoEvent("lead-2")+`]}`)
	if code != 202 || !strings.Contains(body, `"accepted":1`) {
		t.Fatalf("POST /v1/events: %d %s", code, body)
	}
	waitTriggered(t, base, "lead-2", sent)

	// A web form's lead is pullable as soon as the response is sent.
	form := `{"email":"jane@acme.io","company":"Acme","source":"website","country":"DE","timezone":"Europe/Berlin"}`
	code, body = doH(t, "POST", base+"/v1/leads", "form-secret", form, "Idempotency-Key", "k-1")
	var created struct {
		LeadID   string  `json:"lead_id"`
		Priority float64 `json:"priority"`
	}
	if err := json.Unmarshal([]byte(body), &created); code != 201 || err != nil || created.LeadID == "" || created.Priority <= 0 {
		t.Fatalf("POST /v1/leads: %d %s", code, body)
	}
	if code2, body2 := doH(t, "POST", base+"/v1/leads", "form-secret", form, "Idempotency-Key", "k-1"); code2 != 201 || body2 != body {
		t.Fatalf("idempotent replay: %d %s, want 201 %s", code2, body2, body)
	}
	if code2, body2 := do(t, "POST", base+"/v1/leads", "form-secret", strings.Replace(form, "jane@", "JANE@", 1)); code2 != 200 || !strings.Contains(body2, created.LeadID) {
		t.Fatalf("same email again: %d %s, want 200 for %s", code2, body2, created.LeadID)
	}
	code, body = do(t, "POST", base+"/v1/queue/next", "dialer-secret", `{"sdr_id":"rep-1"}`)
	var claim struct {
		ClaimID string `json:"claim_id"`
		Lead    struct {
			LeadID string `json:"lead_id"`
		} `json:"lead"`
	}
	_ = json.Unmarshal([]byte(body), &claim)
	if code != 200 || claim.ClaimID == "" {
		t.Fatalf("POST /v1/queue/next: %d %s", code, body)
	}
	// Time-of-day calling hours may hold a lead back; any claimed lead must
	// be one of the two this test made.
	if claim.Lead.LeadID != created.LeadID && claim.Lead.LeadID != "lead-1" && claim.Lead.LeadID != "lead-2" {
		t.Fatalf("claimed %s, want one of this test's leads", claim.Lead.LeadID)
	}
	outcome := `{"claim_id":"` + claim.ClaimID + `","sdr_id":"rep-1","outcome":"no_answer"}`
	if code, body := do(t, "POST", base+"/v1/leads/"+claim.Lead.LeadID+"/outcome", "dialer-secret", outcome); code != 200 || !strings.Contains(body, `"next_attempt_at"`) {
		t.Fatalf("outcome: %d %s", code, body)
	}
	if code, body := do(t, "POST", base+"/v1/leads/"+claim.Lead.LeadID+"/outcome", "dialer-secret", outcome); code != 409 {
		t.Fatalf("stale claim: %d %s, want 409", code, body)
	}

	// A lead nobody called within the (1 s) SLA raises sla_breached on Kafka.
	// Which one depends on timing (a lead claimed in time never breaches, and
	// one that reaches the queue already past its deadline is flagged without
	// an event), so any of this test's leads will do.
	ours := map[string]bool{"lead-1": true, "lead-2": true, created.LeadID: true}
	alerts := kafka.NewReader(kafka.ReaderConfig{Brokers: testenv.KafkaBrokers(t), Topic: env["LEADQ_ALERT_TOPIC"], GroupID: "alerts" + u, StartOffset: kafka.FirstOffset, MaxWait: 50 * time.Millisecond})
	defer alerts.Close()
	actx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		m, err := alerts.ReadMessage(actx)
		if err != nil {
			t.Fatalf("no sla_breached event on %s: %v", env["LEADQ_ALERT_TOPIC"], err)
		}
		var ev struct {
			Type   string `json:"type"`
			LeadID string `json:"lead_id"`
		}
		if err := json.Unmarshal(m.Value, &ev); err != nil || ev.Type != "sla_breached" || !ours[ev.LeadID] {
			t.Fatalf("alert %s: %v", m.Value, err)
		}
		break
	}

	// The model registry starts on the prior; nothing to roll back; a retrain
	// without labelled rows trains nothing and says why.
	for _, tc := range []struct {
		method, path string
		status       int
		want         string
	}{
		{"GET", "/v1/model", 200, `"version":"prior"`},
		{"GET", "/v1/model/versions", 200, `"versions":[]`},
		{"POST", "/v1/model/rollback", 409, `no promoted model`},
		{"POST", "/v1/model/retrain", 200, `"trained":false`},
		{"GET", "/v1/model", 200, `"version":"prior"`},
	} {
		code, body := do(t, tc.method, base+tc.path, "admin-secret", "")
		// The trainer retrains once at start; while it holds the lock a
		// manual retrain is refused with 409 "try again": so try again.
		for deadline := time.Now().Add(30 * time.Second); tc.path == "/v1/model/retrain" && code == 409 && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			code, body = do(t, tc.method, base+tc.path, "admin-secret", "")
		}
		if code != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: %d %s, want %d with %s", tc.method, tc.path, code, body, tc.status, tc.want)
		}
	}
	if code, _ := do(t, "POST", base+"/v1/model/rollback", "dialer-secret", ""); code != 403 {
		t.Errorf("rollback with a dialer key: %d, want 403", code)
	}

	if err := stop(); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
}

// TestBadConfigStopsStartup: a bad setting stops start-up with one line naming it.
func TestBadConfigStopsStartup(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--redis-url", "mysql://x", "--kafka-brokers", "k:9092"}, "LEADQ_REDIS_URL"},
		{[]string{"serve", "--roles", "api,cron"}, "LEADQ_ROLES"},
		{[]string{"serve", "--retrain-interval", "-1h"}, "LEADQ_RETRAIN_INTERVAL"},
		{[]string{"bogus"}, "unknown command"},
		{[]string{"replay", "--yes"}, "replay needs LEADQ_REDIS_URL"},
		{[]string{"replay", "--redis-url", "redis://localhost:1", "--kafka-brokers", "localhost:1"}, "run again with --yes"},
		{[]string{"replay", "--from", "yesterday"}, "--from"},
	} {
		err := run(t.Context(), tc.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: want error naming %s, got %v", tc.args, tc.want, err)
		}
	}
}

// syncBuffer collects the server's log for printing when a test fails.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func demoEvent(lead string) string {
	return `{"event_id":"e-` + lead + `","lead_id":"` + lead + `","type":"demo_requested","ts":"` + time.Now().UTC().Format(time.RFC3339Nano) + `","props":{"company":"Acme","source":"website"}}`
}

func do(t *testing.T, method, url, key, body string) (int, string) {
	t.Helper()
	return doH(t, method, url, key, body)
}

// doH is do with extra headers as name, value pairs.
func doH(t *testing.T, method, url, key, body string, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitTriggered polls GET /v1/leads/{id} until the lead has a trigger time.
func waitTriggered(t *testing.T, base, lead string, sent time.Time) {
	t.Helper()
	for {
		code, body := do(t, "GET", base+"/v1/leads/"+lead, "dialer-secret", "")
		var v struct {
			TriggerAt *time.Time `json:"trigger_at"`
		}
		_ = json.Unmarshal([]byte(body), &v)
		if code == 200 && v.TriggerAt != nil {
			t.Logf("%s visible in GET /v1/leads after %s", lead, time.Since(sent))
			return
		}
		if time.Since(sent) > 30*time.Second {
			t.Fatalf("%s not applied within 30s (last answer %d %s)", lead, code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
