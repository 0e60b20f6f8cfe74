package api

import (
	"cmp"
	"context"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/leadq/leadq/internal/queue"
	"github.com/leadq/leadq/model"
)

// StatsReader reads the queue's dashboard figures (queue.Queue).
type StatsReader interface {
	Stats(ctx context.Context, pools []string, now time.Time) ([]queue.PoolStats, error)
	Config() queue.Config
}

var _ StatsReader = (*queue.Queue)(nil)

// StatsView is the body of GET /v1/stats: what a sales manager watches.
type StatsView struct {
	GeneratedAt time.Time    `json:"generated_at"`
	SLASeconds  float64      `json:"sla_seconds"`
	Totals      PoolView     `json:"totals"` // every listed pool together, pool "*"
	Pools       []PoolView   `json:"pools"`
	Funnel      []FunnelRow  `json:"funnel"` // by source, most leads first
	Model       *ModelHealth `json:"model"`
}

// PoolView is one pool's queue and speed to lead.
type PoolView struct {
	Pool      string `json:"pool"`
	Queued    int64  `json:"queued"`
	Scheduled int64  `json:"scheduled"`
	Claimed   int64  `json:"claimed"`
	Nurture   int64  `json:"nurture"`
	// NurtureExpired leads ended their nurture without a new trigger.
	NurtureExpired int64 `json:"nurture_expired"`
	Meeting        int64 `json:"meeting"`
	Closed         int64 `json:"closed"`
	// Untouched leads have not been called since their latest trigger.
	Untouched        int64     `json:"untouched"`
	UntouchedPastSLA int64     `json:"untouched_past_sla"`
	OldestUntouched  *float64  `json:"oldest_untouched_seconds"` // null when none waits
	Today            SpeedView `json:"today"`
	Last7Days        SpeedView `json:"last_7_days"`
}

// SpeedView is speed to lead over a window of UTC days.
type SpeedView struct {
	FirstAttempts  int64        `json:"first_attempts"`
	WithinSLA      int64        `json:"within_sla"`
	WithinSLAShare *float64     `json:"within_sla_share"` // null without attempts
	Within5mShare  *float64     `json:"within_5m_share"`
	P50Seconds     *float64     `json:"p50_seconds"` // interpolated in the histogram
	P90Seconds     *float64     `json:"p90_seconds"`
	SLABreaches    int64        `json:"sla_breaches"`
	Buckets        []BucketView `json:"buckets"`
}

// BucketView counts first attempts that took at most LE seconds (and more
// than the previous bucket's); LE is null for the last, unbounded bucket.
type BucketView struct {
	LE    *float64 `json:"le_seconds"`
	Count int64    `json:"count"`
}

// FunnelRow is one source's leads by the furthest stage they reached.
type FunnelRow struct {
	Source    string           `json:"source"` // "" when the lead came without one
	Entered   int64            `json:"entered"`
	Attempted int64            `json:"attempted"`
	Connected int64            `json:"connected"`
	Meetings  int64            `json:"meetings"`
	Reasons   map[string]int64 `json:"reasons"` // closed-loop reasons of lost leads
}

// ModelHealth is the served model at a glance.
type ModelHealth struct {
	Version    string     `json:"version"`
	Prior      bool       `json:"prior"` // the cold-start prior: no trained model yet
	Kind       string     `json:"kind,omitempty"`
	AUC        *float64   `json:"auc"`
	ECE        *float64   `json:"ece"`
	LogLoss    *float64   `json:"log_loss"`
	TestRows   int        `json:"test_rows"`
	TrainedAt  *time.Time `json:"trained_at"`
	AgeSeconds *float64   `json:"age_seconds"` // since training
}

func (s *Server) getStats(c *fiber.Ctx) error {
	if s.cfg.Stats == nil {
		return problem(fiber.StatusServiceUnavailable, "queue statistics are not configured on this replica",
			FieldProblem{Field: "queue", Detail: "not configured"})
	}
	now := s.now()
	pools := s.pools(c.Query("pools"))
	ps, err := s.cfg.Stats.Stats(c.UserContext(), pools, now)
	if err != nil {
		return queueError(err, "pools")
	}
	sla := s.cfg.Stats.Config().SLA
	out := StatsView{GeneratedAt: now.UTC(), SLASeconds: sla.Seconds(), Pools: make([]PoolView, 0, len(ps)), Model: s.modelHealth(now)}
	var all queue.PoolStats
	all.Pool = "*"
	funnel := map[string]*FunnelRow{}
	for _, p := range ps {
		out.Pools = append(out.Pools, poolView(p, now))
		all = addPool(all, p)
		for src, f := range p.Funnel {
			row := funnelRow(funnel, src)
			row.Entered += f.Entered
			row.Attempted += f.Attempted
			row.Connected += f.Connected
			row.Meetings += f.Meetings
		}
		for src, rs := range p.Reasons {
			row := funnelRow(funnel, src)
			for r, n := range rs {
				row.Reasons[r] += n
			}
		}
	}
	out.Totals = poolView(all, now)
	out.Funnel = make([]FunnelRow, 0, len(funnel))
	for _, src := range slices.Sorted(maps.Keys(funnel)) {
		out.Funnel = append(out.Funnel, *funnel[src])
	}
	slices.SortStableFunc(out.Funnel, func(a, b FunnelRow) int { return cmp.Compare(b.Entered, a.Entered) })
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(out)
}

func funnelRow(m map[string]*FunnelRow, src string) *FunnelRow {
	if m[src] == nil {
		m[src] = &FunnelRow{Source: src, Reasons: map[string]int64{}}
	}
	return m[src]
}

// addPool sums the counts of two pools; the oldest untouched lead is the older.
func addPool(a, b queue.PoolStats) queue.PoolStats {
	a.Queued += b.Queued
	a.Scheduled += b.Scheduled
	a.Claimed += b.Claimed
	a.Nurture += b.Nurture
	a.NurtureExpired += b.NurtureExpired
	a.Meeting += b.Meeting
	a.Closed += b.Closed
	a.Untouched += b.Untouched
	a.UntouchedPastSLA += b.UntouchedPastSLA
	if !b.OldestUntouchedAt.IsZero() && (a.OldestUntouchedAt.IsZero() || b.OldestUntouchedAt.Before(a.OldestUntouchedAt)) {
		a.OldestUntouchedAt = b.OldestUntouchedAt
	}
	a.Today, a.Week = a.Today.Add(b.Today), a.Week.Add(b.Week)
	return a
}

func poolView(p queue.PoolStats, now time.Time) PoolView {
	v := PoolView{Pool: p.Pool, Queued: p.Queued, Scheduled: p.Scheduled, Claimed: p.Claimed, Nurture: p.Nurture,
		NurtureExpired: p.NurtureExpired, Meeting: p.Meeting, Closed: p.Closed, Untouched: p.Untouched, UntouchedPastSLA: p.UntouchedPastSLA,
		Today: speedView(p.Today), Last7Days: speedView(p.Week)}
	if !p.OldestUntouchedAt.IsZero() {
		v.OldestUntouched = ptr(max(0, now.Sub(p.OldestUntouchedAt).Seconds()))
	}
	return v
}

func speedView(s queue.Speed) SpeedView {
	if s.Buckets == nil { // a pool sum starts from the zero Speed
		s = s.Add(queue.Speed{})
	}
	v := SpeedView{FirstAttempts: s.FirstAttempts, WithinSLA: s.WithinSLA, SLABreaches: s.Breaches}
	if s.FirstAttempts > 0 {
		n := float64(s.FirstAttempts)
		v.WithinSLAShare = ptr(float64(s.WithinSLA) / n)
		v.Within5mShare = ptr(float64(s.Within(5*time.Minute)) / n)
	}
	if q, ok := s.Quantile(0.5); ok {
		v.P50Seconds = ptr(q)
	}
	if q, ok := s.Quantile(0.9); ok {
		v.P90Seconds = ptr(q)
	}
	v.Buckets = make([]BucketView, len(s.Buckets))
	for i, b := range s.Buckets {
		v.Buckets[i].Count = b.Count
		if !math.IsInf(b.UpTo, 1) {
			v.Buckets[i].LE = ptr(b.UpTo)
		}
	}
	return v
}

// modelHealth describes the model this replica serves; nil without one.
func (s *Server) modelHealth(now time.Time) *ModelHealth {
	if s.cfg.Live == nil {
		return nil
	}
	cur := s.cfg.Live.Current()
	h := &ModelHealth{Version: cur.Version, Prior: cur.Version == model.PriorVersion}
	if c := cur.Card; c != nil {
		h.Kind, h.TestRows = c.Kind, c.Metrics.N
		h.AUC, h.ECE, h.LogLoss = ptr(c.Metrics.AUC), ptr(c.Metrics.ECE), ptr(c.Metrics.LogLoss)
		if !c.CreatedAt.IsZero() {
			at := c.CreatedAt.UTC()
			h.TrainedAt, h.AgeSeconds = &at, ptr(max(0, now.Sub(at).Seconds()))
		}
	}
	return h
}

func ptr[T any](v T) *T { return &v }
