package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

type memWriter struct {
	mu   sync.Mutex
	msgs []kafka.Message
	err  error
}

func (w *memWriter) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.msgs = append(w.msgs, msgs...)
	return nil
}

func eventsServer(w *memWriter) *Server {
	return New(Config{BodyLimit: 1 << 20, Registry: prometheus.NewRegistry(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		APIKeys: testKeys, Events: w, MaxEventBatch: 3})
}

func postJSON(t *testing.T, s *Server, path, key, body string) (int, map[string]any, string) {
	t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := s.App().Test(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m, resp.Header.Get("Content-Type")
}

func event(lead, typ string) string {
	return `{"event_id":"e-` + lead + `","lead_id":"` + lead + `","type":"` + typ + `","ts":"` + time.Now().UTC().Format(time.RFC3339) + `","props":{}}`
}

func TestPostEvents(t *testing.T) {
	t.Parallel()
	w := &memWriter{}
	s := eventsServer(w)
	body := `{"events":[` + event("L1", "page_viewed") + `,` + event("L2", "nonsense") + `,` + event("L3", "email_opened") + `]}`
	code, resp, _ := postJSON(t, s, "/v1/events", "ingest-secret", body)
	if code != 202 || resp["accepted"] != 2.0 {
		t.Fatalf("%d %v", code, resp)
	}
	errs := resp["errors"].([]any)
	if len(errs) != 1 {
		t.Fatalf("errors %v", errs)
	}
	e := errs[0].(map[string]any)
	p := e["problem"].(map[string]any)
	fields := p["errors"].([]any)
	if e["index"] != 1.0 || fields[0].(map[string]any)["field"] != "events[1].type" {
		t.Fatalf("error must name index 1 and events[1].type: %v", e)
	}
	if len(w.msgs) != 2 || string(w.msgs[0].Key) != "L1" || string(w.msgs[1].Key) != "L3" {
		t.Fatalf("written %v", w.msgs)
	}
}

func TestPostEventsRefuses(t *testing.T) {
	t.Parallel()
	ok := event("L1", "page_viewed")
	for _, tc := range []struct {
		name, key, body string
		status          int
		field           string
	}{
		{"no key", "", `{"events":[` + ok + `]}`, 401, ""},
		{"dialer key", "dialer-secret", `{"events":[` + ok + `]}`, 403, ""},
		{"form key", "form-secret", `{"events":[` + ok + `]}`, 403, ""},
		{"unknown field", "ingest-secret", `{"events":[` + ok + `],"extra":1}`, 400, "extra"},
		{"wrong type", "ingest-secret", `{"events":{}}`, 400, "events"},
		{"malformed", "ingest-secret", `{"events":[`, 400, "body"},
		{"empty", "ingest-secret", `{"events":[]}`, 400, "events"},
		{"too many", "ingest-secret", `{"events":[` + ok + `,` + ok + `,` + ok + `,` + ok + `]}`, 413, "events"},
		{"trailing", "ingest-secret", `{"events":[` + ok + `]} {}`, 400, "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := &memWriter{}
			code, resp, ct := postJSON(t, eventsServer(w), "/v1/events", tc.key, tc.body)
			if code != tc.status || ct != "application/problem+json" {
				t.Fatalf("%d %s %v", code, ct, resp)
			}
			if tc.field != "" {
				fields, _ := resp["errors"].([]any)
				if len(fields) == 0 || fields[0].(map[string]any)["field"] != tc.field {
					t.Fatalf("problem must name %q: %v", tc.field, resp)
				}
			}
			if len(w.msgs) != 0 {
				t.Fatal("a refused request wrote to Kafka")
			}
		})
	}
}

func TestPostEventsKafkaDown(t *testing.T) {
	t.Parallel()
	w := &memWriter{err: errors.New("dial tcp: connection refused")}
	code, resp, ct := postJSON(t, eventsServer(w), "/v1/events", "ingest-secret", `{"events":[`+event("L1", "page_viewed")+`]}`)
	if code != 503 || ct != "application/problem+json" {
		t.Fatalf("%d %s %v", code, ct, resp)
	}
}

// stuckWriter never gets an answer from Kafka (a broker that does not
// respond); it returns only when its context ends.
type stuckWriter struct{}

func (stuckWriter) WriteMessages(ctx context.Context, _ ...kafka.Message) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestPostEventsKafkaHangs: a Kafka that does not answer gets a 503 after
// EventsTimeout, not a request held for as long as the writer retries.
func TestPostEventsKafkaHangs(t *testing.T) {
	t.Parallel()
	s := New(Config{BodyLimit: 1 << 20, Registry: prometheus.NewRegistry(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		APIKeys: testKeys, Events: stuckWriter{}, MaxEventBatch: 3, EventsTimeout: 200 * time.Millisecond})
	start := time.Now()
	code, resp, ct := postJSON(t, s, "/v1/events", "ingest-secret", `{"events":[`+event("L1", "page_viewed")+`]}`)
	if took := time.Since(start); code != 503 || ct != "application/problem+json" || took > 900*time.Millisecond {
		t.Fatalf("%d %s after %s: %v; want 503 problem+json within about 200ms", code, ct, took, resp)
	}
}
