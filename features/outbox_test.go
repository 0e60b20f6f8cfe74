package features

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"

	"github.com/leadq/leadq/internal/testenv"
)

// formBatch is what POST /v1/leads applies for a new lead.
func formBatch(lead, prefix string, now time.Time) []Applied {
	evs := []Event{
		{EventID: prefix + "-lead_created", LeadID: lead, Type: LeadCreated, TS: now, Props: Props{Company: "Acme", Source: "website"}},
		{EventID: prefix + "-form_submitted", LeadID: lead, Type: FormSubmitted, TS: now},
	}
	out := make([]Applied, len(evs))
	for i, e := range evs {
		out[i] = Applied{Event: e, Partition: -1, Direct: true}
	}
	return out
}

// TestApplyDirect: one transaction applies the events, appends their copies
// to the outbox and runs the caller's extra commands; the state is the fold.
func TestApplyDirect(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	store := NewStore(rdb, prefix, DefaultSpec())
	ob := NewOutbox(rdb, prefix)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	batch := formBatch("L1", "form-a", now)
	var extra *redis.StatusCmd
	ch, err := store.ApplyDirect(ctx, ob, batch, func(p redis.Pipeliner) { extra = p.Set(ctx, prefix+"x", "1", time.Minute) })
	if err != nil || len(ch) != 1 || ch[0].LeadID != "L1" || !ch[0].TriggerAt.Equal(now) {
		t.Fatalf("apply direct: %+v %v", ch, err)
	}
	if extra.Err() != nil {
		t.Fatalf("caller's command: %v", extra.Err())
	}
	want := State{}
	store.Spec().FoldApplied(want, batch)
	got, err := store.Get(ctx, "L1")
	if err != nil {
		t.Fatal(err)
	}
	assertSameState(t, want, got, 1e-12)
	if n, err := ob.Len(ctx); err != nil || n != 2 {
		t.Fatalf("outbox holds %d entries (%v), want 2", n, err)
	}
	// A retry (same event ids) changes no state and only adds copies.
	if ch, err := store.ApplyDirect(ctx, ob, batch, nil); err != nil || len(ch) != 0 {
		t.Fatalf("retry changed %+v (%v)", ch, err)
	}
	// An event that is not Direct is refused before anything is written.
	if _, err := store.ApplyDirect(ctx, ob, []Applied{{Event: batch[0].Event, Partition: 1, Offset: 9}}, nil); err == nil {
		t.Fatal("a stream event was applied as a direct one")
	}
	if n, _ := ob.Len(ctx); n != 4 {
		t.Fatalf("outbox holds %d entries, want 4", n)
	}
}

// stuckWriter blocks every write until its context ends: a forwarder that
// dies between reading the outbox and writing to Kafka.
type stuckWriter struct{ called chan struct{} }

func (w *stuckWriter) WriteMessages(ctx context.Context, _ ...kafka.Message) error {
	select {
	case w.called <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return ctx.Err()
}

// TestOutboxSurvivesDeadForwarder: events applied while no forwarder runs,
// and events a forwarder read but died before writing, all reach the real
// topic (with the direct header) through another forwarder, and leave the
// outbox once written.
func TestOutboxSurvivesDeadForwarder(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	brokers := testenv.KafkaBrokers(t)
	topic := testenv.Topic(t, brokers, 2)
	store := NewStore(rdb, prefix, DefaultSpec())
	ob := NewOutbox(rdb, prefix)
	ctx := t.Context()
	now := time.Now().UTC()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	// Applied, then the forwarder that read them dies mid-write.
	if _, err := store.ApplyDirect(ctx, ob, formBatch("L1", "form-1", now), nil); err != nil {
		t.Fatal(err)
	}
	dead, kill := context.WithCancel(ctx)
	stuck := &stuckWriter{called: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() { done <- ob.Forward(dead, stuck, ForwardOptions{Consumer: "dead", Log: quiet}) }()
	select {
	case <-stuck.called:
	case <-time.After(10 * time.Second):
		t.Fatal("the first forwarder never read the outbox")
	}
	kill()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Applied after the forwarder died: nobody has read them.
	if _, err := store.ApplyDirect(ctx, ob, formBatch("L2", "form-2", now), nil); err != nil {
		t.Fatal(err)
	}
	if n, _ := ob.Len(ctx); n != 4 {
		t.Fatalf("outbox holds %d entries, want 4", n)
	}

	fwd, stop := context.WithCancel(ctx)
	defer stop()
	w := testenv.Writer(t, brokers, topic)
	go func() {
		_ = ob.Forward(fwd, w, ForwardOptions{Consumer: "live", MinIdle: 300 * time.Millisecond, Block: 50 * time.Millisecond, Log: quiet})
	}()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, GroupID: "g" + testenv.Unique(), StartOffset: kafka.FirstOffset, MaxWait: 50 * time.Millisecond})
	defer r.Close()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var ids []string
	for len(ids) < 4 {
		m, err := r.ReadMessage(rctx)
		if err != nil {
			t.Fatalf("only %v reached Kafka: %v", ids, err)
		}
		if !isDirect(m) {
			t.Errorf("message %s lacks the %s header", m.Value, DirectHeader)
		}
		e, err := Decode(m.Value, time.Now(), DefaultLimits())
		if err != nil || string(m.Key) != e.LeadID {
			t.Fatalf("message %s (key %s): %v", m.Value, m.Key, err)
		}
		ids = append(ids, e.EventID)
	}
	sort.Strings(ids)
	want := []string{"form-1-form_submitted", "form-1-lead_created", "form-2-form_submitted", "form-2-lead_created"}
	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("events on the topic %v, want %v", ids, want)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := ob.Len(ctx)
		if err == nil && n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox still holds %d entries after forwarding (%v)", n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// failingWriter fails its first writes, then records.
type failingWriter struct {
	fails int
	got   []kafka.Message
}

func (w *failingWriter) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	if w.fails > 0 {
		w.fails--
		return errors.New("kafka: not enough replicas")
	}
	w.got = append(w.got, msgs...)
	return nil
}

// TestOutboxRetriesFailedWrites: a write Kafka refuses is retried; the entry
// is deleted only once written.
func TestOutboxRetriesFailedWrites(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	store := NewStore(rdb, prefix, DefaultSpec())
	ob := NewOutbox(rdb, prefix)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if _, err := store.ApplyDirect(ctx, ob, formBatch("L1", "form-1", time.Now()), nil); err != nil {
		t.Fatal(err)
	}
	w := &failingWriter{fails: 2}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = ob.Forward(ctx, w, ForwardOptions{Consumer: "c", Block: 20 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	for ctx.Err() == nil {
		if n, _ := ob.Len(ctx); n == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if len(w.got) != 2 || w.fails != 0 {
		t.Fatalf("wrote %d messages after %d refusals left, want 2 after 0", len(w.got), w.fails)
	}
	var ev struct {
		EventID string `json:"event_id"`
	}
	if err := json.Unmarshal(w.got[0].Value, &ev); err != nil || ev.EventID != "form-1-lead_created" {
		t.Fatalf("first message %s: %v", w.got[0].Value, err)
	}
}

// TestOutboxBacklogAndLeave: the backlog (what POST /v1/leads compares with
// its limit) counts waiting events and the oldest one's age, and a
// forwarder that stops with nothing pending leaves the group.
func TestOutboxBacklogAndLeave(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	store := NewStore(rdb, prefix, DefaultSpec())
	ob := NewOutbox(rdb, prefix)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for i := range 3 {
		if _, err := store.ApplyDirect(ctx, ob, formBatch(fmt.Sprintf("L%d", i), fmt.Sprintf("form-%d", i), time.Now()), nil); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond)
	if err := ob.Sample(ctx); err != nil || ob.Backlog() != 6 {
		t.Fatalf("backlog %d (%v), want 6 (3 forms × 2 events)", ob.Backlog(), err)
	}
	var g dto.Metric
	if err := ob.oldestAge.Write(&g); err != nil || g.Gauge.GetValue() < 0.02 || g.Gauge.GetValue() > 10 {
		t.Fatalf("oldest age %v s (%v), want about 0.02 s", g.Gauge.GetValue(), err)
	}
	w := &failingWriter{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = ob.Forward(ctx, w, ForwardOptions{Consumer: "leaver", Block: 20 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	for ctx.Err() == nil {
		if n, _ := ob.Len(ctx); n == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if err := ob.Sample(t.Context()); err != nil || ob.Backlog() != 0 {
		t.Fatalf("backlog after forwarding %d (%v), want 0", ob.Backlog(), err)
	}
	consumers, err := rdb.XInfoConsumers(t.Context(), ob.Key(), outboxGroup).Result()
	if err != nil || len(consumers) != 0 {
		t.Fatalf("consumers left in the group: %+v (%v), want none", consumers, err)
	}
}
