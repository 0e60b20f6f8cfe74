package queue

import (
	"context"
	"testing"
	"time"
)

// TestEventsForwardedOnce: an SLA breach is read by one forwarder, stays
// pending (not handed to another) until acknowledged, and is gone after.
func TestEventsForwardedOnce(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil)
	ctx := context.Background()
	upsert(t, q, Lead{ID: "slow", Pool: "p", P: 0.1, TriggerAt: t0}, t0)
	if _, err := q.Tick(ctx, []string{"p"}, t0.Add(6*time.Minute)); err != nil {
		t.Fatal(err)
	}
	a, err := q.ReadEvents(ctx, "p", "replica-a", 10)
	if err != nil || len(a) != 1 {
		t.Fatalf("first read: %+v %v", a, err)
	}
	ev := a[0]
	if ev.Type != "sla_breached" || ev.LeadID != "slow" || ev.Pool != "p" || !ev.TriggerAt.Equal(t0) || !ev.At.Equal(t0.Add(6*time.Minute)) {
		t.Fatalf("event %+v", ev)
	}
	if b, err := q.ReadEvents(ctx, "p", "replica-b", 10); err != nil || len(b) != 0 {
		t.Fatalf("an unacknowledged event went to a second forwarder: %+v %v", b, err)
	}
	if err := q.AckEvents(ctx, "p", ev.ID); err != nil {
		t.Fatal(err)
	}
	if a, err := q.ReadEvents(ctx, "p", "replica-a", 10); err != nil || len(a) != 0 {
		t.Fatalf("acknowledged event read again: %+v %v", a, err)
	}
}
