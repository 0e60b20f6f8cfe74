package training

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/leadq/leadq/model"
)

// xorData is an interaction an additive model cannot see: the label is
// (a > 0) XOR (b > 0), with noise. b > 0 for 70% of rows, which gives a
// alone a weak effect (a greedy tree needs one to split on first, and
// golearn's ID3 uses an input once per path); b alone tells nothing. So
// logistic regression, even with bins, only gets a's weak effect, while
// trees split on a then b. c is noise; kind a categorical column that adds
// noise for "r".
func xorData(n int, seed uint64) *Dataset {
	rng := rand.New(rand.NewPCG(seed, 7))
	ds := &Dataset{Schema: model.Schema{Num: []string{"a", "b", "c"}, Cat: []string{"kind"}},
		Num: make([][]float64, 3), Cat: make([][]string, 1)}
	for range n {
		a, b, c := rng.Float64()*2-1, rng.Float64()*2-0.6, rng.NormFloat64()
		k := []string{"p", "q", "r"}[rng.IntN(3)]
		y := a*b > 0
		if k == "r" && rng.Float64() < 0.2 {
			y = !y
		}
		if rng.Float64() < 0.1 {
			y = !y
		}
		ds.Num[0], ds.Num[1], ds.Num[2] = append(ds.Num[0], a), append(ds.Num[1], b), append(ds.Num[2], c)
		ds.Cat[0] = append(ds.Cat[0], k)
		ds.Label = append(ds.Label, y)
	}
	return ds
}

// linearData is a logistic model over eight numeric columns of equal
// weight: logistic regression is the true model; a forest of shallow trees
// over six random inputs each can only approximate it.
func linearData(n int, seed uint64) *Dataset {
	rng := rand.New(rand.NewPCG(seed, 9))
	ds := &Dataset{Num: make([][]float64, 8)}
	for j := range 8 {
		ds.Schema.Num = append(ds.Schema.Num, fmt.Sprintf("x%d", j))
	}
	for range n {
		z := -0.5
		for j := range 8 {
			x := rng.NormFloat64()
			z += 0.6 * x
			ds.Num[j] = append(ds.Num[j], x)
		}
		ds.Label = append(ds.Label, rng.Float64() < 1/(1+math.Exp(-z)))
	}
	return ds
}

func TestTrainPicksForestForInteractions(t *testing.T) {
	t.Parallel()
	ds := xorData(10000, 1)
	a, card, err := Train(t.Context(), ds, Options{Version: "xor"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	lr, rf := bestOfKind(card, model.KindLogReg), bestOfKind(card, model.KindForest)
	t.Logf("validation AUC: logreg %.4f, forest %.4f; test AUC %.4f", lr.AUC, rf.AUC, card.Metrics.AUC)
	if card.Kind != model.KindForest || a.Kind != model.KindForest || !rf.Chosen || lr.Chosen {
		t.Fatalf("chose %s (logreg %.4f, forest %.4f), want the forest", card.Kind, lr.AUC, rf.AUC)
	}
	if lr.AUC > 0.72 || rf.AUC < 0.8 || card.Metrics.AUC < 0.8 || card.Metrics.ECE > 0.05 {
		t.Errorf("logreg %.4f, forest %.4f, test AUC %.4f ECE %.4f: want ≤ 0.72, ≥ 0.8, ≥ 0.8, ≤ 0.05",
			lr.AUC, rf.AUC, card.Metrics.AUC, card.Metrics.ECE)
	}
	if card.Parity.Rows != card.Rows.Test || card.Parity.Agree != card.Parity.Rows {
		t.Errorf("parity %+v on %d test rows", card.Parity, card.Rows.Test)
	}
	if p := card.Params; p.Trees != 31 || p.TreeFeatures != 4 || p.ForestRows != card.Rows.Train || rf.Rows != p.ForestRows {
		t.Errorf("params %+v, candidate %+v", p, rf)
	}

	// The artifact survives JSON and scores exactly as before.
	var buf bytes.Buffer
	if err := a.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	b, err := model.ReadArtifact(&buf)
	if err != nil {
		t.Fatal(err)
	}
	s1, _ := model.Compile(a)
	s2, err := model.Compile(b)
	if err != nil {
		t.Fatal(err)
	}
	num, cat := make([]float64, 3), make([]string, 1)
	for i := range 200 {
		ds.Row(i, num, cat)
		if p1, p2 := s1.Score(num, cat), s2.Score(num, cat); p1 != p2 {
			t.Fatalf("row %d: %v before JSON, %v after", i, p1, p2)
		}
	}

	// Reasons name the interaction's columns, not the noise: a corner
	// lead (a, b far from 0, same sign) converts because of a and b.
	rs := s1.Explain([]float64{0.9, 0.9, 0}, []string{"p"}, nil)
	if len(rs) < 2 || rs[0].Impact <= 0 || !slices.Contains([]string{"a", "b"}, rs[0].Feature) ||
		!slices.Contains([]string{"a", "b"}, rs[1].Feature) {
		t.Errorf("reasons %+v: want a and b first, positive", rs)
	}
}

func TestTrainPicksLogRegForLinearData(t *testing.T) {
	t.Parallel()
	ds := linearData(12000, 2)
	_, card, err := Train(t.Context(), ds, Options{Version: "lin"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	lr, rf := bestOfKind(card, model.KindLogReg), bestOfKind(card, model.KindForest)
	t.Logf("validation AUC: logreg %.4f, forest %.4f", lr.AUC, rf.AUC)
	if card.Kind != model.KindLogReg || !lr.Chosen || rf.Chosen || !(lr.AUC > rf.AUC+0.01) {
		t.Errorf("chose %s: logreg %.4f, forest %.4f; want logreg by more than 0.01", card.Kind, lr.AUC, rf.AUC)
	}
}

func bestOfKind(card *model.Card, kind string) model.Candidate {
	var best model.Candidate
	for _, c := range card.Candidates {
		if c.Kind == kind && (best.Kind == "" || c.AUC > best.AUC || c.Chosen) {
			best = c
			if c.Chosen {
				break
			}
		}
	}
	return best
}

// TestForestParityCatchesADriftedScorer fits a real golearn forest, checks
// that its flat copy votes as golearn does on every row, then that a copy
// with flipped leaves fails the check.
func TestForestParityCatchesADriftedScorer(t *testing.T) {
	t.Parallel()
	ds := xorData(3000, 3)
	fit, _, test := split(ds.Len(), 5, 5)
	enc := fitForestInputs(ds, fit, encoderOptions{maxVocab: 100, minCount: 1})
	ff, err := fitForest(ds, fit, enc, 7, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(ff.forest.Roots) != 7 || len(ff.forest.Nodes) < 7*3 {
		t.Fatalf("%d trees, %d nodes", len(ff.forest.Roots), len(ff.forest.Nodes))
	}
	a := &model.Artifact{Version: "p", Kind: model.KindForest, Schema: ds.Schema, Forest: ff.forest, Calibration: identity}
	s, err := model.Compile(a)
	if err != nil {
		t.Fatal(err)
	}
	if par, err := checkForestParity(ds, test, s, ff); err != nil || par.Agree != len(test) {
		t.Fatalf("exact forest: parity %+v, %v", par, err)
	}
	drift := *ff.forest
	drift.Nodes = slices.Clone(drift.Nodes)
	for i := range drift.Nodes {
		if drift.Nodes[i].Input >= 0 {
			drift.Nodes[i].Threshold += 0.3 // every split moves: many rows change sides
		}
	}
	a.Forest = &drift
	if s, err = model.Compile(a); err != nil {
		t.Fatal(err)
	}
	if par, err := checkForestParity(ds, test, s, ff); !errors.Is(err, ErrParity) || par.Agree == par.Rows {
		t.Errorf("drifted forest: parity %+v, err %v; want ErrParity", par, err)
	}
}

func TestForestInputs(t *testing.T) {
	t.Parallel()
	ds := &Dataset{Schema: model.Schema{Num: []string{"n"}, Cat: []string{"c"}},
		Num: [][]float64{{3, math.NaN(), 5, 8}}, Cat: [][]string{{"x", "x", "y", "z"}},
		Label: []bool{true, true, false, false}}
	f := fitForestInputs(ds, []int{0, 1, 2, 3}, encoderOptions{maxVocab: 10, minCount: 2})
	// Missing sorts below the minimum (3); only "x" is frequent enough.
	if f.Num[0].Fill >= 3 || len(f.Cat[0].Values) != 1 || f.Cat[0].Values[0] != "x" || f.Cat[0].Unknown != 0.5 {
		t.Fatalf("encoding %+v", f)
	}
	// "x" is 2 of 2 positive, smoothed towards the 0.5 base rate.
	if want := (2 + forestSmoothing*0.5) / (2 + forestSmoothing); f.Cat[0].Codes[0] != want {
		t.Errorf("code of x %v, want %v", f.Cat[0].Codes[0], want)
	}
}

func TestSubsampleSpreads(t *testing.T) {
	t.Parallel()
	rows := make([]int, 100)
	for i := range rows {
		rows[i] = i * 2
	}
	got := subsample(rows, 10)
	if len(got) != 10 || got[0] != 0 || got[9] != 180 {
		t.Errorf("subsample %v", got)
	}
	if got := subsample(rows, 200); len(got) != 100 {
		t.Errorf("no cap: %d rows", len(got))
	}
}
