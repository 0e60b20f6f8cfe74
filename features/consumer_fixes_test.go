package features

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/leadq/leadq/internal/testenv"
)

// formEventBytes returns the wire bytes of a valid form_submitted event of lead.
// formEventBytes is a form_submitted event as the stream carries it.
func formEventBytes(t *testing.T, id, lead string, ts time.Time) []byte {
	t.Helper()
	b, err := json.Marshal(Event{EventID: id, LeadID: lead, Type: FormSubmitted, TS: ts})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestApplyRetryReportsEveryChange: a batch whose apply fails for one
// lead (Redis answers an error for it) while the other leads' scripts ran is
// retried; the retry finds those leads applied and reports no change for
// them, so AfterApply (rescoring, queue placement) never hears of them,
// although their state changed and the batch is committed.
// TestApplyRetryReportsEveryChange: when an apply fails part-way (one lead's
// script fails), the leads it did write are still reported to AfterApply
// after the retry, which finds them applied: otherwise they are committed
// and never reranked.
func TestApplyRetryReportsEveryChange(t *testing.T) {
	t.Parallel()
	brokers := testenv.KafkaBrokers(t)
	rdb, prefix := testenv.Redis(t)
	topic := testenv.Topic(t, brokers, 1)
	dlq := testenv.Topic(t, brokers, 1)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	store := NewStore(rdb, prefix, DefaultSpec())

	// Lead b's key holds a string: its script fails with WRONGTYPE until the
	// key is fixed (any per-lead failure, or a timeout after Redis ran the
	// pipeline, has the same effect).
	if err := rdb.Set(ctx, store.Key("b"), "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	w := testenv.Writer(t, brokers, topic)
	if err := w.WriteMessages(ctx,
		kafka.Message{Key: []byte("a"), Value: formEventBytes(t, "ea", "a", now)},
		kafka.Message{Key: []byte("b"), Value: formEventBytes(t, "eb", "b", now)},
	); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	reported := map[string]bool{}
	group := "g" + testenv.Unique()
	c, err := NewConsumer(ConsumerConfig{
		Brokers: brokers, Topic: topic, DLQTopic: dlq, GroupID: group,
		BatchSize: 10, BatchWait: 500 * time.Millisecond, SessionTimeout: 6 * time.Second,
		AfterApply: func(_ context.Context, ch []Change) error {
			mu.Lock()
			defer mu.Unlock()
			for _, x := range ch {
				reported[x.LeadID] = true
			}
			return nil
		},
	}, store)
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(rctx) }()
	defer func() { stop(); <-done }()

	// Wait until a's script ran (first attempt of the batch), then fix b.
	for {
		if n, _ := rdb.Exists(ctx, store.Key("a")).Result(); n == 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("lead a never applied")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := rdb.Del(ctx, store.Key("b")).Err(); err != nil {
		t.Fatal(err)
	}
	waitCommitted(ctx, t, brokers, group, topic, 1, 2)

	mu.Lock()
	defer mu.Unlock()
	for _, lead := range []string{"a", "b"} {
		st, _ := store.Get(ctx, lead)
		if len(st) == 0 {
			t.Fatalf("lead %s has no state", lead)
		}
		if !reported[lead] {
			t.Errorf("lead %s was applied and its offset committed, but AfterApply never got it (reported: %v)", lead, reported)
		}
	}
}

// TestHugeBadEventDoesNotStall: a message the broker accepted on the
// event topic (just under its 1 MB default) is too large for Decode, so it is
// dead-lettered, but its dead letter (the same bytes plus reason headers) is
// over the writer's 1 MiB batch limit: the DLQ write fails the same way on
// every retry, and the partition (the whole consumer) stops for good; the
// valid event behind it is never applied.
// TestHugeBadEventDoesNotStall: a bad event just under the broker's size
// limit is dead-lettered (truncated) and the valid event behind it applied.
func TestHugeBadEventDoesNotStall(t *testing.T) {
	t.Parallel()
	brokers := testenv.KafkaBrokers(t)
	rdb, prefix := testenv.Redis(t)
	topic := testenv.Topic(t, brokers, 1)
	dlq := testenv.Topic(t, brokers, 1)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	store := NewStore(rdb, prefix, DefaultSpec())

	huge := []byte(`{"event_id":"big","lead_id":"x","type":"page_viewed","ts":"2026-01-01T00:00:00Z","props":{"pad":"` +
		strings.Repeat("x", 1048450-120) + `"}}`)
	w := testenv.Writer(t, brokers, topic)
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("x"), Value: huge}); err != nil {
		t.Fatalf("the broker refused the %d-byte event: %v", len(huge), err)
	}
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("ok"), Value: formEventBytes(t, "e-ok", "ok", time.Now().UTC())}); err != nil {
		t.Fatal(err)
	}

	c, err := NewConsumer(ConsumerConfig{
		Brokers: brokers, Topic: topic, DLQTopic: dlq, GroupID: "g" + testenv.Unique(),
		BatchSize: 10, BatchWait: 20 * time.Millisecond, SessionTimeout: 6 * time.Second,
	}, store)
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(rctx) }()

	deadline := time.Now().Add(20 * time.Second)
	for {
		if n, _ := rdb.Exists(ctx, store.Key("ok")).Result(); n == 1 {
			break
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("a %d-byte bad event stalled the partition: the valid event behind it was not applied in 20 s (Run: %v)", len(huge), <-done)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	<-done
}

// TestRecoversAfterLongOutage: a batch whose apply keeps failing for
// over a minute (Redis unavailable, or one lead's key unusable, for that
// long) must be applied once the failure ends. Run gives process a context
// with a one-minute timeout and retry only stops on the run context, so
// after a minute every retry fails at once with "context deadline exceeded"
// and the consumer never applies or commits anything again.
// TestRecoversAfterLongOutage: a failure that outlasts one attempt's time
// bound does not stop the consumer for good once it ends.
func TestRecoversAfterLongOutage(t *testing.T) {
	t.Parallel()
	brokers := testenv.KafkaBrokers(t)
	rdb, prefix := testenv.Redis(t)
	topic := testenv.Topic(t, brokers, 1)
	dlq := testenv.Topic(t, brokers, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	store := NewStore(rdb, prefix, DefaultSpec())

	if err := rdb.Set(ctx, store.Key("b"), "x", 0).Err(); err != nil { // apply fails until deleted
		t.Fatal(err)
	}
	w := testenv.Writer(t, brokers, topic)
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("b"), Value: formEventBytes(t, "eb", "b", time.Now().UTC())}); err != nil {
		t.Fatal(err)
	}
	c, err := NewConsumer(ConsumerConfig{
		Brokers: brokers, Topic: topic, DLQTopic: dlq, GroupID: "g" + testenv.Unique(),
		BatchSize: 10, BatchWait: 20 * time.Millisecond, SessionTimeout: 6 * time.Second,
		AttemptTimeout: 2 * time.Second, // the outage below outlasts it
	}, store)
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(rctx) }()
	defer func() { stop(); <-done }()

	time.Sleep(5 * time.Second) // the outage: longer than AttemptTimeout
	if err := rdb.Del(ctx, store.Key("b")).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if st, _ := store.Get(ctx, "b"); len(st) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the failure ended 20 s ago, but the consumer never applied the event: it is stuck for good")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
