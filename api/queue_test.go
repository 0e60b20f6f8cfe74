package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadq/leadq/internal/queue"
	"github.com/leadq/leadq/internal/testenv"
)

// recorder keeps what postNext hands to the snapshot writer.
type recorder struct {
	mu    sync.Mutex
	calls []recorded
}

type recorded struct {
	lead, via string
	num       []float64
	cat       []string
	at        time.Time
}

func (r *recorder) Flush(context.Context) error { return nil }

func (r *recorder) Record(_ context.Context, lead, via string, num []float64, cat []string, at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, recorded{lead, via, num, cat, at})
	return nil
}

// TestPostNextAnswersFromTheClaim pulls a lead over HTTP against the real
// queue and checks the answer, built from the pull script's return values
// without reading the queue again, says what GET /v1/leads/{id} (which does
// read it) says just after; and that the snapshot went to the writer with
// the vector the answer shows.
func TestPostNextAnswersFromTheClaim(t *testing.T) {
	t.Parallel()
	t.Run("features read apart", func(t *testing.T) { t.Parallel(); testPostNext(t, false) })
	t.Run("features from the pull script", func(t *testing.T) { t.Parallel(); testPostNext(t, true) })
}

func testPostNext(t *testing.T, inScript bool) {
	rdb, prefix := testenv.Redis(t)
	qcfg := queue.DefaultConfig()
	qcfg.Prefix, qcfg.Hours = prefix, nil
	mem := newMem(t)
	mem.leads["L1"]["_pool"] = "p"
	if inScript {
		qcfg.LeadData = &queue.KeyPattern{Prefix: prefix + "f:", Suffix: ":x"}
		if err := rdb.HSet(t.Context(), prefix+"f:L1:x", map[string]string(mem.leads["L1"])).Err(); err != nil {
			t.Fatal(err)
		}
	}
	q, err := queue.New(rdb, qcfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	trigger, _ := mem.spec.TriggerAt(mem.leads["L1"])
	if _, err := q.Upsert(t.Context(), queue.Lead{ID: "L1", Pool: "p", P: 0.3, TriggerAt: trigger}, now); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	s := New(Config{BodyLimit: 1 << 16, Registry: prometheus.NewRegistry(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		APIKeys: testKeys, Features: mem, Queue: q, Pools: []string{"p"}, SnapshotWriter: rec, Now: func() time.Time { return now }})
	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer dialer-secret")
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.App().Test(req)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}

	if inScript {
		mem.err = errors.New("the pull must not read the feature store")
	}
	code, claim := call("POST", "/v1/queue/next", `{"sdr_id":"rep-1"}`)
	mem.err = nil
	if code != 200 || claim["claim_id"] == "" {
		t.Fatalf("POST /v1/queue/next: %d %v", code, claim)
	}
	pulled, _ := claim["lead"].(map[string]any)
	code, got := call("GET", "/v1/leads/L1", "")
	if code != 200 {
		t.Fatalf("GET /v1/leads/L1: %d %v", code, got)
	}
	if pulled["state"] != queue.StateClaimed || pulled["pool"] != "p" {
		t.Errorf("pulled lead: state %v, pool %v", pulled["state"], pulled["pool"])
	}
	for _, k := range []string{"lead_id", "state", "attempts", "pool", "sla", "features", "probability", "trigger_at", "reasons"} {
		if !reflect.DeepEqual(pulled[k], got[k]) {
			t.Errorf("%s: the pull says %v, GET says %v", k, pulled[k], got[k])
		}
	}
	if sla, _ := pulled["sla"].(map[string]any); sla["first_attempt_at"] == nil || sla["due_at"] == nil {
		t.Errorf("pulled lead's SLA clock: %v", pulled["sla"])
	}

	// The answer's features are what the map encoding gave before.
	var named map[string]any
	_ = json.Unmarshal([]byte(toJSON(mem.spec.Named(mem.leads["L1"], now))), &named)
	if !reflect.DeepEqual(pulled["features"], named) {
		t.Errorf("features: %v, want %v", pulled["features"], named)
	}

	if len(rec.calls) != 1 {
		t.Fatalf("%d snapshots recorded, want 1", len(rec.calls))
	}
	r := rec.calls[0]
	feats, _ := pulled["features"].(map[string]any)
	if r.lead != "L1" || r.via != "claim" || !r.at.Equal(now) || len(feats) != len(r.num)+len(r.cat) {
		t.Fatalf("snapshot %s %s at %s with %d+%d values; answer has %d features", r.lead, r.via, r.at, len(r.num), len(r.cat), len(feats))
	}
	for i, n := range mem.spec.NumNames() {
		if feats[n] != r.num[i] {
			t.Errorf("feature %s: answer %v, snapshot %v", n, feats[n], r.num[i])
		}
	}
	for i, n := range mem.spec.CatNames() {
		if feats[n] != r.cat[i] {
			t.Errorf("feature %s: answer %v, snapshot %q", n, feats[n], r.cat[i])
		}
	}

	// Nothing else to claim: 204, and no snapshot.
	if code, body := call("POST", "/v1/queue/next", `{"sdr_id":"rep-2"}`); code != 204 {
		t.Fatalf("empty queue: %d %v", code, body)
	}
	if code, body := call("POST", "/v1/queue/next", `{"pools":["p"]}`); code != 400 || !strings.Contains(toJSON(body), "sdr_id") {
		t.Fatalf("no sdr_id: %d %v", code, body)
	}
	if len(rec.calls) != 1 {
		t.Fatalf("%d snapshots recorded, want 1", len(rec.calls))
	}
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestPoolsListedTwice: ?pools=a,a is pool a once (the queue view and the
// stats would otherwise show its leads and counts twice).
func TestPoolsListedTwice(t *testing.T) {
	s := &Server{cfg: Config{Pools: []string{"default"}}}
	if got := s.pools(" a, a,b,,a "); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("pools = %v, want [a b]", got)
	}
	if got := s.pools(""); !slices.Equal(got, []string{"default"}) {
		t.Fatalf("no pools = %v, want the configured ones", got)
	}
}
