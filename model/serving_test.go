package model

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadq/leadq/features"
)

var servNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// specArtifact is a model over a few of the spec's columns, in an order of
// its own, plus one numeric column the spec lacks; w scales every weight so
// that versions score differently.
func specArtifact(version string, w float64) *Artifact {
	return &Artifact{
		Version: version,
		Kind:    KindLogReg,
		Schema:  Schema{Num: []string{"eng_1d", "not_in_spec", "n_form_submitted"}, Cat: []string{"source_first", "industry"}},
		Encoder: Encoder{
			Num: []NumEncoding{
				{Name: "eng_1d", Index: 1, Mean: 2, Std: 3, Clip: 5, Shift: 6, Fill: 0},
				{Name: "not_in_spec", Index: 2, Mean: 0, Std: 1, Clip: 5, Shift: 6, Fill: 1.5},
				{Name: "n_form_submitted", Index: 3, Mean: 1, Std: 1, Clip: 5, Shift: 6, Fill: 0},
			},
			Cat: []CatEncoding{
				{Name: "source_first", Offset: 4, Values: []string{"website", "referral"}, Share: []float64{0.6, 0.4}},
				{Name: "industry", Offset: 6, Values: []string{"software"}, Share: []float64{1}},
			},
		},
		Weights:     []float64{-3 * w, 0.4 * w, 0.3 * w, 0.2 * w, 0.5 * w, -0.7 * w, 0.25 * w},
		Calibration: Calibration{Method: CalPlatt, A: 1},
	}
}

// testState folds a few events of one lead into its feature state.
func testState(tb testing.TB, spec *features.Spec) features.State {
	tb.Helper()
	st := features.State{}
	evs := []features.Event{
		{EventID: "e1", LeadID: "l1", Type: features.LeadCreated, TS: servNow.Add(-48 * time.Hour),
			Props: features.Props{Source: "website", Industry: "Software", Country: "US", Title: "VP Sales"}},
		{EventID: "e2", LeadID: "l1", Type: features.PageViewed, TS: servNow.Add(-3 * time.Hour),
			Props: features.Props{Path: "/pricing", SessionID: "s1"}},
		{EventID: "e3", LeadID: "l1", Type: features.FormSubmitted, TS: servNow.Add(-time.Hour)},
	}
	for _, e := range evs {
		features.Fold(st, spec.Compile(e, nil))
	}
	return st
}

func TestBindingByName(t *testing.T) {
	t.Parallel()
	b := NewBinding([]string{"a", "b", "c"}, []string{"x", "y"}, Schema{Num: []string{"c", "zz", "a"}, Cat: []string{"y", "q"}})
	num, cat := make([]float64, 3), make([]string, 2)
	b.Apply([]float64{1, 2, 3}, []string{"X", "Y"}, num, cat)
	if num[0] != 3 || !math.IsNaN(num[1]) || num[2] != 1 || cat[0] != "Y" || cat[1] != "" {
		t.Errorf("Apply = %v %q", num, cat)
	}
	if b.Identity() || b.Bound() != 3 || fmt.Sprint(b.Missing()) != "[zz q]" {
		t.Errorf("identity %v bound %d missing %v", b.Identity(), b.Bound(), b.Missing())
	}
	if !NewBinding([]string{"a"}, []string{"x"}, Schema{Num: []string{"a"}, Cat: []string{"x"}}).Identity() {
		t.Error("same names in the same order must be the identity")
	}
}

func TestLiveStartsWithPrior(t *testing.T) {
	t.Parallel()
	l := NewLive(features.DefaultSpec())
	p, v := l.Score(testState(t, l.Spec()), servNow)
	if v != PriorVersion || math.Abs(p-PriorRate("website")) > 1e-12 {
		t.Errorf("Score = %v %q, want the prior's website rate %v", p, v, PriorRate("website"))
	}
	p, v = l.Score(features.State{}, servNow)
	if v != PriorVersion || math.Abs(p-PriorAverage) > 1e-12 {
		t.Errorf("empty lead: %v %q, want %v", p, v, PriorAverage)
	}
}

func TestLiveScoresBoundVector(t *testing.T) {
	t.Parallel()
	spec := features.DefaultSpec()
	l := NewLive(spec)
	a := specArtifact("v1", 1)
	if err := l.Set(a, &Card{Version: "v1"}); err != nil {
		t.Fatal(err)
	}
	st := testState(t, spec)
	num, cat := make([]float64, len(spec.NumNames())), make([]string, len(spec.CatNames()))
	spec.Extract(st, servNow, num, cat)
	s, _ := Compile(a)
	mNum := []float64{num[idx(spec.NumNames(), "eng_1d")], math.NaN(), num[idx(spec.NumNames(), "n_form_submitted")]}
	mCat := []string{cat[idx(spec.CatNames(), "source_first")], cat[idx(spec.CatNames(), "industry")]}
	want := s.Score(mNum, mCat)
	if mCat[0] != "website" || mCat[1] != "software" || mNum[2] != 1 {
		t.Fatalf("test state extracted as %v %q", mNum, mCat)
	}
	if p, v := l.Score(st, servNow); p != want || v != "v1" {
		t.Errorf("Score = %v %q, want %v v1", p, v, want)
	}
	if p, v := l.ScoreVector(num, cat); p != want || v != "v1" {
		t.Errorf("ScoreVector = %v %q, want %v v1", p, v, want)
	}
	p, rs, v := l.Explain(st, servNow, nil)
	if p != want || v != "v1" || len(rs) == 0 {
		t.Fatalf("Explain = %v %v %q", p, rs, v)
	}
	wantR := s.Explain(mNum, mCat, nil)
	if fmt.Sprint(rs) != fmt.Sprint(wantR) {
		t.Errorf("reasons %v, want %v", rs, wantR)
	}
	if l.Current().Card.Version != "v1" {
		t.Error("Current lost the card")
	}
}

func idx(names []string, n string) int {
	for i, s := range names {
		if s == n {
			return i
		}
	}
	panic(n)
}

func TestLiveRejectsUnservable(t *testing.T) {
	t.Parallel()
	l := NewLive(features.DefaultSpec())
	a := testArtifact() // age, visits, source, country: only country is in the spec
	a.Schema.Cat[1], a.Encoder.Cat[1].Name = "nope", "nope"
	if err := l.Set(a, nil); !errors.Is(err, ErrUnservable) {
		t.Errorf("Set = %v, want ErrUnservable", err)
	}
	if l.Version() != PriorVersion {
		t.Errorf("version %q after a refused Set", l.Version())
	}
}

func TestLiveAllocatesNothing(t *testing.T) {
	if raceOn {
		t.Skip("sync.Pool drops items under the race detector")
	}
	spec := features.DefaultSpec()
	st := testState(t, spec)
	for _, a := range []*Artifact{Prior(), specArtifact("v1", 1)} {
		l := NewLive(spec)
		if err := l.Set(a, nil); err != nil {
			t.Fatal(err)
		}
		dst := make([]Reason, 0, 2*TopReasons)
		l.Score(st, servNow) // sizes the pooled scratch for this model
		if n := testing.AllocsPerRun(200, func() {
			l.Score(st, servNow)
			_, dst, _ = l.Explain(st, servNow, dst[:0])
		}); n != 0 {
			t.Errorf("%s: Score+Explain allocate %v times", a.Version, n)
		}
	}
}

// TestLiveSwapIsAtomic scores from many goroutines while another swaps two
// models back and forth: every score must be exactly the one its reported
// version gives, never a mix.
func TestLiveSwapIsAtomic(t *testing.T) {
	t.Parallel()
	spec := features.DefaultSpec()
	st := testState(t, spec)
	l := NewLive(spec)
	arts := []*Artifact{specArtifact("a", 1), specArtifact("b", 2)}
	want := map[string]float64{}
	served := make([]*Served, len(arts))
	for i, a := range arts {
		s, err := l.Compile(a, nil)
		if err != nil {
			t.Fatal(err)
		}
		served[i] = s
		l.Swap(s)
		want[a.Version], _ = l.Score(st, servNow)
	}
	if want["a"] == want["b"] {
		t.Fatal("the two versions must score differently")
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	seen := make([]map[string]int, 4)
	for g := range seen {
		seen[g] = map[string]int{}
		wg.Go(func() {
			dst := make([]Reason, 0, 6)
			for !stop.Load() {
				p, v := l.Score(st, servNow)
				var p2 float64
				var v2 string
				p2, dst, v2 = l.Explain(st, servNow, dst[:0])
				if p != want[v] || p2 != want[v2] {
					t.Errorf("score %v from %q / %v from %q: mixed versions", p, v, p2, v2)
					return
				}
				seen[g][v]++
			}
		})
	}
	for i := range 2000 {
		l.Swap(served[i%2])
		if i%100 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	stop.Store(true)
	wg.Wait()
	for g, m := range seen {
		if m["a"] == 0 && m["b"] == 0 {
			t.Errorf("goroutine %d scored nothing", g)
		}
	}
}

func BenchmarkLiveScore(b *testing.B) {
	spec := features.DefaultSpec()
	st := testState(b, spec)
	num, cat := make([]float64, len(spec.NumNames())), make([]string, len(spec.CatNames()))
	spec.Extract(st, servNow, num, cat)
	for _, a := range []*Artifact{Prior(), specArtifact("bound", 1), fullSpecArtifact(spec)} {
		l := NewLive(spec)
		if err := l.Set(a, nil); err != nil {
			b.Fatal(err)
		}
		b.Run(a.Version+"/vector", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l.ScoreVector(num, cat)
			}
		})
		b.Run(a.Version+"/state", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l.Score(st, servNow)
			}
		})
		b.Run(a.Version+"/explain", func(b *testing.B) {
			dst := make([]Reason, 0, 6)
			b.ReportAllocs()
			for b.Loop() {
				_, dst, _ = l.Explain(st, servNow, dst[:0])
			}
		})
	}
}

// fullSpecArtifact is a model over every spec column in spec order, the
// shape a model trained on snapshots has: its binding is the identity.
func fullSpecArtifact(spec *features.Spec) *Artifact {
	a := &Artifact{Version: "full", Kind: KindLogReg, Weights: []float64{-2},
		Schema: Schema{Num: spec.NumNames(), Cat: spec.CatNames()}, Calibration: Calibration{Method: CalPlatt, A: 1}}
	for i, n := range a.Schema.Num {
		a.Encoder.Num = append(a.Encoder.Num, NumEncoding{Name: n, Index: len(a.Weights), Mean: 1, Std: 2, Clip: 5, Shift: 6,
			Edges: []float64{0.5, 1, 3}, BinOffset: 0, BinShare: []float64{0.25, 0.25, 0.25, 0.25}})
		a.Weights = append(a.Weights, float64(i%7-3)/10)
	}
	for i := range a.Encoder.Num {
		a.Encoder.Num[i].BinOffset = len(a.Weights)
		a.Weights = append(a.Weights, 0.1, -0.1, 0.2, 0)
	}
	for _, n := range a.Schema.Cat {
		e := CatEncoding{Name: n, Offset: len(a.Weights)}
		for k, v := range spec.Vocab(n) {
			e.Values = append(e.Values, v)
			a.Weights = append(a.Weights, float64(k%5-2)/10)
		}
		for range e.Values {
			e.Share = append(e.Share, 1/float64(len(e.Values)))
		}
		a.Encoder.Cat = append(a.Encoder.Cat, e)
	}
	return a
}
