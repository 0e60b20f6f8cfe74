package features

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
)

// Outbox is the transactional outbox of the events the API applies directly
// (POST /v1/leads): a Redis stream, <prefix>outbox:{ev}, appended in the same
// MULTI/EXEC as the apply (Store.ApplyDirect), so an event is either applied
// and waiting to be forwarded, or neither. Forward copies it to the lead-event
// topic with DirectHeader and only then deletes it: at least once to Kafka,
// which the consumer makes a no-op (the lead's _x:<event_id> marker).
//
// Redis Cluster: the outbox is one slot ({ev}) and a lead's hash is another,
// so no single transaction spans both. On a *redis.ClusterClient ApplyDirect
// therefore appends to the outbox first, waits, and only then applies (two
// round trips): a crash in between leaves an event in Kafka that was never
// applied, which the consumer then applies, never the reverse. The reader
// side (XREADGROUP, XAUTOCLAIM, XACK, XDEL) touches only the outbox's slot.
type Outbox struct {
	rdb     redis.UniversalClient
	key     string
	cluster bool

	// backlog is the outbox's length as the forwarder last saw it (about
	// every second): what POST /v1/leads compares with its limit, so a long
	// Kafka outage ends in 503s instead of Redis filling up.
	backlog   atomic.Int64
	entries   prometheus.Gauge
	oldestAge prometheus.Gauge
}

// outboxGroup is the Redis consumer group of the forwarders: every replica
// runs one, each entry goes to one of them.
const outboxGroup = "forward"

// NewOutbox returns the outbox under key prefix in rdb.
func NewOutbox(rdb redis.UniversalClient, prefix string) *Outbox {
	_, cluster := rdb.(*redis.ClusterClient)
	return &Outbox{rdb: rdb, key: prefix + "outbox:{ev}", cluster: cluster,
		entries: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "leadq_outbox_entries",
			Help: "Form events waiting in the Redis outbox to be written to Kafka (sampled about every second by the forwarder).",
		}),
		oldestAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "leadq_outbox_oldest_age_seconds",
			Help: "Age of the oldest form event waiting in the Redis outbox; grows while Kafka is unreachable.",
		}),
	}
}

// Collectors returns the outbox's Prometheus gauges for the caller to register.
func (o *Outbox) Collectors() []prometheus.Collector {
	return []prometheus.Collector{o.entries, o.oldestAge}
}

// Backlog returns how many events waited in the outbox when the forwarder
// last looked (0 before it first did).
func (o *Outbox) Backlog() int64 { return o.backlog.Load() }

// Sample samples the outbox's length and the age of its oldest entry (its
// stream id is its append time in ms) for Backlog and the gauges.
func (o *Outbox) Sample(ctx context.Context) error {
	pipe := o.rdb.Pipeline()
	n := pipe.XLen(ctx, o.key)
	first := pipe.XRangeN(ctx, o.key, "-", "+", 1)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	o.backlog.Store(n.Val())
	o.entries.Set(float64(n.Val()))
	age := 0.0
	if msgs := first.Val(); len(msgs) > 0 {
		if ms, _, ok := strings.Cut(msgs[0].ID, "-"); ok {
			if t, err := strconv.ParseInt(ms, 10, 64); err == nil {
				age = max(0, time.Since(time.UnixMilli(t)).Seconds())
			}
		}
	}
	o.oldestAge.Set(age)
	return nil
}

// Key returns the outbox stream's key.
func (o *Outbox) Key() string { return o.key }

// OutboxEntry is one event waiting in the outbox: its stream id, the Kafka
// key (lead id) and the event in the wire format.
type OutboxEntry struct {
	ID    string
	Key   string
	Value string
}

// appendTo queues one XADD per event on pipe.
func (o *Outbox) appendTo(ctx context.Context, pipe redis.Pipeliner, batch []Applied) ([]*redis.StringCmd, error) {
	cmds := make([]*redis.StringCmd, len(batch))
	for i := range batch {
		raw, err := batch[i].Event.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("features: outbox: encode %s: %w", batch[i].Event.EventID, err)
		}
		cmds[i] = pipe.XAdd(ctx, &redis.XAddArgs{Stream: o.key, Values: []any{"k", batch[i].Event.LeadID, "v", raw}})
	}
	return cmds, nil
}

// Read returns up to count entries for consumer (a forwarder's name). With
// minIdle > 0 it first takes over entries another forwarder read but did not
// acknowledge for minIdle (it died); if there are none it reads new ones,
// waiting up to block.
func (o *Outbox) Read(ctx context.Context, consumer string, count int, block, minIdle time.Duration) ([]OutboxEntry, error) {
	entries, err := o.read(ctx, consumer, count, block, minIdle)
	if err != nil && strings.Contains(err.Error(), "NOGROUP") {
		// First use, or the stream was deleted: (re)create the group.
		err = o.rdb.XGroupCreateMkStream(ctx, o.key, outboxGroup, "0").Err()
		if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
			return nil, fmt.Errorf("features: outbox: %w", err)
		}
		entries, err = o.read(ctx, consumer, count, block, minIdle)
	}
	return entries, err
}

func (o *Outbox) read(ctx context.Context, consumer string, count int, block, minIdle time.Duration) ([]OutboxEntry, error) {
	var msgs []redis.XMessage
	if minIdle > 0 {
		var err error
		msgs, _, err = o.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: o.key, Group: outboxGroup, Consumer: consumer, MinIdle: minIdle, Start: "0", Count: int64(count),
		}).Result()
		if err != nil {
			return nil, fmt.Errorf("features: outbox: reclaim: %w", err)
		}
	}
	if len(msgs) == 0 {
		res, err := o.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: outboxGroup, Consumer: consumer, Streams: []string{o.key, ">"}, Count: int64(count), Block: block,
		}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("features: outbox: read: %w", err)
		}
		for _, s := range res {
			msgs = append(msgs, s.Messages...)
		}
	}
	out := make([]OutboxEntry, 0, len(msgs))
	for _, m := range msgs {
		k, _ := m.Values["k"].(string)
		v, _ := m.Values["v"].(string)
		out = append(out, OutboxEntry{ID: m.ID, Key: k, Value: v})
	}
	return out, nil
}

// Ack deletes forwarded entries.
func (o *Outbox) Ack(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	pipe := o.rdb.TxPipeline()
	pipe.XAck(ctx, o.key, outboxGroup, ids...)
	pipe.XDel(ctx, o.key, ids...)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("features: outbox: ack: %w", err)
	}
	return nil
}

// Len returns how many entries wait in the outbox (read or not).
func (o *Outbox) Len(ctx context.Context) (int64, error) {
	return o.rdb.XLen(ctx, o.key).Result()
}

// MessageWriter writes messages to a Kafka topic (a *kafka.Writer).
type MessageWriter interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// ForwardOptions tune Forward; zero fields take the defaults.
type ForwardOptions struct {
	Consumer string        // this forwarder's name in the group; required, unique per process
	Batch    int           // most entries per Kafka write; default 500
	Block    time.Duration // longest wait for new entries; default 100ms
	// MinIdle is how long an entry read by a forwarder stays unacknowledged
	// before another takes it over (its reader died); default 30s.
	MinIdle time.Duration
	Log     *slog.Logger
}

// Forward copies outbox entries to w until ctx ends: read, write to Kafka
// (acks as configured on w), then delete. An entry is deleted only after
// Kafka took it; a failed write is retried with backoff, and entries of a
// forwarder that died are taken over after MinIdle (looked for about every
// MinIdle/4), so none is lost.
func (o *Outbox) Forward(ctx context.Context, w MessageWriter, opt ForwardOptions) error {
	if opt.Consumer == "" {
		return errors.New("features: outbox: forwarder needs a consumer name")
	}
	opt.Batch = cmp.Or(opt.Batch, 500)
	opt.Block = cmp.Or(opt.Block, 100*time.Millisecond)
	opt.MinIdle = cmp.Or(opt.MinIdle, 30*time.Second)
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	defer o.leave(opt.Consumer, opt.Log)
	var lastClaim, lastLook time.Time
	for ctx.Err() == nil {
		if time.Since(lastLook) >= time.Second {
			lastLook = time.Now()
			if err := o.Sample(ctx); err != nil && ctx.Err() == nil {
				opt.Log.Warn("sampling the outbox's length failed", "err", err)
			}
		}
		minIdle := time.Duration(0)
		if time.Since(lastClaim) >= opt.MinIdle/4 {
			minIdle, lastClaim = opt.MinIdle, time.Now()
		}
		entries, err := o.Read(ctx, opt.Consumer, opt.Batch, opt.Block, minIdle)
		if err != nil {
			if ctx.Err() == nil {
				opt.Log.Warn("reading the outbox failed; will retry", "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		if len(entries) > 0 {
			o.forward(ctx, w, entries, opt.Log)
		}
	}
	return nil
}

// leave removes a stopping forwarder's name from the group, unless entries
// it read still wait (a peer takes those over after MinIdle), so restarts do
// not pile up names.
func (o *Outbox) leave(consumer string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	pending, err := o.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: o.key, Group: outboxGroup, Start: "-", End: "+", Count: 1, Consumer: consumer,
	}).Result()
	if err != nil || len(pending) > 0 {
		return
	}
	if err := o.rdb.XGroupDelConsumer(ctx, o.key, outboxGroup, consumer).Err(); err != nil {
		log.Debug("removing the outbox forwarder's name failed", "consumer", consumer, "err", err)
	}
}

// forward writes entries to Kafka, retrying with backoff until it succeeds
// or ctx ends (then they stay pending, for this process's successor or a
// peer to take over), and deletes them.
func (o *Outbox) forward(ctx context.Context, w MessageWriter, entries []OutboxEntry, log *slog.Logger) {
	msgs := make([]kafka.Message, len(entries))
	ids := make([]string, len(entries))
	direct := []kafka.Header{{Key: DirectHeader, Value: []byte("1")}}
	for i, e := range entries {
		msgs[i] = kafka.Message{Key: []byte(e.Key), Value: []byte(e.Value), Headers: direct}
		ids[i] = e.ID
	}
	backoff := 50 * time.Millisecond
	for {
		err := w.WriteMessages(ctx, msgs...)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		log.Warn("writing outbox entries to Kafka failed; retrying", "entries", len(msgs), "retry_in", backoff, "err", err)
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	// A failed ack only means Kafka gets these again after MinIdle: harmless.
	if err := o.Ack(context.WithoutCancel(ctx), ids...); err != nil {
		log.Warn("deleting forwarded outbox entries failed; they will be sent again", "entries", len(ids), "err", err)
	}
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
