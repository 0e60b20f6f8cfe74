package features

import (
	"maps"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/internal/testenv"
)

// oddSpec weighs a form's events with fractions, so a new lead's decayed
// sums are not integers (0.1 + 0.2): their spelling is Redis's business.
func oddSpec(tb testing.TB) *Spec {
	tb.Helper()
	c := DefaultSpecConfig()
	c.Weights = map[Type]float64{LeadCreated: 0.1, FormSubmitted: 0.2, PageViewed: 1}
	s, err := NewSpec(c)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestCreateDirectMatchesApply: for random forms, the hash CreateDirect
// writes for a new lead is the one ApplyDirect (apply.lua) leaves, string
// for string, on real Redis and on the embedded server.
func TestCreateDirectMatchesApply(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	m := miniredis.RunT(t)
	emb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = emb.Close() })
	for _, srv := range []struct {
		name   string
		rdb    redis.UniversalClient
		prefix string
	}{{"redis", rdb, prefix}, {"embedded", emb, "emb:"}} {
		for _, spec := range []struct {
			name string
			s    *Spec
		}{{"default", DefaultSpec()}, {"fractions", oddSpec(t)}} {
			t.Run(srv.name+"/"+spec.name, func(t *testing.T) {
				p := srv.prefix + spec.name + ":"
				store, ob := NewStore(srv.rdb, p, spec.s), NewOutbox(srv.rdb, p)
				if err := store.Load(t.Context()); err != nil {
					t.Fatal(err)
				}
				r := newRand(11)
				for i := range 150 {
					now := testNow.Add(time.Duration(r.Int64N(int64(400 * 24 * time.Hour)))).Truncate(time.Millisecond)
					if i%10 == 0 {
						now = now.Truncate(time.Hour) // round times, spelt with exponents by some servers
					}
					form := genForm(r, "", now)
					viaApply, viaCreate := retarget(form, "a-"+strconv.Itoa(i)), retarget(form, "c-"+strconv.Itoa(i))
					if _, err := store.ApplyDirect(t.Context(), ob, viaApply, nil); err != nil {
						t.Fatal(err)
					}
					ok, err := store.CreateDirect(t.Context(), ob, viaCreate, spec.s.NewLeadState(viaCreate), nil)
					if err != nil || !ok {
						t.Fatalf("CreateDirect = %v, %v", ok, err)
					}
					want, _ := store.Get(t.Context(), "a-"+strconv.Itoa(i))
					got, _ := store.Get(t.Context(), "c-"+strconv.Itoa(i))
					if len(want) == 0 || !maps.Equal(want, got) {
						t.Fatalf("form %d (%+v):\napply.lua wrote %v\ncreate wrote    %v", i, form[0].Event.Props, want, got)
					}
				}
				if n, err := ob.Len(t.Context()); err != nil || n != 4*150 {
					t.Fatalf("outbox holds %d entries (%v), want %d", n, err, 4*150)
				}
			})
		}
	}
}

// retarget returns a copy of batch for lead.
func retarget(batch []Applied, lead string) []Applied {
	out := append([]Applied(nil), batch...)
	for i := range out {
		out[i].Event.LeadID = lead
	}
	return out
}

// TestCreateDirectExisting: a lead that already has state is not
// overwritten; CreateDirect says so, and the events then apply as usual.
func TestCreateDirectExisting(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	store, ob := NewStore(rdb, prefix, DefaultSpec()), NewOutbox(rdb, prefix)
	ctx := t.Context()
	r := newRand(4)
	earlier := Applied{Event: genEventOf(r, "L", 0, PageViewed), Partition: 3, Offset: 9}
	if _, err := store.Apply(ctx, []Applied{earlier}); err != nil {
		t.Fatal(err)
	}
	before, _ := store.Get(ctx, "L")
	form := genForm(r, "L", testNow)
	var also *redis.IntCmd
	ok, err := store.CreateDirect(ctx, ob, form, store.Spec().NewLeadState(form), func(p redis.Pipeliner) {
		also = p.Incr(ctx, prefix+"also")
	})
	if err != nil || ok {
		t.Fatalf("CreateDirect over an existing lead = %v, %v; want false, nil", ok, err)
	}
	if after, _ := store.Get(ctx, "L"); !maps.Equal(before, after) {
		t.Fatalf("existing lead changed:\n%v\n%v", before, after)
	}
	if also.Val() != 1 {
		t.Errorf("caller's command did not run: %v", also.Err())
	}
	if n, _ := ob.Len(ctx); n != 2 {
		t.Errorf("outbox holds %d entries, want 2", n)
	}
	// The fallback of the caller: apply the same (direct) events.
	if ch, err := store.ApplyChanges(ctx, form, nil); err != nil || len(ch) != 1 {
		t.Fatalf("apply after refusal = %v, %v", ch, err)
	}
	want := State{}
	store.Spec().FoldApplied(want, []Applied{earlier})
	store.Spec().FoldApplied(want, form)
	got, _ := store.Get(ctx, "L")
	assertSameState(t, want, got, 1e-12)
}

// TestCreateDirectCallerFields: fields of the caller's own in the state are
// written as text with the lead; a lost script is loaded again.
func TestCreateDirectCallerFields(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	store, ob := NewStore(rdb, prefix, DefaultSpec()), NewOutbox(rdb, prefix)
	// A variant Redis has never seen stands in for a flushed script cache.
	store.create = redis.NewScript(createSrc + "\n-- " + prefix)
	form := genForm(newRand(8), "L", testNow)
	st := store.Spec().NewLeadState(form)
	st["_pool"] = "007"
	if ok, err := store.CreateDirect(t.Context(), ob, form, st, nil); err != nil || !ok {
		t.Fatalf("CreateDirect = %v, %v", ok, err)
	}
	if got, _ := store.Get(t.Context(), "L"); !maps.Equal(got, st) {
		t.Fatalf("stored %v, want %v", got, st)
	}
	if _, err := store.CreateDirect(t.Context(), ob, form, State{}, nil); err == nil {
		t.Error("an empty state was accepted")
	}
	form[1].Direct = false
	if _, err := store.CreateDirect(t.Context(), ob, form, st, nil); err == nil {
		t.Error("an event not marked Direct was accepted")
	}
}
