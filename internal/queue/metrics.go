package queue

import (
	"errors"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the queue's Prometheus collectors; the caller registers them
// (see Collectors), so tests and several queues never clash on a registry.
type metrics struct {
	speed    *prometheus.HistogramVec // trigger to first attempt, per pool
	first    *prometheus.CounterVec   // first attempts per pool, within SLA or not
	pulls    *prometheus.CounterVec   // Next calls by result
	pullTime prometheus.Histogram     // Next latency as the caller sees it
	outcomes *prometheus.CounterVec   // outcomes per pool
	skipped  prometheus.Counter       // leads pulls passed over because the rep rejected them
	gone     prometheus.Counter       // leads Rescore left alone: no longer in the pool it was given
}

func newMetrics(sla time.Duration) *metrics {
	buckets := []float64{15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600, 7 * 24 * 3600}
	if s := sla.Seconds(); !slices.Contains(buckets, s) {
		buckets = append(buckets, s)
		slices.Sort(buckets)
	}
	return &metrics{
		speed: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "leadq_queue_speed_to_lead_seconds",
			Help:    "Time from a lead's latest high-intent trigger to its first claim (first call attempt).",
			Buckets: buckets,
		}, []string{"pool"}),
		first: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leadq_queue_first_attempts_total",
			Help: "First call attempts after a trigger, by whether they came within the speed-to-lead SLA.",
		}, []string{"pool", "within_sla"}),
		pulls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leadq_queue_pulls_total",
			Help: "Next calls by result: claimed, empty, rep_at_cap, rep_daily_cap, invalid or error.",
		}, []string{"result"}),
		pullTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "leadq_queue_pull_seconds",
			Help:    "Latency of Next, including the Redis round trip.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 14),
		}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leadq_queue_outcomes_total",
			Help: "Call outcomes reported on valid claims, per pool.",
		}, []string{"pool", "outcome"}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "leadq_queue_rejected_skipped_total",
			Help: "Better leads that pulls passed over because the pulling rep had rejected them (bounded per pull by the rejection cap).",
		}),
		gone: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "leadq_queue_rescore_gone_total",
			Help: "Leads a rescore left alone because their pool no longer held them (moved or removed since they were listed).",
		}),
	}
}

// Collectors returns the queue's Prometheus collectors for the caller to register.
func (q *Queue) Collectors() []prometheus.Collector {
	m := q.m
	return []prometheus.Collector{m.speed, m.first, m.pulls, m.pullTime, m.outcomes, m.skipped, m.gone}
}

// observePull records one Next call.
func (q *Queue) observePull(c Claim, err error, took time.Duration) {
	q.m.pullTime.Observe(took.Seconds())
	result := "claimed"
	switch {
	case err == nil:
	case errors.Is(err, ErrEmpty):
		result = "empty"
	case errors.Is(err, ErrRepAtCap):
		result = "rep_at_cap"
	case errors.Is(err, ErrRepDailyCap):
		result = "rep_daily_cap"
	case errors.Is(err, ErrInvalid):
		result = "invalid"
	default:
		result = "error"
	}
	q.m.pulls.WithLabelValues(result).Inc()
	q.m.skipped.Add(float64(c.Skipped))
	if err == nil && c.FirstAttempt {
		// From the start of the SLA clock: the trigger, or the calling-hours
		// opening after it.
		wait := time.Duration(c.AgeSeconds*float64(time.Second)) - c.SLAStartAt.Sub(c.TriggerAt)
		q.m.speed.WithLabelValues(c.Pool).Observe(wait.Seconds())
		within := "false"
		if wait <= q.cfg.SLA {
			within = "true"
		}
		q.m.first.WithLabelValues(c.Pool, within).Inc()
	}
}
