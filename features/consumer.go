package features

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

// ConsumerConfig configures a Consumer. Brokers, Topic, DLQTopic and GroupID
// are required; zero values of the rest take the defaults noted.
type ConsumerConfig struct {
	Brokers   []string
	Topic     string
	DLQTopic  string
	GroupID   string
	BatchSize int           // most events applied per batch; default 2000
	BatchWait time.Duration // longest wait to fill a batch; default 20ms
	Limits    Limits        // decoder limits; default DefaultLimits()
	// SessionTimeout is how long the group waits for a silent member (a
	// crashed consumer) before handing its partitions to others; default 10s.
	SessionTimeout time.Duration
	// AttemptTimeout bounds each try of a batch's Redis or Kafka step (dead
	// letters, apply, AfterApply, commit); a failed try is retried with
	// backoff, each with a fresh bound, until it succeeds; default 1 min.
	AttemptTimeout time.Duration
	// AfterApply, if set, is called with the leads a batch changed, before the
	// batch is committed (rescoring and re-queueing). It is retried until it
	// succeeds, so it must be idempotent.
	AfterApply func(ctx context.Context, changes []Change) error
	// OnCommit, if set, is called after each batch is committed, with the
	// batch's messages (benchmarks measure event-to-feature latency with it).
	OnCommit   func(msgs []kafka.Message, at time.Time)
	Now        func() time.Time // clock for the decoder's timestamp checks
	Log        *slog.Logger
	Registerer prometheus.Registerer
}

// Validate names the first missing or bad setting.
func (c ConsumerConfig) Validate() error {
	switch {
	case len(c.Brokers) == 0:
		return errors.New("features: consumer: no brokers")
	case c.Topic == "" || c.DLQTopic == "" || c.GroupID == "":
		return errors.New("features: consumer: topic, dead-letter topic and group are required")
	case c.BatchSize < 0 || c.BatchWait < 0:
		return errors.New("features: consumer: batch size and wait must not be negative")
	}
	return nil
}

// Consumer reads lead events from Kafka in a consumer group, applies them to
// the feature store in batches, and commits only what was applied. Events it
// cannot apply go to the dead-letter topic with a reason, before the commit.
type Consumer struct {
	cfg     ConsumerConfig
	store   *Store
	reader  *kafka.Reader
	dlq     *kafka.Writer
	metrics *consumerMetrics
	log     *slog.Logger
}

// NewConsumer builds a consumer of cfg.Topic that applies to store.
func NewConsumer(cfg ConsumerConfig, store *Store) (*Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 2000
	}
	if cfg.BatchWait == 0 {
		cfg.BatchWait = 20 * time.Millisecond
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = time.Minute
	}
	if cfg.SessionTimeout == 0 {
		cfg.SessionTimeout = 10 * time.Second
	}
	if cfg.Limits == (Limits{}) {
		cfg.Limits = DefaultLimits()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	m, err := newConsumerMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Consumer{
		cfg:   cfg,
		store: store,
		reader: kafka.NewReader(kafka.ReaderConfig{
			Brokers:        cfg.Brokers,
			GroupID:        cfg.GroupID,
			Topic:          cfg.Topic,
			MinBytes:       1,
			MaxBytes:       16 << 20,
			MaxWait:        100 * time.Millisecond,
			QueueCapacity:  cfg.BatchSize * 2,
			StartOffset:    kafka.FirstOffset,
			CommitInterval: 0, // commits are synchronous and explicit, after applying
			SessionTimeout: cfg.SessionTimeout,
			// Partitions added to the topic later are picked up by a rebalance.
			WatchPartitionChanges: true,
			// A member that left politely is replaced at once; only a crashed
			// one costs SessionTimeout.
			HeartbeatInterval: cfg.SessionTimeout / 10,
		}),
		dlq: &kafka.Writer{
			Addr:         kafka.TCP(cfg.Brokers...),
			Topic:        cfg.DLQTopic,
			Balancer:     &kafka.Hash{},
			RequiredAcks: kafka.RequireAll,
			BatchTimeout: 2 * time.Millisecond, // the default 1 s would stall every batch with a bad event
			Transport:    &kafka.Transport{},   // not the shared default, whose metadata cache lags new topics
		},
		metrics: m,
		log:     cfg.Log,
	}, nil
}

// Run consumes until ctx ends. The batch in hand when ctx ends is finished
// (applied, dead-lettered, committed) before Run returns, so a polite stop
// leaves nothing half-done; an impolite one (a crash) is covered by the
// store's per-partition offsets, which make the redelivered events no-ops.
func (c *Consumer) Run(ctx context.Context) error {
	defer c.close()
	batch := make([]kafka.Message, 0, c.cfg.BatchSize)
	for ctx.Err() == nil {
		var err error
		batch, err = c.fetch(ctx, batch[:0])
		if len(batch) > 0 {
			// Finish the batch even if ctx ends now: nothing of it is committed
			// until it is applied, and a half-applied batch is only redone.
			perr := c.process(context.WithoutCancel(ctx), ctx, batch)
			if perr != nil {
				return perr
			}
		}
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("features: consumer: fetch: %w", err)
		}
	}
	return nil
}

// fetch blocks for the first message, then takes what arrives within
// BatchWait, up to BatchSize.
func (c *Consumer) fetch(ctx context.Context, batch []kafka.Message) ([]kafka.Message, error) {
	m, err := c.reader.FetchMessage(ctx)
	if err != nil {
		return batch, err
	}
	batch = append(batch, m)
	wctx, cancel := context.WithTimeout(ctx, c.cfg.BatchWait)
	defer cancel()
	for len(batch) < c.cfg.BatchSize {
		m, err := c.reader.FetchMessage(wctx)
		if err != nil {
			if ctx.Err() == nil && wctx.Err() != nil {
				return batch, nil // the wait is over: process what we have
			}
			return batch, err
		}
		batch = append(batch, m)
	}
	return batch, nil
}

// process decodes, dead-letters, applies and commits one batch. Failures of
// Redis or Kafka are retried with backoff until they succeed or stop ends.
func (c *Consumer) process(base, stop context.Context, msgs []kafka.Message) error {
	start := time.Now()
	now := c.cfg.Now()
	good := make([]Applied, 0, len(msgs))
	var dead []kafka.Message
	for _, m := range msgs {
		e, err := Decode(m.Value, now, c.cfg.Limits)
		if err == nil && string(m.Key) != e.LeadID && len(m.Key) > 0 {
			err = &DecodeError{Reason: ReasonBadID, Field: "lead_id", Msg: "does not match the message key " + strconv.Quote(string(m.Key))}
		}
		if err != nil {
			dead = append(dead, c.deadLetter(m, err))
			continue
		}
		good = append(good, Applied{Event: e, Partition: m.Partition, Offset: m.Offset, Direct: isDirect(m)})
	}
	if len(dead) > 0 {
		if err := c.retry(base, stop, "write dead letters", func(ctx context.Context) error { return c.dlq.WriteMessages(ctx, dead...) }); err != nil {
			return err
		}
	}
	var changes []Change
	failed := false
	if err := c.retry(base, stop, "apply", func(ctx context.Context) error {
		var err error
		changes, err = c.store.ApplyChanges(ctx, good, changes[:0])
		failed = failed || err != nil
		return err
	}); err != nil {
		return err
	}
	if failed {
		// A failed attempt may have applied some leads, which the successful
		// one then skipped and did not report: report every lead of the batch.
		applied := changes
		if err := c.retry(base, stop, "report", func(ctx context.Context) error {
			var err error
			changes, err = c.store.reportAll(ctx, good, applied)
			return err
		}); err != nil {
			return err
		}
	}
	if c.cfg.AfterApply != nil && len(changes) > 0 {
		if err := c.retry(base, stop, "after apply", func(ctx context.Context) error { return c.cfg.AfterApply(ctx, changes) }); err != nil {
			return err
		}
	}
	if err := c.retry(base, stop, "commit", func(ctx context.Context) error { return c.reader.CommitMessages(ctx, lastPerPartition(msgs)...) }); err != nil {
		return err
	}
	c.metrics.observe(start, good, msgs, c.reader.Stats().Lag)
	if c.cfg.OnCommit != nil {
		c.cfg.OnCommit(msgs, time.Now())
	}
	return nil
}

// retry runs f until it succeeds, backing off up to 5 s, or until stop ends.
func (c *Consumer) retry(base, stop context.Context, what string, f func(context.Context) error) error {
	wait := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(base, c.cfg.AttemptTimeout) // a fresh bound per attempt: an outage longer than one bound must not stop the consumer for good
		err := f(actx)
		cancel()
		if err == nil {
			return nil
		}
		c.metrics.retries.WithLabelValues(what).Inc()
		c.log.Warn("consumer: retrying", "step", what, "attempt", attempt, "err", err)
		select {
		case <-stop.Done():
			return fmt.Errorf("features: consumer: %s: %w (stopped while retrying)", what, err)
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
	}
}

// deadLetter wraps a message that cannot be applied: the original bytes and
// key, where it came from and why it was refused.
func (c *Consumer) deadLetter(m kafka.Message, err error) kafka.Message {
	reason, detail := string(ReasonMalformedJSON), err.Error()
	var de *DecodeError
	if errors.As(err, &de) {
		reason = string(de.Reason)
	}
	c.metrics.dead.WithLabelValues(reason).Inc()
	c.log.Debug("consumer: dead-lettered", "partition", m.Partition, "offset", m.Offset, "reason", reason, "detail", detail)
	value := m.Value
	var extra []kafka.Header
	if len(value) > maxDeadValue {
		// The copy plus headers could exceed what the DLQ topic or the
		// writer accepts: keep a prefix and say how long the original was.
		value = value[:maxDeadValue]
		extra = append(extra, kafka.Header{Key: "leadq.truncated", Value: []byte(strconv.Itoa(len(m.Value)))})
	}
	return kafka.Message{
		Key:   m.Key,
		Value: value,
		Headers: append([]kafka.Header{
			{Key: "leadq.reason", Value: []byte(reason)},
			{Key: "leadq.detail", Value: []byte(detail)},
			{Key: "leadq.topic", Value: []byte(m.Topic)},
			{Key: "leadq.partition", Value: []byte(strconv.Itoa(m.Partition))},
			{Key: "leadq.offset", Value: []byte(strconv.FormatInt(m.Offset, 10))},
		}, extra...),
	}
}

// maxDeadValue bounds the original bytes a dead letter carries: a copy of a
// message just under the broker's size limit, plus the headers, would be
// over it, and its write would be retried for ever.
const maxDeadValue = 64 << 10

// isDirect reports whether the API already applied the message's event.
func isDirect(m kafka.Message) bool {
	for _, h := range m.Headers {
		if h.Key == DirectHeader {
			return string(h.Value) == "1"
		}
	}
	return false
}

func lastPerPartition(msgs []kafka.Message) []kafka.Message {
	last := map[int]kafka.Message{}
	for _, m := range msgs {
		if l, ok := last[m.Partition]; !ok || m.Offset > l.Offset {
			last[m.Partition] = m
		}
	}
	out := make([]kafka.Message, 0, len(last))
	for _, m := range last {
		out = append(out, m)
	}
	return out
}

// close bounds Reader.Close, which can hang during a rebalance (kafka-go
// issues 1353, 1248).
func (c *Consumer) close() {
	done := make(chan struct{})
	go func() {
		_ = c.reader.Close()
		_ = c.dlq.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.log.Warn("consumer: closing the Kafka reader timed out")
	}
}
