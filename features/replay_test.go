package features

import (
	"context"
	"encoding/json"
	"maps"
	"strconv"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/leadq/leadq/internal/testenv"
)

// TestReplayRebuildsStore consumes a topic, then resets the group to the
// earliest offset, wipes the store and consumes again: the rebuilt store must
// equal the live one, key for key.
func TestReplayRebuildsStore(t *testing.T) {
	t.Parallel()
	brokers := testenv.KafkaBrokers(t)
	rdb, prefix := testenv.Redis(t)
	topic := testenv.Topic(t, brokers, 2)
	dlq := testenv.Topic(t, brokers, 1)
	group := "g" + testenv.Unique()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	r := newRand(7)
	var first, second []kafka.Message
	leads := map[string]bool{}
	for i := range 1200 {
		lead := "lead-" + strconv.Itoa(r.IntN(60))
		leads[lead] = true
		e := genEvent(r, lead, i)
		e.TS = time.Now().Add(-time.Duration(r.IntN(86400)) * time.Second).UTC().Truncate(time.Millisecond)
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		m := kafka.Message{Key: []byte(lead), Value: b}
		if i < 600 {
			first = append(first, m)
		} else {
			second = append(second, m)
		}
	}
	w := testenv.Writer(t, brokers, topic)
	if err := w.WriteMessages(ctx, first...); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // message timestamps have millisecond resolution
	middle := time.Now()
	time.Sleep(50 * time.Millisecond)
	if err := w.WriteMessages(ctx, second...); err != nil {
		t.Fatal(err)
	}
	store := NewStore(rdb, prefix, DefaultSpec())
	consume := func() {
		c, err := NewConsumer(ConsumerConfig{Brokers: brokers, Topic: topic, DLQTopic: dlq, GroupID: group, BatchSize: 100, SessionTimeout: 6 * time.Second}, store)
		if err != nil {
			t.Fatal(err)
		}
		cctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.Run(cctx) }()
		waitCommitted(ctx, t, brokers, group, topic, 2, int64(len(first)+len(second)))
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	snapshot := func() map[string]State {
		out := map[string]State{}
		for lead := range leads {
			st, err := store.Get(ctx, lead)
			if err != nil {
				t.Fatal(err)
			}
			out[lead] = st
		}
		return out
	}

	consume()
	live := snapshot()

	// A reset from a timestamp lands on the first message at or after it.
	offs, err := ResetGroup(ctx, brokers, topic, group, middle)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, o := range offs {
		sum += o
	}
	if sum != int64(len(first)) {
		t.Fatalf("reset to %s: offsets %v add up to %d, want %d", middle, offs, sum, len(first))
	}

	if _, err := ResetGroup(ctx, brokers, topic, group, time.Time{}); err != nil {
		t.Fatal(err)
	}
	n, err := store.Wipe(ctx)
	if err != nil || n != len(leads) {
		t.Fatalf("wipe deleted %d keys (%v), want %d", n, err, len(leads))
	}
	if st, _ := store.Get(ctx, "lead-1"); len(st) != 0 {
		t.Fatal("wipe left state behind")
	}
	consume()
	rebuilt := snapshot()
	for lead, st := range live {
		if !maps.Equal(st, rebuilt[lead]) {
			t.Errorf("lead %s: rebuilt state differs:\nlive    %v\nrebuilt %v", lead, st, rebuilt[lead])
		}
	}
}
