package model

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// testArtifact is a hand-made model over two numeric and two categorical
// columns, small enough to compute scores by hand.
func testArtifact() *Artifact {
	return &Artifact{
		Version: "t1",
		Kind:    KindLogReg,
		Schema:  Schema{Num: []string{"age", "visits"}, Cat: []string{"source", "country"}},
		Encoder: Encoder{
			Num: []NumEncoding{
				{Name: "age", Index: 1, Mean: 40, Std: 10, Clip: 3, Shift: 4, Fill: 40},
				{Name: "visits", Index: 2, Mean: 2, Std: 1, Clip: 3, Shift: 4, Fill: 0,
					Edges: []float64{1, 5}, BinOffset: 3, BinShare: []float64{0.5, 0.25, 0.25}},
			},
			Cat: []CatEncoding{
				{Name: "source", Offset: 6, Values: []string{"web", "list"}, Share: []float64{0.5, 0.5}},
				{Name: "country", Offset: 8, Values: []string{"de"}, Share: []float64{1}},
			},
		},
		//          const age  visits bin0 bin1 bin2 web  list de
		Weights:     []float64{-1, 0.5, 0.25, 0, 0.1, 0.3, 1, -1, 0.2},
		Calibration: Calibration{Method: CalPlatt, A: 1, B: 0},
	}
}

func TestScorerMatchesHandComputation(t *testing.T) {
	t.Parallel()
	s, err := Compile(testArtifact())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		num  []float64
		cat  []string
		want float64 // margin
	}{
		// age z=1 → 5; visits z=1 → 5, bin 1 (1 ≤ 3 < 5); web; de.
		{"known", []float64{50, 3}, []string{"web", "de"}, -1 + 0.5*5 + 0.25*5 + 0.1 + 1 + 0.2},
		// age clipped at z=+3 → 7; visits NaN → fill 0, z=-2 → 2, bin 0; unknowns.
		{"clip-missing-unknown", []float64{200, math.NaN()}, []string{"fax", "fr"}, -1 + 0.5*7 + 0.25*2},
		// visits exactly on an edge goes to the upper bin.
		{"edge", []float64{40, 5}, []string{"list", "de"}, -1 + 0.5*4 + 0.25*7 + 0.3 - 1 + 0.2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := s.Margin(tt.num, tt.cat); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("Margin = %v, want %v", got, tt.want)
			}
			wantP := 1 / (1 + math.Exp(-tt.want))
			if got := s.Score(tt.num, tt.cat); math.Abs(got-wantP) > 1e-12 {
				t.Errorf("Score = %v, want %v", got, wantP)
			}
		})
	}
}

func TestDenseAgreesWithMargin(t *testing.T) {
	t.Parallel()
	a := testArtifact()
	s, err := Compile(a)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, a.Encoder.Dim())
	if len(x) != len(a.Weights) {
		t.Fatalf("Dim = %d, weights %d", len(x), len(a.Weights))
	}
	num, cat := []float64{31, 7}, []string{"list", "xx"}
	a.Encoder.Dense(num, cat, x)
	var m float64
	for i, v := range x {
		if v < 0 {
			t.Fatalf("x[%d] = %v is negative: golearn would drop it", i, v)
		}
		m += a.Weights[i] * v
	}
	if got := s.Margin(num, cat); math.Abs(got-m) > 1e-12 {
		t.Errorf("Margin = %v, dense w·x = %v", got, m)
	}
}

func TestExplain(t *testing.T) {
	t.Parallel()
	s, err := Compile(testArtifact())
	if err != nil {
		t.Fatal(err)
	}
	got := s.Explain([]float64{50, 0}, []string{"list", "fr"}, nil)
	// age: 0.5·1 = 0.5; visits: 0.25·(-2) + (0 - 0.1) = -0.6 (bin base
	// 0.25·0.1 + 0.25·0.3 = 0.1); source=list: -1 - 0 = -1; country=(other): -0.2.
	want := []Reason{
		{"age", 50, 0.5},
		{"source=list", 1, -1},
		{"visits", 0, -0.6},
		{"country=(other)", 1, -0.2},
	}
	if len(got) != len(want) {
		t.Fatalf("Explain = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Feature != want[i].Feature || got[i].Value != want[i].Value || math.Abs(got[i].Impact-want[i].Impact) > 1e-12 {
			t.Errorf("reason %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestTop3KeepsLargest(t *testing.T) {
	t.Parallel()
	var tp top3
	for i, k := range []float64{1, 5, -2, 3, 0, 4, 2} {
		tp.add(Reason{Value: float64(i)}, k)
	}
	if tp.n != 3 || tp.k != [3]float64{5, 4, 3} {
		t.Errorf("top3 = %v (n=%d), want [5 4 3]", tp.k, tp.n)
	}
}

func TestIsotonicApply(t *testing.T) {
	t.Parallel()
	c := Calibration{Method: CalIsotonic, X: []float64{-1, 0, 0, 2}, Y: []float64{0.1, 0.2, 0.4, 0.8}}
	for _, tt := range []struct{ m, want float64 }{
		{-5, 0.1}, {-1, 0.1}, {-0.5, 0.15}, {0, 0.2}, {1, 0.6}, {2, 0.8}, {9, 0.8},
	} {
		if got := c.Apply(tt.m); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Apply(%v) = %v, want %v", tt.m, got, tt.want)
		}
	}
}

func TestPriorRates(t *testing.T) {
	t.Parallel()
	s, err := Compile(Prior())
	if err != nil {
		t.Fatal(err)
	}
	if s.Version() != "prior" || s.Kind() != KindPrior {
		t.Errorf("version %q kind %q", s.Version(), s.Kind())
	}
	var sum float64
	for _, src := range priorOrder {
		rate := PriorRate(src)
		sum += rate
		if got := s.Score(nil, []string{src}); math.Abs(got-rate) > 1e-12 {
			t.Errorf("prior(%s) = %v, want %v", src, got, rate)
		}
	}
	if got := s.Score(nil, []string{""}); math.Abs(got-PriorAverage) > 1e-12 {
		t.Errorf("prior(missing) = %v, want %v", got, PriorAverage)
	}
	if len(priorOrder) != len(priorRates) {
		t.Errorf("priorOrder has %d sources, the table %d", len(priorOrder), len(priorRates))
	}
	if avg := sum / float64(len(priorOrder)); math.Abs(avg-PriorAverage) > 0.005 {
		t.Errorf("mean rate %v, want about %v", avg, PriorAverage)
	}
	if s.Score(nil, []string{"website"}) <= s.Score(nil, []string{"email"}) {
		t.Error("website must outrank email campaigns")
	}
	r := s.Explain(nil, []string{"referral"}, nil)
	if len(r) != 1 || r[0].Feature != "source_first=referral" || r[0].Impact <= 0 {
		t.Errorf("Explain = %+v", r)
	}
}

func TestArtifactJSONRoundTrip(t *testing.T) {
	t.Parallel()
	a := testArtifact()
	a.Calibration = Calibration{Method: CalIsotonic, X: []float64{-2, 0, 3}, Y: []float64{0.01, 0.1, 0.9}}
	var buf bytes.Buffer
	if err := a.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	b, err := ReadArtifact(&buf)
	if err != nil {
		t.Fatal(err)
	}
	s1, _ := Compile(a)
	s2, err := Compile(b)
	if err != nil {
		t.Fatal(err)
	}
	num, cat := []float64{33, 2.5}, []string{"web", "de"}
	if s1.Score(num, cat) != s2.Score(num, cat) {
		t.Error("score changed across JSON round trip")
	}
}

func TestValidateRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		break_ func(a *Artifact)
	}{
		{"no version", func(a *Artifact) { a.Version = "" }},
		{"schema mismatch", func(a *Artifact) { a.Schema.Num = a.Schema.Num[:1] }},
		{"index out of range", func(a *Artifact) { a.Encoder.Num[0].Index = 99 }},
		{"zero std", func(a *Artifact) { a.Encoder.Num[0].Std = 0 }},
		{"shift not above clip", func(a *Artifact) { a.Encoder.Num[0].Shift = 3 }},
		{"vocab past weights", func(a *Artifact) { a.Encoder.Cat[1].Offset = 8 + 1 }},
		{"NaN weight", func(a *Artifact) { a.Weights[2] = math.NaN() }},
		{"unknown calibration", func(a *Artifact) { a.Calibration.Method = "magic" }},
		{"isotonic not ascending", func(a *Artifact) {
			a.Calibration = Calibration{Method: CalIsotonic, X: []float64{1, 0}, Y: []float64{0, 1}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := testArtifact()
			tt.break_(a)
			if err := a.Validate(); !errors.Is(err, ErrInvalidArtifact) {
				t.Errorf("Validate = %v, want ErrInvalidArtifact", err)
			}
		})
	}
}

func TestScoreAllocatesNothing(t *testing.T) {
	s, err := Compile(testArtifact())
	if err != nil {
		t.Fatal(err)
	}
	num, cat := []float64{50, 3}, []string{"web", "de"}
	dst := make([]Reason, 0, 2*TopReasons)
	if n := testing.AllocsPerRun(100, func() {
		s.Score(num, cat)
		dst = s.Explain(num, cat, dst[:0])
	}); n != 0 {
		t.Errorf("Score+Explain allocate %v times", n)
	}
}
