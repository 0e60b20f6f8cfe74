package features

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/internal/testenv"
)

// scriptCounter counts the script calls a client sends.
type scriptCounter struct{ n atomic.Int64 }

func (c *scriptCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *scriptCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.count(cmd)
		return next(ctx, cmd)
	}
}

func (c *scriptCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			c.count(cmd)
		}
		return next(ctx, cmds)
	}
}

func (c *scriptCounter) count(cmd redis.Cmder) {
	if n := strings.ToLower(cmd.Name()); n == "evalsha" || n == "eval" {
		c.n.Add(1)
	}
}

// TestSkipDirectCopies: the consumer's copies of events the API applied
// cost no script call and change nothing; in the same batch, a direct event
// the API never applied (its transaction lost after the outbox append) and
// ordinary events are applied, and the state is the fold of all of it.
func TestSkipDirectCopies(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	var calls scriptCounter
	rdb.AddHook(&calls)
	store, ob := NewStore(rdb, prefix, DefaultSpec()), NewOutbox(rdb, prefix)
	ctx := t.Context()
	if err := store.Load(ctx); err != nil {
		t.Fatal(err)
	}
	r := newRand(21)
	formA, formB := genForm(r, "A", testNow), genForm(r, "B", testNow)
	if _, err := store.CreateDirect(ctx, ob, formA, store.Spec().NewLeadState(formA), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := store.ApplyDirect(ctx, ob, formB, nil); err != nil {
		t.Fatal(err)
	}
	lost := genForm(r, "C", testNow) // in Kafka, never applied by the API

	var batch []Applied
	off := int64(100)
	add := func(evs []Applied, direct bool) {
		for _, a := range evs {
			a.Partition, a.Offset, a.Direct = 1, off, direct
			off++
			batch = append(batch, a)
		}
	}
	add(formA, true)
	add(formB, true)
	calls.n.Store(0)
	if ch, err := store.ApplyChanges(ctx, batch, nil); err != nil || len(ch) != 0 {
		t.Fatalf("copies changed %v (%v)", ch, err)
	}
	if n := calls.n.Load(); n != 0 {
		t.Fatalf("copies of applied events cost %d script calls, want 0", n)
	}

	add(lost, true)
	ordinary := Applied{Event: genEventOf(r, "A", 7, PageViewed)}
	add([]Applied{ordinary}, false)
	ch, err := store.ApplyChanges(ctx, batch, nil)
	if err != nil || len(ch) != 2 || ch[0].LeadID != "A" || ch[1].LeadID != "C" {
		t.Fatalf("ApplyChanges = %v, %v; want leads A and C changed", ch, err)
	}
	if n := calls.n.Load(); n != 2 {
		t.Errorf("%d script calls, want 2 (leads A and C)", n)
	}
	for lead, evs := range map[string][]Applied{"A": append(formA, batch[len(batch)-1]), "B": formB, "C": lost} {
		want := State{}
		store.Spec().FoldApplied(want, evs)
		got, _ := store.Get(ctx, lead)
		assertSameState(t, want, got, 1e-12)
	}
	// The ordinary event recorded its offset; the direct ones none.
	if off, _ := store.Offsets(ctx, "A"); len(off) != 1 || off[1] != batch[len(batch)-1].Offset {
		t.Errorf("offsets of A = %v", off)
	}
	if off, _ := store.Offsets(ctx, "C"); len(off) != 0 {
		t.Errorf("offsets of C = %v, want none", off)
	}
}
