package features

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"

	"github.com/leadq/leadq/internal/testenv"
)

// formEventBytes is a form_submitted event as the stream carries it.
func formEventBytes(t *testing.T, id, lead string, ts time.Time) []byte {
	t.Helper()
	b, err := json.Marshal(Event{EventID: id, LeadID: lead, Type: FormSubmitted, TS: ts})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// consumerRig is a consumer of a fresh one-partition topic over a fresh
// store on the real servers.
type consumerRig struct {
	ctx     context.Context
	brokers []string
	rdb     redis.UniversalClient
	store   *Store
	topic   string
	group   string
	w       *kafka.Writer
	stop    func() error // stops the consumer and returns Run's error
}

func newConsumerRig(t *testing.T, timeout time.Duration) *consumerRig {
	t.Helper()
	brokers := testenv.KafkaBrokers(t)
	rdb, prefix := testenv.Redis(t)
	topic := testenv.Topic(t, brokers, 1)
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return &consumerRig{ctx: ctx, brokers: brokers, rdb: rdb, store: NewStore(rdb, prefix, DefaultSpec()),
		topic: topic, group: "g" + testenv.Unique(), w: testenv.Writer(t, brokers, topic)}
}

// send writes messages to the rig's topic.
func (r *consumerRig) send(t *testing.T, msgs ...kafka.Message) {
	t.Helper()
	if err := r.w.WriteMessages(r.ctx, msgs...); err != nil {
		t.Fatal(err)
	}
}

// run starts a consumer with cfg (brokers, topics and group filled in);
// stop ends it.
func (r *consumerRig) run(t *testing.T, cfg ConsumerConfig) {
	t.Helper()
	cfg.Brokers, cfg.Topic, cfg.DLQTopic, cfg.GroupID = r.brokers, r.topic, testenv.Topic(t, r.brokers, 1), r.group
	cfg.BatchSize, cfg.SessionTimeout = 10, 6*time.Second
	c, err := NewConsumer(cfg, r.store)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(r.ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(rctx) }()
	var once sync.Once
	var runErr error
	r.stop = func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	t.Cleanup(func() { _ = r.stop() })
}

// waitFor polls until ok or the deadline, then fails with msg.
func (r *consumerRig) waitFor(t *testing.T, d time.Duration, ok func() bool, msg func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) || r.ctx.Err() != nil {
			t.Fatal(msg())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *consumerRig) has(lead string) bool {
	n, _ := r.rdb.Exists(r.ctx, r.store.Key(lead)).Result()
	return n == 1
}

// TestApplyRetryReportsEveryChange: when an apply fails part-way (one lead's
// script fails), the leads it did write are still reported to AfterApply
// after the retry, which finds them applied: otherwise they are committed
// and never reranked.
func TestApplyRetryReportsEveryChange(t *testing.T) {
	t.Parallel()
	r := newConsumerRig(t, time.Minute)
	// Lead b's key holds a string: its script fails with WRONGTYPE until the
	// key is fixed (any per-lead failure, or a timeout after Redis ran the
	// pipeline, has the same effect).
	if err := r.rdb.Set(r.ctx, r.store.Key("b"), "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	r.send(t, kafka.Message{Key: []byte("a"), Value: formEventBytes(t, "ea", "a", now)},
		kafka.Message{Key: []byte("b"), Value: formEventBytes(t, "eb", "b", now)})
	var mu sync.Mutex
	reported := map[string]bool{}
	r.run(t, ConsumerConfig{BatchWait: 500 * time.Millisecond, AfterApply: func(_ context.Context, ch []Change) error {
		mu.Lock()
		defer mu.Unlock()
		for _, x := range ch {
			reported[x.LeadID] = true
		}
		return nil
	}})
	r.waitFor(t, time.Minute, func() bool { return r.has("a") }, func() string { return "lead a never applied" })
	if err := r.rdb.Del(r.ctx, r.store.Key("b")).Err(); err != nil {
		t.Fatal(err)
	}
	waitCommitted(r.ctx, t, r.brokers, r.group, r.topic, 1, 2)
	mu.Lock()
	defer mu.Unlock()
	for _, lead := range []string{"a", "b"} {
		if !r.has(lead) {
			t.Fatalf("lead %s has no state", lead)
		}
		if !reported[lead] {
			t.Errorf("lead %s was applied and its offset committed, but AfterApply never got it (reported: %v)", lead, reported)
		}
	}
}

// TestHugeBadEventDoesNotStall: a bad event just under the broker's size
// limit is dead-lettered (truncated: a full copy plus headers would be over
// the limit, and its write would fail for ever) and the valid event behind
// it is applied.
func TestHugeBadEventDoesNotStall(t *testing.T) {
	t.Parallel()
	r := newConsumerRig(t, time.Minute)
	huge := []byte(`{"event_id":"big","lead_id":"x","type":"page_viewed","ts":"2026-01-01T00:00:00Z","props":{"pad":"` +
		strings.Repeat("x", 1048450-120) + `"}}`)
	r.send(t, kafka.Message{Key: []byte("x"), Value: huge})
	r.send(t, kafka.Message{Key: []byte("ok"), Value: formEventBytes(t, "e-ok", "ok", time.Now().UTC())})
	r.run(t, ConsumerConfig{BatchWait: 20 * time.Millisecond})
	r.waitFor(t, 20*time.Second, func() bool { return r.has("ok") }, func() string {
		return "a bad event near the size limit stalled the partition: the valid event behind it was not applied in 20 s (Run: " + errString(r.stop()) + ")"
	})
}

// TestRecoversAfterLongOutage: a failure that outlasts one attempt's time
// bound does not stop the consumer for good once it ends.
func TestRecoversAfterLongOutage(t *testing.T) {
	t.Parallel()
	r := newConsumerRig(t, 2*time.Minute)
	if err := r.rdb.Set(r.ctx, r.store.Key("b"), "x", 0).Err(); err != nil { // apply fails until deleted
		t.Fatal(err)
	}
	r.send(t, kafka.Message{Key: []byte("b"), Value: formEventBytes(t, "eb", "b", time.Now().UTC())})
	r.run(t, ConsumerConfig{BatchWait: 20 * time.Millisecond, AttemptTimeout: 2 * time.Second})
	time.Sleep(5 * time.Second) // the outage: longer than AttemptTimeout
	if err := r.rdb.Del(r.ctx, r.store.Key("b")).Err(); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, 20*time.Second, func() bool { return r.has("b") }, func() string {
		return "the failure ended 20 s ago, but the consumer never applied the event: it is stuck for good"
	})
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
