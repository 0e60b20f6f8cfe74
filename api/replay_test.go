package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/config"
	"github.com/leadq/leadq/internal/ident"
	"github.com/leadq/leadq/internal/testenv"
)

// answeredIdents has already answered every Idempotency-Key.
type answeredIdents struct{ a ident.Answer }

func (i answeredIdents) Start(context.Context, string, string, string, string) (ident.Form, error) {
	return ident.Form{Answer: &i.a}, nil
}
func (answeredIdents) Finish(context.Context, string, string, ident.Answer) error { return nil }
func (answeredIdents) Abandon(context.Context, string, string)                    {}

// A repeat of an answered submission (same Idempotency-Key) needs neither
// Kafka nor the outbox: it must get the first answer even while Kafka is
// behind, not a 503 that the client keeps retrying until it gives up.
func TestReplayWhileOutboxFull(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	ob := features.NewOutbox(rdb, prefix)
	for range 3 {
		if err := rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: ob.Key(), Values: []any{"k", "L1", "v", "{}"}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := ob.Sample(t.Context()); err != nil {
		t.Fatal(err)
	}
	first := `{"lead_id":"L-1","probability":0.2,"tier":"B","model_version":"prior","reasons":[],"pool":"emea","priority":1,"state":"queued"}`
	resp, b := postKeyedLead(t, ob, 3, answeredIdents{ident.Answer{Status: 201, Body: []byte(first)}})
	if resp.StatusCode != 201 || string(b) != first {
		t.Fatalf("replay of an answered Idempotency-Key: %d %s, want 201 and the first answer", resp.StatusCode, b)
	}
}

// busyIdents has a request with every Idempotency-Key in progress.
type busyIdents struct{}

func (busyIdents) Start(context.Context, string, string, string, string) (ident.Form, error) {
	return ident.Form{}, ident.ErrInProgress
}
func (busyIdents) Finish(context.Context, string, string, ident.Answer) error { return nil }
func (busyIdents) Abandon(context.Context, string, string)                    {}

// A repeat while the first request with its key runs gets 409 with
// Retry-After (which client.CreateLead retries), unlike other conflicts.
func TestInProgressConflictSaysRetryAfter(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	resp, b := postKeyedLead(t, features.NewOutbox(rdb, prefix), 0, busyIdents{})
	if resp.StatusCode != 409 || resp.Header.Get("Retry-After") != "1" || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("in-progress repeat: %d Retry-After %q %s: %s, want 409, Retry-After 1, problem+json",
			resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"), b)
	}
}

// postKeyedLead posts the good form with an Idempotency-Key to a server
// with the outbox ob (limit: OutboxLimit) and idents.
func postKeyedLead(t *testing.T, ob *features.Outbox, limit int, idents Idents) (*http.Response, []byte) {
	t.Helper()
	keys, _ := config.ParseAPIKeys("form:form-secret")
	s := New(Config{BodyLimit: 1 << 16, APIKeys: keys, Outbox: ob, OutboxLimit: limit, Registry: prometheus.NewRegistry(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Idents: idents})
	req := httptest.NewRequest("POST", "/v1/leads", strings.NewReader(goodForm))
	req.Header.Set("Authorization", "Bearer form-secret")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "form-123")
	resp, err := s.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}
