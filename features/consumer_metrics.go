package features

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

type consumerMetrics struct {
	applied  *prometheus.CounterVec
	dead     *prometheus.CounterVec
	retries  *prometheus.CounterVec
	lag      prometheus.Gauge
	batch    prometheus.Histogram
	eventAge prometheus.Histogram
}

func newConsumerMetrics(reg prometheus.Registerer) (*consumerMetrics, error) {
	m := &consumerMetrics{
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leadq_events_applied_total", Help: "Events applied to the feature store, by type (redeliveries included).",
		}, []string{"type"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leadq_events_dead_lettered_total", Help: "Events sent to the dead-letter topic, by reason.",
		}, []string{"reason"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leadq_consumer_retries_total", Help: "Retried consumer steps (Redis or Kafka unavailable), by step.",
		}, []string{"step"}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "leadq_consumer_lag", Help: "Messages between the consumer's position and the end of its partitions.",
		}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "leadq_consumer_batch_seconds", Help: "Time to decode, apply and commit one batch.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		eventAge: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "leadq_event_to_feature_seconds", Help: "Time from an event's arrival in Kafka to its commit after applying.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
	}
	for _, c := range []prometheus.Collector{m.applied, m.dead, m.retries, m.lag, m.batch, m.eventAge} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, r := range Reasons() {
		m.dead.WithLabelValues(string(r))
	}
	return m, nil
}

func (m *consumerMetrics) observe(start time.Time, good []Applied, msgs []kafka.Message, lag int64) {
	var perType [numTypes]int
	for i := range good {
		perType[good[i].Event.Type]++
	}
	for t, n := range perType {
		if n > 0 {
			m.applied.WithLabelValues(Type(t).String()).Add(float64(n))
		}
	}
	done := time.Now()
	m.batch.Observe(done.Sub(start).Seconds())
	// One sample per batch, of its oldest message: the worst latency in it.
	oldest := msgs[0].Time
	for _, msg := range msgs {
		if msg.Time.Before(oldest) {
			oldest = msg.Time
		}
	}
	if !oldest.IsZero() {
		m.eventAge.Observe(done.Sub(oldest).Seconds())
	}
	if lag >= 0 {
		m.lag.Set(float64(lag))
	}
}
