package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/queue"
	"github.com/leadq/leadq/internal/testenv"
	"github.com/leadq/leadq/model"
)

// statsT0 is the tests' "now": the server's clock and the queue's agree.
var statsT0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// statsServer serves GET /v1/stats from q at the fixed time *now.
func statsServer(t *testing.T, q StatsReader, live *model.Live, now *time.Time) *Server {
	t.Helper()
	cfg := Config{BodyLimit: 1 << 16, Registry: prometheus.NewRegistry(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		APIKeys: testKeys, Live: live, Pools: []string{"emea", "na"}, Now: func() time.Time { return *now }}
	if q != nil {
		cfg.Stats = q
	}
	return New(cfg)
}

func fetchStats(t *testing.T, s *Server, path, key string) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := s.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	return resp, validateResponse(t, specRouter(t), req, resp)
}

// TestStatsAfterScriptedDay runs forms, pulls and outcomes through the real
// queue on real Redis and checks the figures GET /v1/stats reports.
func TestStatsAfterScriptedDay(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	cfg := queue.DefaultConfig()
	cfg.Prefix = prefix
	q, err := queue.New(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t0 := statsT0
	for _, l := range []queue.Lead{
		{ID: "e1", Pool: "emea", P: 0.9, Source: "website"}, {ID: "e2", Pool: "emea", P: 0.4, Source: "website"},
		{ID: "e3", Pool: "emea", P: 0.2, Source: "purchased_list"}, {ID: "n1", Pool: "na", P: 0.6, Source: "referral"},
	} {
		l.TriggerAt = t0
		if _, err := q.Upsert(ctx, l, t0); err != nil {
			t.Fatal(err)
		}
	}
	claim := func(sdr, pool string, at time.Time) queue.Claim {
		c, err := q.Next(ctx, sdr, []string{pool}, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	report := func(c queue.Claim, outcome, reason string, at time.Time) {
		if _, err := q.Outcome(ctx, queue.Report{LeadID: c.LeadID, ClaimID: c.ID, SDRID: c.SDRID, Outcome: outcome, Reason: reason}, at); err != nil {
			t.Fatal(err)
		}
	}
	e1 := claim("ann", "emea", t0.Add(2*time.Minute)) // 120 s, within the SLA
	n1 := claim("bob", "na", t0.Add(3*time.Minute))   // 180 s
	report(e1, queue.OutcomeMeetingBooked, "", t0.Add(6*time.Minute))
	report(n1, queue.OutcomeNotInterested, "no_budget", t0.Add(6*time.Minute))
	e2 := claim("ann", "emea", t0.Add(20*time.Minute)) // 1200 s: e2 and e3 breached at 5 min
	report(e2, queue.OutcomeNoAnswer, "", t0.Add(21*time.Minute))

	now := t0.Add(30 * time.Minute)
	s := statsServer(t, q, model.NewLive(features.DefaultSpec()), &now)
	resp, body := fetchStats(t, s, "/v1/stats", "dialer-secret")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var got StatsView
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.SLASeconds != 300 || len(got.Pools) != 2 || got.Pools[0].Pool != "emea" || got.Pools[1].Pool != "na" {
		t.Fatalf("pools %+v", got.Pools)
	}
	em, na, all := got.Pools[0], got.Pools[1], got.Totals
	if em.Queued != 1 || em.Scheduled != 1 || em.Meeting != 1 || em.Claimed != 0 || em.Untouched != 1 || em.UntouchedPastSLA != 1 ||
		em.OldestUntouched == nil || *em.OldestUntouched != 1800 {
		t.Errorf("emea %+v", em)
	}
	if na.Nurture != 1 || na.Queued != 0 || na.Untouched != 0 || na.OldestUntouched != nil {
		t.Errorf("na %+v", na)
	}
	td := all.Today
	if all.Pool != "*" || all.Queued != 1 || all.Nurture != 1 || td.FirstAttempts != 3 || td.WithinSLA != 2 || td.SLABreaches != 2 ||
		td.WithinSLAShare == nil || *td.WithinSLAShare != 2.0/3 || *td.Within5mShare != 2.0/3 || all.Last7Days.FirstAttempts != 3 {
		t.Errorf("totals %+v, today %+v", all, td)
	}
	// Ranks 1.5 and 2.7 of {120, 180, 1200}: (120,180] holds the second, (900,1800] the third.
	if td.P50Seconds == nil || *td.P50Seconds != 150 || td.P90Seconds == nil || *td.P90Seconds != 900+900*0.7 {
		t.Errorf("p50 %v p90 %v", deref(td.P50Seconds), deref(td.P90Seconds))
	}
	if n := len(td.Buckets); n != len(queue.SpeedBounds)+1 || td.Buckets[n-1].LE != nil {
		t.Errorf("buckets %+v", td.Buckets)
	}
	want := []FunnelRow{
		{Source: "website", Entered: 2, Attempted: 2, Connected: 1, Meetings: 1, Reasons: map[string]int64{}},
		{Source: "purchased_list", Entered: 1, Reasons: map[string]int64{}},
		{Source: "referral", Entered: 1, Attempted: 1, Connected: 1, Reasons: map[string]int64{"no_budget": 1}},
	}
	if len(got.Funnel) != len(want) {
		t.Fatalf("funnel %+v", got.Funnel)
	}
	for i, w := range want {
		g := got.Funnel[i]
		if g.Source != w.Source || g.Entered != w.Entered || g.Attempted != w.Attempted || g.Connected != w.Connected ||
			g.Meetings != w.Meetings || len(g.Reasons) != len(w.Reasons) || g.Reasons["no_budget"] != w.Reasons["no_budget"] {
			t.Errorf("funnel[%d] %+v, want %+v", i, g, w)
		}
	}
	if m := got.Model; m == nil || m.Version != model.PriorVersion || !m.Prior || m.AUC != nil {
		t.Errorf("model %+v", got.Model)
	}

	// One pool only, and a bad pool name.
	_, body = fetchStats(t, s, "/v1/stats?pools=na", "admin-secret")
	var one StatsView
	if err := json.Unmarshal(body, &one); err != nil || len(one.Pools) != 1 || one.Totals.Nurture != 1 || one.Totals.Queued != 0 {
		t.Errorf("pools=na: %s", body)
	}
	resp, body = fetchStats(t, s, "/v1/stats?pools=a%7Bb", "dialer-secret")
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"field":"pools"`) {
		t.Errorf("bad pool: %d %s", resp.StatusCode, body)
	}

	// n1's nurture ends without a new trigger: nurture_expired, per pool and in the totals.
	now = t0.Add(6*time.Minute + cfg.Nurture)
	if _, err := q.Tick(ctx, []string{"emea", "na"}, now); err != nil {
		t.Fatal(err)
	}
	_, body = fetchStats(t, s, "/v1/stats", "dialer-secret")
	var later StatsView
	if err := json.Unmarshal(body, &later); err != nil {
		t.Fatal(err)
	}
	if na := later.Pools[1]; na.Nurture != 0 || na.NurtureExpired != 1 || later.Totals.NurtureExpired != 1 || later.Pools[0].NurtureExpired != 0 {
		t.Errorf("after n1's nurture ended: na %+v, totals %+v", na, later.Totals)
	}
	if !strings.Contains(string(body), `"nurture_expired":1`) {
		t.Errorf("no nurture_expired field: %s", body)
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestStatsAuthAndFailures(t *testing.T) {
	t.Parallel()
	now := statsT0
	// A queue whose Redis does not answer: a closed port, failing fast.
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = dead.Close() })
	down, err := queue.New(dead, queue.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, key string
		stats     StatsReader
		status    int
		contains  string
	}{
		{"no key", "", down, 401, ""},
		{"unknown key", "nope", down, 401, ""},
		{"form key", "form-secret", down, 403, "scope form"},
		{"ingest key", "ingest-secret", down, 403, "scope ingest"},
		{"redis down", "dialer-secret", down, 503, `"field":"redis"`},
		{"no queue", "admin-secret", nil, 503, `"field":"queue"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, body := fetchStats(t, statsServer(t, tc.stats, nil, &now), "/v1/stats", tc.key)
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.contains) {
				t.Fatalf("%d %s, want %d with %s", resp.StatusCode, body, tc.status, tc.contains)
			}
		})
	}
}

// TestStatsModelHealth reports a trained model's card.
func TestStatsModelHealth(t *testing.T) {
	t.Parallel()
	live := model.NewLive(features.DefaultSpec())
	card := testCard("m7")
	card.Metrics.ECE = 0.012
	live.Swap(&model.Served{Version: "m7", Card: card})
	s := &Server{cfg: Config{Live: live}}
	now := card.CreatedAt.Add(36 * time.Hour)
	h := s.modelHealth(now)
	if h.Version != "m7" || h.Prior || h.Kind != "logreg" || *h.AUC != 0.8 || *h.ECE != 0.012 || h.TestRows != 20 ||
		!h.TrainedAt.Equal(card.CreatedAt) || *h.AgeSeconds != 36*3600 {
		t.Fatalf("%+v", h)
	}
}

func TestDashboardPage(t *testing.T) {
	t.Parallel()
	now := statsT0
	s := statsServer(t, nil, nil, &now)
	resp, page := fetchStats(t, s, "/", "") // validated against GET / of the spec
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "connect-src 'self'") {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	for _, must := range []string{`fetch("/v1/stats"`, "localStorage", "Authorization", "setTimeout(poll"} {
		if !strings.Contains(string(page), must) {
			t.Errorf("the page lacks %q", must)
		}
	}
	// Offline machines: nothing may come from elsewhere (the SVG namespace is a name, not a fetch).
	rest := strings.ReplaceAll(string(page), `"http://www.w3.org/2000/svg"`, "")
	for _, bad := range []string{"http://", "https://", "//cdn", "<script src", "<link ", "url(", "@import", "innerHTML"} {
		if strings.Contains(rest, bad) {
			t.Errorf("dashboard.html holds %q: it must be self-contained and build the DOM with textContent", bad)
		}
	}
}
