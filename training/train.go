package training

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"time"

	"github.com/leadq/leadq/model"
)

// Options configure Train; the zero value is a sensible default.
type Options struct {
	// TestEvery makes 0-based row i a holdout (test) row when
	// i%TestEvery == TestEvery-1; default 5. An interleaved holdout is the
	// only fair one for data that drifts with row order (the bank data).
	TestEvery int
	// CalEvery takes every CalEvery-th remaining row (same rule) as the
	// calibration split, which also picks the hyper-parameters; default 5.
	CalEvery int
	Cs       []float64 // liblinear C values tried; default 0.01, 0.1, 1
	Bins     []int     // quantile bins per numeric column tried; default 0 and 10
	Clip     float64   // standardised values are clamped to ±Clip; default 5
	MaxVocab int       // categories kept per column, most frequent first; default 100
	MinCount int       // categories seen fewer times score as unknown; default 5
	Eps      float64   // liblinear stopping tolerance; default 0.001
	// Calibration is "platt", "isotonic" or "auto" (default: the lower
	// cross-validated log loss on the calibration split).
	Calibration string
	// Holdout is HoldoutInterleave (default) or HoldoutTime.
	Holdout string
	// Kinds are the candidates fitted: model.KindLogReg and/or
	// model.KindForest (default both). The one with the higher AUC on the
	// calibration split is calibrated and evaluated.
	Kinds []string
	// Trees is the forest's tree count, odd so golearn's majority vote
	// cannot tie; default 31.
	Trees int
	// TreeFeatures is how many random inputs each tree may split on
	// (golearn draws them per tree, not per split, and uses each at most
	// once per path, so it also bounds the depth); default 6. golearn's
	// fit time grows steeply with it (FACTS.md; BENCHMARKS.md).
	TreeFeatures int
	// ForestRows caps the fitting rows the forest sees (evenly spaced);
	// default 20,000, which keeps a 100k-row retrain within its 30 s.
	ForestRows  int
	Version     string // default "<kind>-<UTC time>-<hash>"
	SpecVersion string // default "csv-v1"
	Source      string // recorded on the card, e.g. "csv:leads.csv"
	Now         func() time.Time
}

// ErrOptions reports options Train cannot use.
var ErrOptions = errors.New("training: invalid options")

func (o Options) withDefaults() (Options, error) {
	if o.TestEvery == 0 {
		o.TestEvery = 5
	}
	if o.CalEvery == 0 {
		o.CalEvery = 5
	}
	if len(o.Cs) == 0 {
		o.Cs = []float64{0.01, 0.1, 1}
	}
	if len(o.Bins) == 0 {
		o.Bins = []int{0, 10}
	}
	o.Clip = cmpOr(o.Clip, 5)
	o.Eps = cmpOr(o.Eps, 0.001)
	o.MaxVocab = cmpOr(o.MaxVocab, 100)
	o.MinCount = cmpOr(o.MinCount, 5)
	o.Calibration = cmpOr(o.Calibration, "auto")
	o.Holdout = cmpOr(o.Holdout, HoldoutInterleave)
	if len(o.Kinds) == 0 {
		o.Kinds = []string{model.KindLogReg, model.KindForest}
	}
	o.Trees = cmpOr(o.Trees, 31)
	o.TreeFeatures = cmpOr(o.TreeFeatures, 6)
	o.ForestRows = cmpOr(o.ForestRows, 20_000)
	o.SpecVersion = cmpOr(o.SpecVersion, "csv-v1")
	if o.Now == nil {
		o.Now = time.Now
	}
	switch {
	case o.TestEvery < 2 || o.CalEvery < 2:
		return o, fmt.Errorf("%w: TestEvery and CalEvery must be at least 2", ErrOptions)
	case slices.ContainsFunc(o.Cs, func(c float64) bool { return !(c > 0) }):
		return o, fmt.Errorf("%w: every C must be positive", ErrOptions)
	case !slices.Contains([]string{"auto", model.CalPlatt, model.CalIsotonic}, o.Calibration):
		return o, fmt.Errorf("%w: calibration %q is not auto, platt or isotonic", ErrOptions, o.Calibration)
	case o.Clip <= 0 || o.MaxVocab < 1 || o.MinCount < 1 || o.Eps <= 0:
		return o, fmt.Errorf("%w: Clip, MaxVocab, MinCount and Eps must be positive", ErrOptions)
	case o.Holdout != HoldoutInterleave && o.Holdout != HoldoutTime:
		return o, fmt.Errorf("%w: holdout %q is not %s or %s", ErrOptions, o.Holdout, HoldoutInterleave, HoldoutTime)
	case slices.ContainsFunc(o.Kinds, func(k string) bool { return k != model.KindLogReg && k != model.KindForest }):
		return o, fmt.Errorf("%w: kinds %q: want %s and/or %s", ErrOptions, o.Kinds, model.KindLogReg, model.KindForest)
	case o.Trees < 1 || o.Trees%2 == 0:
		return o, fmt.Errorf("%w: Trees %d must be odd and positive (golearn breaks vote ties by map order)", ErrOptions, o.Trees)
	case o.TreeFeatures < 1 || o.ForestRows < 1:
		return o, fmt.Errorf("%w: TreeFeatures and ForestRows must be positive", ErrOptions)
	}
	return o, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Progress receives the stage being worked on and how far it is (0 to 1).
type Progress func(stage string, frac float64)

// Train fits, parity-checks, calibrates and evaluates a model on ds and
// returns its artifact and card. It returns an error, and no model, when the
// compiled scorer disagrees with golearn on any holdout row. progress may be
// nil. Cancellation is checked between fits (a liblinear fit cannot stop).
func Train(ctx context.Context, ds *Dataset, opts Options, progress Progress) (*model.Artifact, *model.Card, error) {
	if progress == nil {
		progress = func(string, float64) {}
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	if err := ds.Validate(); err != nil {
		return nil, nil, err
	}
	start := o.Now()
	fitRows, calRows, testRows, err := splitRows(ds, o)
	if err != nil {
		return nil, nil, err
	}
	card := &model.Card{
		SpecVersion: o.SpecVersion, Source: o.Source,
		CreatedAt: start.UTC(),
		Rows: model.Rows{
			Total: ds.Len(),
			Train: len(fitRows), TrainPositives: ds.positives(fitRows),
			Calibration: len(calRows), CalibrationPositives: ds.positives(calRows),
			Test: len(testRows), TestPositives: ds.positives(testRows),
		},
		Holdout: fingerprint(ds, testRows),
	}
	if err := checkSplits(card.Rows); err != nil {
		return nil, nil, err
	}

	// Every kind is fitted on the fitting rows and scored on the same
	// calibration split; the higher AUC wins (logistic regression on a tie:
	// it is the simpler model). The test split stays untouched until the
	// winner's final evaluation, so its figures are not selected on.
	var win *fitted
	for _, kind := range o.Kinds {
		var f *fitted
		switch kind {
		case model.KindLogReg:
			f, err = logRegCandidate(ctx, ds, fitRows, calRows, testRows, o, card, progress)
		case model.KindForest:
			f, err = forestCandidate(ctx, ds, fitRows, calRows, testRows, o, card, progress)
		}
		if err != nil {
			return nil, nil, err
		}
		if win == nil || f.auc > win.auc || (f.auc == win.auc && kind == model.KindLogReg) {
			win = f
		}
	}
	for i := range card.Candidates {
		card.Candidates[i].Chosen = i == win.cand
	}
	a := win.art
	// Time for humans, a hash of the fitted numbers so that two fits in one
	// second differ.
	a.Version = cmpOr(o.Version, fmt.Sprintf("%s-%s-%s", a.Kind, start.UTC().Format("20060102T150405Z"), weightHash(win.hash)))
	card.Version, card.Kind, card.Schema = a.Version, a.Kind, a.Schema
	s, err := model.Compile(a)
	if err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	progress("parity", 0)
	card.Parity, err = win.parity(s)
	progress("parity", 1)
	if err != nil {
		return nil, nil, err
	}

	progress("calibrate", 0)
	calM, calY := margins(ds, calRows, s)
	var cv map[string]float64
	a.Calibration, cv = fitCalibration(calM, calY, o.Calibration)
	if s, err = model.Compile(a); err != nil {
		return nil, nil, err
	}
	progress("calibrate", 1)

	progress("evaluate", 0)
	card.Metrics = evaluateRows(ds, testRows, s)
	card.Params = win.params
	card.Params.Calibration, card.Params.CalibrationCV = a.Calibration.Method, cv
	card.TrainingSeconds = o.Now().Sub(start).Seconds()
	progress("evaluate", 1)
	return a, card, nil
}

// fitted is the best model of one kind, not yet calibrated (its margins
// pass through an identity Platt map), with what Train needs to finish it.
type fitted struct {
	art    *model.Artifact
	auc    float64 // on the calibration split
	cand   int     // its entry in card.Candidates
	hash   []float64
	params model.Params
	// parity checks the compiled scorer against golearn on the test rows.
	parity func(s *model.Scorer) (model.Parity, error)
}

// identity is the calibration of an uncalibrated artifact: parity and
// model selection only need margins.
var identity = model.Calibration{Method: model.CalPlatt, A: 1}

// logRegCandidate fits the logistic-regression grid and returns its best.
func logRegCandidate(ctx context.Context, ds *Dataset, fitRows, calRows, testRows []int, o Options, card *model.Card, progress Progress) (*fitted, error) {
	first := len(card.Candidates)
	best, err := selectModel(ctx, ds, fitRows, calRows, o, card, progress)
	if err != nil {
		return nil, err
	}
	a := &model.Artifact{
		Version: "candidate", Kind: model.KindLogReg,
		Schema:  model.Schema{Num: slices.Clone(ds.Schema.Num), Cat: slices.Clone(ds.Schema.Cat)},
		Encoder: best.enc, Weights: best.lr.w, Calibration: identity,
	}
	f := &fitted{art: a, auc: best.auc, cand: first + best.index, hash: best.lr.w,
		params: model.Params{Solver: "golearn liblinear L2R_LR", C: best.c, Bins: best.bins, Inputs: len(a.Weights)}}
	f.parity = func(s *model.Scorer) (model.Parity, error) {
		return checkParity(ds, testRows, &a.Encoder, s, best.lr)
	}
	return f, nil
}

// forestCandidate fits golearn's random forest on at most ForestRows of
// the fitting rows and scores it on the calibration split.
func forestCandidate(ctx context.Context, ds *Dataset, fitRows, calRows, testRows []int, o Options, card *model.Card, progress Progress) (*fitted, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	progress("forest", 0)
	t0 := time.Now()
	enc := fitForestInputs(ds, fitRows, encoderOptions{maxVocab: o.MaxVocab, minCount: o.MinCount})
	rows := subsample(fitRows, o.ForestRows)
	ff, err := fitForest(ds, rows, enc, o.Trees, o.TreeFeatures)
	if err != nil {
		return nil, err
	}
	a := &model.Artifact{
		Version: "candidate", Kind: model.KindForest,
		Schema: model.Schema{Num: slices.Clone(ds.Schema.Num), Cat: slices.Clone(ds.Schema.Cat)},
		Forest: ff.forest, Calibration: identity,
	}
	s, err := model.Compile(a)
	if err != nil {
		return nil, err
	}
	m, y := margins(ds, calRows, s)
	f := &fitted{art: a, auc: AUC(m, y), cand: len(card.Candidates), hash: forestHash(ff.forest),
		params: model.Params{Solver: "golearn ensemble.RandomForest (bagged ID3)", Trees: o.Trees,
			TreeFeatures: min(o.TreeFeatures, len(enc.Num)+len(enc.Cat)), ForestRows: len(rows),
			Inputs: len(enc.Num) + len(enc.Cat)}}
	card.Candidates = append(card.Candidates, model.Candidate{
		Kind: model.KindForest, Trees: f.params.Trees, TreeFeatures: f.params.TreeFeatures, Rows: len(rows),
		AUC: f.auc, LogLoss: plattLogLoss(m, y), Seconds: time.Since(t0).Seconds(),
	})
	f.parity = func(s *model.Scorer) (model.Parity, error) { return checkForestParity(ds, testRows, s, ff) }
	progress("forest", 1)
	return f, nil
}

// forestHash lists the numbers that make a forest, for its version hash.
func forestHash(f *model.Forest) []float64 {
	h := make([]float64, 0, 2*len(f.Nodes))
	for _, n := range f.Nodes {
		h = append(h, n.Threshold, n.Pos)
	}
	return h
}

// checkSplits insists on both classes in every split: without them there
// is nothing to fit, calibrate or rank.
func checkSplits(r model.Rows) error {
	for _, c := range []struct {
		name     string
		rows, ps int
	}{
		{"training", r.Train, r.TrainPositives},
		{"calibration", r.Calibration, r.CalibrationPositives},
		{"test", r.Test, r.TestPositives},
	} {
		if c.ps == 0 || c.ps == c.rows {
			return fmt.Errorf("training: the %s split has %d rows, %d positive: it needs both classes", c.name, c.rows, c.ps)
		}
	}
	return nil
}

// evaluateRows scores rows with the served scorer and evaluates the result.
func evaluateRows(ds *Dataset, rows []int, s *model.Scorer) model.Metrics {
	p, y := make([]float64, len(rows)), make([]bool, len(rows))
	num, cat := make([]float64, len(ds.Num)), make([]string, len(ds.Cat))
	for k, i := range rows {
		ds.Row(i, num, cat)
		p[k], y[k] = s.Score(num, cat), ds.Label[i]
	}
	return Evaluate(p, y)
}

func weightHash(w []float64) string {
	h := fnv.New32a()
	var b [8]byte
	for _, v := range w {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
		h.Write(b[:])
	}
	return fmt.Sprintf("%08x", h.Sum32())[:6]
}

// split assigns row i to test when i%testEvery == testEvery-1, and of the
// rest, the j-th to calibration when j%calEvery == calEvery-1.
func split(n, testEvery, calEvery int) (fit, cal, test []int) {
	j := 0
	for i := range n {
		switch {
		case i%testEvery == testEvery-1:
			test = append(test, i)
		case j%calEvery == calEvery-1:
			cal = append(cal, i)
			j++
		default:
			fit = append(fit, i)
			j++
		}
	}
	return fit, cal, test
}

// margins scores rows with the uncalibrated scorer.
func margins(ds *Dataset, rows []int, s *model.Scorer) ([]float64, []bool) {
	m, y := make([]float64, len(rows)), make([]bool, len(rows))
	num, cat := make([]float64, len(ds.Num)), make([]string, len(ds.Cat))
	for k, i := range rows {
		ds.Row(i, num, cat)
		m[k], y[k] = s.Margin(num, cat), ds.Label[i]
	}
	return m, y
}

// checkParity compares the compiled scorer's sign(w·x) with golearn's own
// Predict on every holdout row.
func checkParity(ds *Dataset, rows []int, enc *model.Encoder, s *model.Scorer, lr *logReg) (model.Parity, error) {
	par := model.Parity{Rows: len(rows)}
	x := make([]float64, enc.Dim())
	num, cat := make([]float64, len(ds.Num)), make([]string, len(ds.Cat))
	first := -1
	for _, i := range rows {
		ds.Row(i, num, cat)
		enc.Dense(num, cat, x)
		if lr.predict(x) == (s.Margin(num, cat) > 0) {
			par.Agree++
		} else if first < 0 {
			first = i
		}
	}
	if par.Agree != par.Rows {
		return par, fmt.Errorf("%w on %d of %d holdout rows (first: row index %d)", ErrParity, par.Rows-par.Agree, par.Rows, first)
	}
	return par, nil
}
