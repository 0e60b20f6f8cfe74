package features

import (
	"strconv"
	"testing"

	"github.com/leadq/leadq/internal/testenv"
)

// BenchmarkFormNewLead measures what a brand-new lead's form costs Redis:
// the events, their outbox copies and the guard, one transaction per lead.
// Run it on a quiet server (the counters are server-wide):
//
//	LEADQ_TEST_REDIS_URL=redis://127.0.0.1:6399 GODEBUG=cgocheck=0 go test -run '^$' -bench FormNewLead ./features/
func BenchmarkFormNewLead(b *testing.B) {
	for _, path := range []string{"apply", "create"} {
		b.Run("path="+path, func(b *testing.B) {
			rdb, prefix := testenv.Redis(b)
			store, ob := NewStore(rdb, prefix, DefaultSpec()), NewOutbox(rdb, prefix)
			r := newRand(5)
			n := 0
			forms := make([][]Applied, 1000)
			for i := range forms {
				forms[i] = genForm(r, "", testNow)
			}
			ctx := b.Context()
			if err := store.Load(ctx); err != nil {
				b.Fatal(err)
			}
			before, err := redisCost(ctx, rdb)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				batch := forms[n%len(forms)]
				lead := "L-" + strconv.Itoa(n)
				n++
				for i := range batch {
					batch[i].Event.LeadID = lead
				}
				var err error
				if path == "apply" {
					_, err = store.ApplyDirect(ctx, ob, batch, nil)
				} else {
					_, err = store.CreateDirect(ctx, ob, batch, store.Spec().NewLeadState(batch), nil)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			reportRedisCost(b, rdb, before, n)
			if err := rdb.Del(ctx, ob.Key()).Err(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkCreateArgs is the API's own cost of CreateDirect's arguments.
func BenchmarkCreateArgs(b *testing.B) {
	s := DefaultSpec()
	st := s.NewLeadState(genForm(newRand(1), "L", testNow))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.createArgs(st); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDirectCopies measures what the consumer's copies of events the
// API applied (two per form) cost Redis: looked up by their markers and
// skipped, or run through apply.lua, which finds them applied and does
// nothing. Batches of 500 copies (250 forms).
func BenchmarkDirectCopies(b *testing.B) {
	for _, path := range []string{"script", "skip"} {
		b.Run("path="+path, func(b *testing.B) {
			rdb, prefix := testenv.Redis(b)
			store, ob := NewStore(rdb, prefix, DefaultSpec()), NewOutbox(rdb, prefix)
			ctx := b.Context()
			if err := store.Load(ctx); err != nil {
				b.Fatal(err)
			}
			r := newRand(6)
			var copies []Applied
			for i := range 5000 {
				form := genForm(r, "L-"+strconv.Itoa(i), testNow)
				if _, err := store.CreateDirect(ctx, ob, form, store.Spec().NewLeadState(form), nil); err != nil {
					b.Fatal(err)
				}
				for _, a := range form {
					a.Partition, a.Offset = 1, int64(len(copies))
					copies = append(copies, a)
				}
			}
			before, err := redisCost(ctx, rdb)
			if err != nil {
				b.Fatal(err)
			}
			n, next := 0, 0
			for b.Loop() {
				if next+500 > len(copies) {
					next = 0
				}
				batch := copies[next : next+500]
				next += 500
				var ch []Change
				if path == "skip" {
					ch, err = store.ApplyChanges(ctx, batch, nil)
				} else {
					ch, err = store.applyScripts(ctx, batch, nil)
				}
				if err != nil || len(ch) != 0 {
					b.Fatalf("copies changed %d leads (%v)", len(ch), err)
				}
				n += len(batch)
			}
			b.StopTimer()
			reportRedisCost(b, rdb, before, n)
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
			if err := rdb.Del(ctx, ob.Key()).Err(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
