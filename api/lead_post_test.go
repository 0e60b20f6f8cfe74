package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/config"
	"github.com/leadq/leadq/internal/testenv"
)

// TestPostLeadOutboxLimit: while Kafka takes no form events, the outbox
// grows; past LEADQ_OUTBOX_LIMIT a form gets a 503 naming kafka before
// anything is written (the server has no Idents or Ranker: reaching them
// would panic).
func TestPostLeadOutboxLimit(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	ob := features.NewOutbox(rdb, prefix)
	for range 3 {
		if err := rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: ob.Key(), Values: []any{"k", "L1", "v", "{}"}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := ob.Sample(t.Context()); err != nil || ob.Backlog() != 3 {
		t.Fatalf("backlog %d (%v), want 3", ob.Backlog(), err)
	}
	keys, _ := config.ParseAPIKeys("form:form-secret")
	for _, tc := range []struct {
		limit  int
		status int
	}{{3, 503}, {0, -1}, {4, -1}} {
		s := New(Config{BodyLimit: 1 << 16, APIKeys: keys, Outbox: ob, OutboxLimit: tc.limit, Registry: prometheus.NewRegistry(),
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		req := httptest.NewRequest("POST", "/v1/leads", strings.NewReader(goodForm))
		req.Header.Set("Authorization", "Bearer form-secret")
		req.Header.Set("Content-Type", "application/json")
		if tc.status < 0 {
			// Under the limit the request goes on, to the identity store this
			// server lacks (the recover middleware answers 500).
			resp, err := s.App().Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := io.ReadAll(resp.Body); strings.Contains(string(b), "LEADQ_OUTBOX_LIMIT") {
				t.Errorf("limit %d refused a form with a backlog of 3: %s", tc.limit, b)
			}
			continue
		}
		resp, err := s.App().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		var p Problem
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != tc.status || len(p.Errors) != 1 || p.Errors[0].Field != "kafka" {
			t.Fatalf("limit %d: %d %+v (%v), want %d naming kafka", tc.limit, resp.StatusCode, p, err, tc.status)
		}
	}
}
