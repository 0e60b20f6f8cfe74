package features

import (
	"math"
	"testing"
	"time"
)

// TestExtractNewMatchesFold: for random forms and random event lists of a
// new lead, ExtractNew gives the vector of Fold into an empty State and
// Extract, bit for bit, at the events' time and later.
func TestExtractNewMatchesFold(t *testing.T) {
	t.Parallel()
	for _, spec := range []*Spec{DefaultSpec(), oddSpec(t)} {
		r := newRand(77)
		nn, nc := len(spec.NumNames()), len(spec.CatNames())
		gotN, wantN := make([]float64, nn), make([]float64, nn)
		gotC, wantC := make([]string, nc), make([]string, nc)
		for i := range 3000 {
			var evs []Event
			now := testNow.Add(time.Duration(r.Int64N(int64(30 * 24 * time.Hour)))).Truncate(time.Millisecond)
			if i%2 == 0 {
				for _, a := range genForm(r, "L", now) {
					evs = append(evs, a.Event)
				}
			} else {
				evs = genEvents(r, "L", 1+r.IntN(40))
			}
			if i%4 == 1 { // few distinct times: ties between register values
				for k := range evs {
					evs[k].TS = now.Add(-time.Duration(r.IntN(3)) * time.Hour)
				}
			}
			at := now
			if i%3 == 0 {
				at = now.Add(time.Duration(r.Int64N(int64(90 * 24 * time.Hour))))
			}
			gotN[0], gotC[0] = math.NaN(), "stale" // must be overwritten
			spec.ExtractNew(evs, at, gotN, gotC)
			spec.Extract(foldEvents(spec, evs), at, wantN, wantC)
			for k, name := range spec.NumNames() {
				if math.Float64bits(gotN[k]) != math.Float64bits(wantN[k]) {
					t.Fatalf("case %d, %s: ExtractNew %v, Fold+Extract %v (events %+v)", i, name, gotN[k], wantN[k], evs)
				}
			}
			for k, name := range spec.CatNames() {
				if gotC[k] != wantC[k] {
					t.Fatalf("case %d, %s: ExtractNew %q, Fold+Extract %q (events %+v)", i, name, gotC[k], wantC[k], evs)
				}
			}
		}
	}
}

func BenchmarkExtractNew(b *testing.B) {
	s := DefaultSpec()
	var evs []Event
	for _, a := range genForm(newRand(1), "L", testNow) {
		evs = append(evs, a.Event)
	}
	num, cat := make([]float64, len(s.NumNames())), make([]string, len(s.CatNames()))
	b.Run("typed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.ExtractNew(evs, testNow, num, cat)
		}
	})
	b.Run("fold+extract", func(b *testing.B) {
		b.ReportAllocs()
		st := make(State, 64)
		var ops []Op
		for b.Loop() {
			clear(st)
			for _, e := range evs {
				ops = s.Compile(e, ops[:0])
				Fold(st, ops)
			}
			s.Extract(st, testNow, num, cat)
		}
	})
}
