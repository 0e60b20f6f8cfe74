package model

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/leadq/leadq/internal/testenv"
)

// handForest is two numeric inputs and one categorical, three trees:
//
//	tree 0: x > 1 ? (leaf .9, votes yes) : (leaf .2)
//	tree 1: c > .3 ? (y > 0 ? leaf .8 yes : leaf .4) : leaf .1
//	tree 2: leaf .5 (a stump that learned nothing)
func handForest() *Artifact {
	return &Artifact{
		Version: "hand", Kind: KindForest,
		Schema: Schema{Num: []string{"x", "y"}, Cat: []string{"c"}},
		Forest: &Forest{
			Num:   []ForestNum{{Name: "x", Fill: -1}, {Name: "y", Fill: 5}},
			Cat:   []ForestCat{{Name: "c", Values: []string{"a", "b"}, Codes: []float64{0.1, 0.6}, Unknown: 0.25}},
			Roots: []int32{0, 3, 8},
			Nodes: []TreeNode{
				{Input: 0, Threshold: 1, Lo: 1, Hi: 2, Pos: 0.5},
				{Input: -1, Pos: 0.2},
				{Input: -1, Pos: 0.9, Vote: true},
				{Input: 2, Threshold: 0.3, Lo: 4, Hi: 5, Pos: 0.3},
				{Input: -1, Pos: 0.1},
				{Input: 1, Threshold: 0, Lo: 6, Hi: 7, Pos: 0.6},
				{Input: -1, Pos: 0.4},
				{Input: -1, Pos: 0.8, Vote: true},
				{Input: -1, Pos: 0.5},
			},
		},
		Calibration: Calibration{Method: CalPlatt, A: 1},
	}
}

func TestForestScores(t *testing.T) {
	t.Parallel()
	a := handForest()
	var buf bytes.Buffer
	if err := a.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	b, err := ReadArtifact(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, art := range []*Artifact{a, b} {
		s, err := Compile(art)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			num   []float64
			cat   string
			share float64
			votes int
		}{
			{[]float64{2, 1}, "b", (0.9 + 0.8 + 0.5) / 3, 2},
			{[]float64{1, 1}, "b", (0.2 + 0.8 + 0.5) / 3, 1},           // 1 is not > 1
			{[]float64{math.NaN(), -1}, "b", (0.2 + 0.4 + 0.5) / 3, 0}, // fill -1
			{[]float64{3, math.NaN()}, "a", (0.9 + 0.1 + 0.5) / 3, 1},  // fill 5, code .1
			{[]float64{3, 1}, "zzz", (0.9 + 0.1 + 0.5) / 3, 1},         // unknown .25 ≤ .3
		}
		for _, tt := range tests {
			m := s.Margin(tt.num, []string{tt.cat})
			v, n := s.Votes(tt.num, []string{tt.cat})
			if math.Abs(m-tt.share) > 1e-15 || v != tt.votes || n != 3 {
				t.Errorf("%v %q: margin %v votes %d/%d, want %v and %d/3", tt.num, tt.cat, m, v, n, tt.share, tt.votes)
			}
			// Training builds golearn's rows with Forest.Inputs: it must
			// agree with the scorer's map-based inputs.
			want, got := make([]float64, 3), make([]float64, 3)
			art.Forest.Inputs(tt.num, []string{tt.cat}, want)
			s.forest.inputs(tt.num, []string{tt.cat}, got)
			if want[0] != got[0] || want[1] != got[1] || want[2] != got[2] {
				t.Errorf("inputs %v, training inputs %v", got, want)
			}
		}
	}
}

// TestForestExplainAddsUp checks the tree interpreter: per-input
// contributions add up to the row's calibrated log-odds minus the average
// lead's, and each lands on the input that made the split.
func TestForestExplainAddsUp(t *testing.T) {
	t.Parallel()
	a := handForest()
	a.Calibration = Calibration{Method: CalPlatt, A: 4, B: -2}
	s, err := Compile(a)
	if err != nil {
		t.Fatal(err)
	}
	logit := func(p float64) float64 { return math.Log(p / (1 - p)) }
	num, cat := []float64{2, -3}, []string{"b"}
	rs := s.Explain(num, cat, nil)
	var sum float64
	got := map[string]float64{}
	for _, r := range rs {
		sum += r.Impact
		got[r.Feature] = r.Impact
	}
	base := (0.5 + 0.3 + 0.5) / 3
	want := logit(s.Score(num, cat)) - logit(a.Calibration.Apply(base))
	if math.Abs(sum-want) > 1e-9 {
		t.Errorf("impacts %+v add up to %v, want %v", rs, sum, want)
	}
	// x moved tree 0 from .5 to .9; c=b moved tree 1 from .3 to .6; y then
	// moved it from .6 to .4.
	k := (want) / (((0.9 + 0.4 + 0.5) / 3) - base) / 3
	for f, w := range map[string]float64{"x": 0.4 * k, "c=b": 0.3 * k, "y": -0.2 * k} {
		if math.Abs(got[f]-w) > 1e-9 {
			t.Errorf("%s: impact %v, want %v (all: %+v)", f, got[f], w, rs)
		}
	}
	if rs := s.Explain([]float64{2, -3}, []string{"nope"}, nil); !strings.Contains(reasonNames(rs), "c=(other)") {
		t.Errorf("unknown category: reasons %+v", rs)
	}
}

func reasonNames(rs []Reason) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.Feature + " ")
	}
	return b.String()
}

func TestForestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(a *Artifact)
		msg    string
	}{
		{"no forest", func(a *Artifact) { a.Forest = nil }, "without a forest"},
		{"cycle", func(a *Artifact) { a.Forest.Nodes[3].Lo = 0 }, "node 3"},
		{"child out of range", func(a *Artifact) { a.Forest.Nodes[5].Hi = 99 }, "node 5"},
		{"same child", func(a *Artifact) { a.Forest.Nodes[0].Hi = 1 }, "node 0"},
		{"input out of range", func(a *Artifact) { a.Forest.Nodes[0].Input = 3 }, "node 0"},
		{"share", func(a *Artifact) { a.Forest.Nodes[2].Pos = 1.5 }, "share"},
		{"root", func(a *Artifact) { a.Forest.Roots[1] = 9 }, "root"},
		{"no trees", func(a *Artifact) { a.Forest.Roots = nil }, "no trees"},
		{"schema", func(a *Artifact) { a.Schema.Num[1] = "z" }, "numeric input 1"},
		{"codes", func(a *Artifact) { a.Forest.Cat[0].Codes = a.Forest.Cat[0].Codes[:1] }, "codes"},
		{"nan fill", func(a *Artifact) { a.Forest.Num[0].Fill = math.NaN() }, "fill"},
		{"logreg with a forest", func(a *Artifact) { a.Kind = KindLogReg }, "carries a forest"},
		{"calibration", func(a *Artifact) { a.Calibration.Method = "magic" }, "magic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := handForest()
			tt.mutate(a)
			err := a.Validate()
			if !errors.Is(err, ErrInvalidArtifact) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want ErrInvalidArtifact mentioning %q", err, tt.msg)
			}
		})
	}
}

func TestForestScoresWithoutAllocating(t *testing.T) {
	if raceOn {
		t.Skip("the race detector allocates")
	}
	s, err := Compile(benchForest())
	if err != nil {
		t.Fatal(err)
	}
	num, cat := benchRow()
	dst := make([]Reason, 0, 2*TopReasons)
	s.Score(num, cat) // fill the scratch pool
	if n := testing.AllocsPerRun(200, func() { s.Score(num, cat) }); n != 0 {
		t.Errorf("Score: %v allocs", n)
	}
	if n := testing.AllocsPerRun(200, func() { dst = s.Explain(num, cat, dst[:0]) }); n != 0 {
		t.Errorf("Explain: %v allocs", n)
	}
	if len(dst) == 0 {
		t.Error("no reasons")
	}
}

// TestRegistryKeepsForests stores a forest in the real registry and checks
// that what comes back scores exactly as what went in.
func TestRegistryKeepsForests(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	reg := NewRegistry(rdb, prefix)
	a := benchForest()
	c := &Card{Version: a.Version, Kind: KindForest, Schema: a.Schema, Holdout: "h", Metrics: Metrics{AUC: 0.7}}
	if err := reg.Register(t.Context(), a, c); err != nil {
		t.Fatal(err)
	}
	b, card, err := reg.Get(t.Context(), a.Version)
	if err != nil || card.Kind != KindForest || b.Kind != KindForest {
		t.Fatalf("get: %v, card %+v", err, card)
	}
	s1, _ := Compile(a)
	s2, err := Compile(b)
	if err != nil {
		t.Fatal(err)
	}
	num, cat := benchRow()
	for i := range 50 {
		num[i%len(num)] = float64(i%7) - 3
		if p1, p2 := s1.Score(num, cat), s2.Score(num, cat); p1 != p2 {
			t.Fatalf("row %d: %v stored, %v read back", i, p1, p2)
		}
	}
}
