package model

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchArtifact is shaped like the bank-marketing model: 10 numeric columns
// with 10 bins each and 10 categorical columns of 12 values, isotonic
// calibration with 200 breakpoints.
func benchArtifact() *Artifact {
	rng := rand.New(rand.NewPCG(1, 2))
	a := &Artifact{Version: "bench", Kind: KindLogReg, Weights: []float64{0.1}}
	const nNum, nCat, bins, vocab = 10, 10, 10, 12
	for i := range nNum {
		name := fmt.Sprintf("n%d", i)
		a.Schema.Num = append(a.Schema.Num, name)
		a.Encoder.Num = append(a.Encoder.Num, NumEncoding{Name: name, Index: len(a.Weights), Mean: 0, Std: 1, Clip: 5, Shift: 6})
		a.Weights = append(a.Weights, rng.NormFloat64())
	}
	for i := range a.Encoder.Num {
		e := &a.Encoder.Num[i]
		e.BinOffset = len(a.Weights)
		for k := range bins + 1 {
			if k < bins {
				e.Edges = append(e.Edges, float64(k-bins/2)/3)
			}
			e.BinShare = append(e.BinShare, 1.0/(bins+1))
			a.Weights = append(a.Weights, rng.NormFloat64())
		}
	}
	for i := range nCat {
		name := fmt.Sprintf("c%d", i)
		e := CatEncoding{Name: name, Offset: len(a.Weights)}
		for k := range vocab {
			e.Values = append(e.Values, fmt.Sprintf("value-%d", k))
			e.Share = append(e.Share, 1.0/vocab)
			a.Weights = append(a.Weights, rng.NormFloat64())
		}
		a.Schema.Cat = append(a.Schema.Cat, name)
		a.Encoder.Cat = append(a.Encoder.Cat, e)
	}
	a.Calibration.Method = CalIsotonic
	for k := range 200 {
		a.Calibration.X = append(a.Calibration.X, float64(k-100)/10)
		a.Calibration.Y = append(a.Calibration.Y, float64(k)/200)
	}
	return a
}

func benchRow() ([]float64, []string) {
	num := make([]float64, 10)
	cat := make([]string, 10)
	for i := range num {
		num[i] = float64(i-5) / 4
		cat[i] = fmt.Sprintf("value-%d", i)
	}
	cat[9] = "never-seen"
	return num, cat
}

func BenchmarkScore(b *testing.B) {
	s, err := Compile(benchArtifact())
	if err != nil {
		b.Fatal(err)
	}
	num, cat := benchRow()
	b.ReportAllocs()
	var sink float64
	for b.Loop() {
		sink += s.Score(num, cat)
	}
	_ = sink
}

func BenchmarkExplain(b *testing.B) {
	s, err := Compile(benchArtifact())
	if err != nil {
		b.Fatal(err)
	}
	num, cat := benchRow()
	dst := make([]Reason, 0, 2*TopReasons)
	b.ReportAllocs()
	for b.Loop() {
		dst = s.Explain(num, cat, dst[:0])
	}
}

// benchForest is shaped like a forest trained on the bank-marketing data
// with the training defaults: 25 trees over the benchRow schema (10 numeric,
// 10 categorical inputs), each a full tree of depth 10 (golearn uses an
// input at most once per path, so depth stays below the inputs per tree).
func benchForest() *Artifact {
	rng := rand.New(rand.NewPCG(3, 4))
	a := &Artifact{Version: "bench-forest", Kind: KindForest, Forest: &Forest{},
		Calibration: benchArtifact().Calibration}
	f := a.Forest
	for i := range 10 {
		name := fmt.Sprintf("n%d", i)
		a.Schema.Num = append(a.Schema.Num, name)
		f.Num = append(f.Num, ForestNum{Name: name, Fill: -9})
	}
	for i := range 10 {
		name := fmt.Sprintf("c%d", i)
		a.Schema.Cat = append(a.Schema.Cat, name)
		c := ForestCat{Name: name, Unknown: 0.1}
		for k := range 12 {
			c.Values = append(c.Values, fmt.Sprintf("value-%d", k))
			c.Codes = append(c.Codes, rng.Float64()/4)
		}
		f.Cat = append(f.Cat, c)
	}
	const trees, depth = 25, 10
	var grow func(d int) int32
	grow = func(d int) int32 {
		i := int32(len(f.Nodes))
		f.Nodes = append(f.Nodes, TreeNode{Input: -1, Pos: rng.Float64(), Vote: rng.IntN(2) == 0})
		if d < depth {
			in := rng.Int32N(20)
			thr := rng.NormFloat64()
			if in >= 10 {
				thr = rng.Float64() / 4
			}
			lo := grow(d + 1)
			hi := grow(d + 1)
			f.Nodes[i] = TreeNode{Input: in, Threshold: thr, Lo: lo, Hi: hi, Pos: f.Nodes[i].Pos}
		}
		return i
	}
	for range trees {
		f.Roots = append(f.Roots, grow(0))
	}
	return a
}

func BenchmarkScoreForest(b *testing.B) {
	s, err := Compile(benchForest())
	if err != nil {
		b.Fatal(err)
	}
	num, cat := benchRow()
	b.ReportAllocs()
	var sink float64
	for b.Loop() {
		sink += s.Score(num, cat)
	}
	_ = sink
}

func BenchmarkExplainForest(b *testing.B) {
	s, err := Compile(benchForest())
	if err != nil {
		b.Fatal(err)
	}
	num, cat := benchRow()
	dst := make([]Reason, 0, 2*TopReasons)
	b.ReportAllocs()
	for b.Loop() {
		dst = s.Explain(num, cat, dst[:0])
	}
}
