package features

import (
	"context"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/internal/testenv"
)

// stream is a random topic: events of many leads, keyed by lead onto
// partitions, with increasing offsets per partition.
type stream struct {
	all    []Applied
	byLead map[string][]Applied
}

func genStream(r *rand.Rand, leads, maxEvents, partitions int) stream {
	s := stream{byLead: map[string][]Applied{}}
	var evs []Event
	for l := range leads {
		evs = append(evs, genEvents(r, "lead-"+strconv.Itoa(l), 1+r.IntN(maxEvents))...)
	}
	r.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	next := make([]int64, partitions)
	for _, e := range evs {
		p := int(hash64(hashSeed, e.LeadID) % uint64(partitions))
		a := Applied{Event: e, Partition: p, Offset: next[p]}
		next[p]++
		s.all = append(s.all, a)
		s.byLead[e.LeadID] = append(s.byLead[e.LeadID], a)
	}
	return s
}

// applyInBatches feeds s to the store in random batch sizes and returns the
// leads each batch reported changed.
func applyInBatches(t *testing.T, st *Store, r *rand.Rand, all []Applied) [][]Change {
	t.Helper()
	var out [][]Change
	for lo := 0; lo < len(all); {
		hi := min(len(all), lo+1+r.IntN(300))
		ch, err := st.ApplyChanges(t.Context(), all[lo:hi], nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ch)
		lo = hi
	}
	return out
}

func TestStoreMatchesFold(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	runStoreMatchesFold(t, NewStore(rdb, prefix, DefaultSpec()), rdb)
}

// TestStoreEmbedded runs the same check against miniredis, the in-process
// server of leadq's embedded mode, whose Lua is gopher-lua rather than Redis's.
func TestStoreEmbedded(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	runStoreMatchesFold(t, NewStore(rdb, "emb:", DefaultSpec()), rdb)
}

func runStoreMatchesFold(t *testing.T, st *Store, rdb redis.UniversalClient) {
	spec := st.Spec()
	r := newRand(42)
	s := genStream(r, 60, 70, 4)
	changes := applyInBatches(t, st, r, s.all)

	for lead, evs := range s.byLead {
		want := State{}
		spec.FoldApplied(want, evs)
		got, err := st.Get(t.Context(), lead)
		if err != nil {
			t.Fatal(err)
		}
		// Lua's pow and Go's math.Pow may differ in the last bit.
		assertSameState(t, want, got, 1e-12)
		assertSameFeatures(t, spec, want, got, testNow, 1e-12)
		if t.Failed() {
			t.Fatalf("lead %s: Redis and Fold disagree", lead)
		}
	}
	// Every batch reports exactly its leads, with their trigger time then.
	for _, ch := range changes {
		for _, c := range ch {
			if _, ok := s.byLead[c.LeadID]; !ok {
				t.Fatalf("unknown lead %s reported", c.LeadID)
			}
		}
	}
	last := changes[len(changes)-1]
	for _, c := range last {
		state, _ := st.Get(t.Context(), c.LeadID)
		if want, ok := spec.TriggerAt(state); ok != !c.TriggerAt.IsZero() || !want.Equal(c.TriggerAt) {
			t.Errorf("lead %s: reported trigger %v, state says %v", c.LeadID, c.TriggerAt, want)
		}
	}

	// Replaying the whole topic, in other batch sizes, changes nothing.
	before := snapshot(t, st, s)
	for _, ch := range applyInBatches(t, st, newRand(43), s.all) {
		if len(ch) != 0 {
			t.Fatalf("replay reported changes: %v", ch)
		}
	}
	if after := snapshot(t, st, s); !maps.EqualFunc(before, after, maps.Equal) {
		t.Fatal("replay changed the stored state")
	}
}

func snapshot(t *testing.T, st *Store, s stream) map[string]State {
	t.Helper()
	out := map[string]State{}
	for lead := range s.byLead {
		v, err := st.Get(t.Context(), lead)
		if err != nil {
			t.Fatal(err)
		}
		out[lead] = v
	}
	return out
}

// TestStoreLateEvents: events arriving newest first (higher offsets, older
// times) end in the same state as the same events arriving in time order.
func TestStoreLateEvents(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	st := NewStore(rdb, prefix, DefaultSpec())
	inOrder, late := make([]Applied, 40), make([]Applied, 40)
	for i := range 40 {
		e := Event{EventID: strconv.Itoa(i), Type: []Type{DemoRequested, PageViewed, EmailOpened, LeadUpdated}[i%4],
			TS:    testNow.Add(-time.Duration(40-i) * 37 * time.Minute),
			Props: Props{Path: "/pricing", SessionID: "s" + strconv.Itoa(i%3), Title: "T" + strconv.Itoa(i)}}
		e.LeadID = "in-order"
		inOrder[i] = Applied{Event: e, Partition: 0, Offset: int64(i)}
		e.LeadID = "late" // arrives newest first: its offsets run against time
		late[39-i] = Applied{Event: e, Partition: 0, Offset: int64(39 - i)}
	}
	for _, b := range [][]Applied{inOrder[:25], late[:10], inOrder[25:], late[10:]} {
		if _, err := st.Apply(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := st.Get(t.Context(), "in-order")
	b, _ := st.Get(t.Context(), "late")
	assertSameFeatures(t, st.Spec(), a, b, testNow, 1e-12)
	if a["f:title"] != "T39" || b["f:title"] != "T39" {
		t.Errorf("last-write-wins title: %q and %q, want T39", a["f:title"], b["f:title"])
	}
}

// TestStoreLostScript: a Redis that lost its scripts (restart, SCRIPT
// FLUSH) gets the script again and the batch is applied once.
func TestStoreLostScript(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	st := NewStore(rdb, prefix, DefaultSpec())
	// A variant of the script Redis has never seen stands in for a flushed
	// cache without flushing the scripts of other tests sharing the server.
	st.script = redis.NewScript(applySrc + "\n-- " + prefix)
	st.sha = st.script.Hash()
	b := []Applied{{Event: genEvent(newRand(1), "L", 0), Partition: 1, Offset: 7}}
	ids, err := st.Apply(t.Context(), b)
	if err != nil || !slices.Equal(ids, []string{"L"}) {
		t.Fatalf("Apply = %v, %v", ids, err)
	}
	if off, _ := st.Offsets(t.Context(), "L"); off[1] != 7 {
		t.Fatalf("offsets = %v", off)
	}
}

// TestStoreHotLead: a lead with more events in one batch than one call may
// carry is split over several calls and still matches Fold.
func TestStoreHotLead(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	st := NewStore(rdb, prefix, DefaultSpec())
	r := newRand(9)
	var b []Applied
	for i, e := range genEvents(r, "hot", 600) {
		if e.Type == PageViewed {
			e.Props.SessionID = e.EventID // every view its own visit: many marker fields
		}
		b = append(b, Applied{Event: e, Partition: 2, Offset: int64(i)})
	}
	ch, err := st.ApplyChanges(t.Context(), b, nil)
	if err != nil || len(ch) != 1 {
		t.Fatalf("ApplyChanges = %v, %v", ch, err)
	}
	want := State{}
	st.Spec().FoldApplied(want, b)
	got, _ := st.Get(t.Context(), "hot")
	assertSameState(t, want, got, 1e-12)
	if trig, _ := st.Spec().TriggerAt(want); !trig.Equal(ch[0].TriggerAt) {
		t.Errorf("trigger %v, want %v", ch[0].TriggerAt, trig)
	}
}

func TestStoreKey(t *testing.T) {
	t.Parallel()
	st := NewStore(nil, "lq:", DefaultSpec())
	if got := st.Key("abc"); got != "lq:lead:{abc}" {
		t.Errorf("Key = %q", got)
	}
	if _, err := st.Apply(context.Background(), nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}
