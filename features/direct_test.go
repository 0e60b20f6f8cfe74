package features

import (
	"testing"
	"time"

	"github.com/leadq/leadq/internal/testenv"
)

// TestDirectApplyOnce: an event the API applied directly (Applied.Direct) is
// a no-op when the consumer meets its copy on the topic, whatever partition
// and offset that copy has, and the Go fold agrees with the script.
func TestDirectApplyOnce(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	spec := DefaultSpec()
	store := NewStore(rdb, prefix, spec)
	r := newRand(3)
	evs := genEvents(r, "L1", 20)
	for i := range evs {
		evs[i].EventID = "form-" + string(rune('a'+i))
	}
	direct := make([]Applied, len(evs))
	for i, e := range evs {
		direct[i] = Applied{Event: e, Partition: -1, Direct: true}
	}
	want := State{}
	spec.FoldApplied(want, direct)

	ctx := t.Context()
	if ch, err := store.Apply(ctx, direct); err != nil || len(ch) != 1 {
		t.Fatalf("first direct apply: %v %v", ch, err)
	}
	// The consumer's copies: same events, Kafka positions, marked direct.
	copies := make([]Applied, len(evs))
	for i, e := range evs {
		copies[i] = Applied{Event: e, Partition: 2, Offset: int64(100 + i), Direct: true}
	}
	if ch, err := store.Apply(ctx, copies); err != nil || len(ch) != 0 {
		t.Fatalf("copies changed %v (%v): applied twice", ch, err)
	}
	got, err := store.Get(ctx, "L1")
	if err != nil {
		t.Fatal(err)
	}
	assertSameState(t, want, got, 1e-12)
	if spec.FoldApplied(want, copies) {
		t.Fatal("Go fold applied direct copies twice")
	}
	// A normal event after them still applies.
	late := genEvent(r, "L1", 99)
	late.TS = time.Now().UTC()
	if ch, err := store.Apply(ctx, []Applied{{Event: late, Partition: 2, Offset: 200}}); err != nil || len(ch) != 1 {
		t.Fatalf("normal event after direct ones: %v %v", ch, err)
	}
}
