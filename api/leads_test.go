package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/config"
)

// memFeatures folds events in memory; the real store is tested against real
// Redis in features/ and end to end in cmd/leadq.
type memFeatures struct {
	spec  *features.Spec
	leads map[string]features.State
	err   error
}

func (m *memFeatures) Get(_ context.Context, id string) (features.State, error) {
	if m.err != nil {
		return nil, m.err
	}
	return m.leads[id], nil
}
func (m *memFeatures) Spec() *features.Spec { return m.spec }

func (m *memFeatures) ApplyChanges(_ context.Context, batch []features.Applied, dst []features.Change) ([]features.Change, error) {
	if m.err != nil {
		return dst, m.err
	}
	for _, a := range batch {
		st := m.leads[a.Event.LeadID]
		if st == nil {
			st = features.State{}
			m.leads[a.Event.LeadID] = st
		}
		if m.spec.FoldApplied(st, []features.Applied{a}) {
			dst = append(dst, features.Change{LeadID: a.Event.LeadID})
		}
	}
	return dst, nil
}

var testKeys = []config.APIKey{
	{Scope: "admin", Secret: "admin-secret"}, {Scope: "dialer", Secret: "dialer-secret"},
	{Scope: "form", Secret: "form-secret"}, {Scope: "ingest", Secret: "ingest-secret"},
}

func leadServer(t *testing.T, fs *memFeatures) *Server {
	t.Helper()
	return New(Config{BodyLimit: 1 << 16, Registry: prometheus.NewRegistry(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		APIKeys: testKeys, Features: fs})
}

func newMem(t *testing.T) *memFeatures {
	t.Helper()
	spec := features.DefaultSpec()
	st := features.State{}
	raw := `{"event_id":"e1","lead_id":"L1","type":"demo_requested","ts":"` + time.Now().Add(-time.Minute).UTC().Format(time.RFC3339) + `","props":{"company":"Acme","source":"website"}}`
	e, err := features.Decode([]byte(raw), time.Now(), features.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	features.Fold(st, spec.Compile(e, nil))
	return &memFeatures{spec: spec, leads: map[string]features.State{"L1": st}}
}

func TestGetLeadScopes(t *testing.T) {
	t.Parallel()
	s := leadServer(t, newMem(t))
	for _, tc := range []struct {
		key    string
		status int
	}{
		{"", 401}, {"wrong-secret", 401}, {"form-secret", 403}, {"ingest-secret", 403},
		{"dialer-secret", 200}, {"admin-secret", 200},
	} {
		req := httptest.NewRequest("GET", "/v1/leads/L1", nil)
		if tc.key != "" {
			req.Header.Set("Authorization", "Bearer "+tc.key)
		}
		resp, err := s.App().Test(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.status {
			t.Errorf("key %q: status %d, want %d", tc.key, resp.StatusCode, tc.status)
		}
		if tc.status >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("key %q: content type %q", tc.key, resp.Header.Get("Content-Type"))
		}
	}
}

func TestGetLead(t *testing.T) {
	t.Parallel()
	mem := newMem(t)
	s := leadServer(t, mem)
	get := func(path string) (int, map[string]any) {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer dialer-secret")
		resp, err := s.App().Test(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	code, body := get("/v1/leads/L1")
	if code != 200 || body["lead_id"] != "L1" || body["trigger_at"] == nil {
		t.Fatalf("%d %v", code, body)
	}
	feats, _ := body["features"].(map[string]any)
	if len(feats) == 0 {
		t.Fatalf("no features in %v", body)
	}
	if code, body := get("/v1/leads/nobody"); code != 404 {
		t.Fatalf("unknown lead: %d %v", code, body)
	}
	if code, body := get("/v1/leads/a%7Bb"); code != 400 || body["errors"] == nil {
		t.Fatalf("bad id: %d %v", code, body)
	}
	mem.err = errors.New("connection refused")
	if code, body := get("/v1/leads/L1"); code != 503 {
		t.Fatalf("redis down: %d %v", code, body)
	}
}
