// Command model is the model benchmark: it trains each of leadq's candidate
// kinds (logistic regression, random forest) on a lead CSV with the options
// of `leadq train`, marks the one Train would choose, times both compiled
// scorers, and prints JSON lines that run.sh sets beside scikit-learn's.
//
// Run with GODEBUG=cgocheck=0 in the environment (golearn needs it).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/leadq/leadq/model"
	"github.com/leadq/leadq/training"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/model:", err)
		os.Exit(1)
	}
}

func run() error {
	csvPath := flag.String("csv", "../shared/data/bank-marketing/bank-additional-full.csv", "lead CSV")
	target := flag.String("target", "y", "label column")
	drop := flag.String("drop", "duration", "comma-separated columns to ignore")
	sep := flag.String("sep", ";", "field separator")
	testEvery := flag.Int("test-every", 5, "row i is holdout when i % N == N-1")
	rescore := flag.Int("rescore", 1_000_000, "rows to rescore for the bulk timing")
	flag.Parse()

	t0 := time.Now()
	ds, err := training.LoadCSVFile(*csvPath, training.CSVOptions{
		Sep: []rune(*sep)[0], Target: *target, Drop: strings.Split(*drop, ","),
	})
	if err != nil {
		return err
	}
	load := time.Since(t0).Seconds()
	// Each candidate kind alone, on the same split, so that both get their
	// own calibrated test figures; Train with both keeps the one with the
	// higher validation AUC, which is what the chosen flag says.
	arts, cards := map[string]*model.Artifact{}, map[string]*model.Card{}
	kinds := []string{model.KindLogReg, model.KindForest}
	for _, kind := range kinds {
		a, card, err := training.Train(context.Background(), ds, training.Options{TestEvery: *testEvery, Kinds: []string{kind}}, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
		arts[kind], cards[kind] = a, card
	}
	chosen := model.KindLogReg
	if valAUC(cards[model.KindForest]) > valAUC(cards[model.KindLogReg]) {
		chosen = model.KindForest
	}
	for _, kind := range kinds {
		card := cards[kind]
		m, p := card.Metrics, card.Params
		name := fmt.Sprintf("leadq logreg (golearn, bins=%d, C=%g, %s)", p.Bins, p.C, p.Calibration)
		if kind == model.KindForest {
			name = fmt.Sprintf("leadq forest (golearn RandomForest, %d trees × %d inputs, %d rows, %s)", p.Trees, p.TreeFeatures, p.ForestRows, p.Calibration)
		}
		emit(map[string]any{
			"model": name, "kind": kind, "chosen": kind == chosen, "validation_auc": valAUC(card),
			"auc": m.AUC, "log_loss": m.LogLoss, "brier": m.Brier, "ece": m.ECE,
			"lift": m.TopDecile.Lift, "recall": m.TopDecile.Recall,
			"fit_seconds": card.TrainingSeconds, "load_seconds": load,
			"parity": fmt.Sprintf("%d/%d", card.Parity.Agree, card.Parity.Rows),
		})
	}
	for _, kind := range kinds {
		if err := timeScorer(arts[kind], ds, *rescore); err != nil {
			return err
		}
	}
	return nil
}

// valAUC is the validation (calibration-split) AUC of the card's chosen candidate.
func valAUC(c *model.Card) float64 {
	for _, k := range c.Candidates {
		if k.Chosen {
			return k.AUC
		}
	}
	return 0
}

// timeScorer times the compiled scorer of a on one holdout row, and a bulk
// rescore as after a promotion: every row once, cycling through the file,
// one goroutine.
func timeScorer(a *model.Artifact, ds *training.Dataset, rescore int) error {
	s, err := model.Compile(a)
	if err != nil {
		return err
	}
	num, cat := make([]float64, len(ds.Num)), make([]string, len(ds.Cat))
	ds.Row(4, num, cat) // the first holdout row
	score := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Score(num, cat)
		}
	})
	dst := make([]model.Reason, 0, 2*model.TopReasons)
	explain := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dst = s.Explain(num, cat, dst[:0])
		}
	})
	t0 := time.Now()
	var sum float64
	for i := range rescore {
		ds.Row(i%ds.Len(), num, cat)
		sum += s.Score(num, cat)
	}
	emit(map[string]any{
		"scorer":           a.Version,
		"kind":             a.Kind,
		"score_ns_op":      float64(score.T.Nanoseconds()) / float64(score.N),
		"score_allocs_op":  score.AllocsPerOp(),
		"explain_ns_op":    float64(explain.T.Nanoseconds()) / float64(explain.N),
		"explain_allocs":   explain.AllocsPerOp(),
		"rescore_rows":     rescore,
		"rescore_seconds":  time.Since(t0).Seconds(),
		"mean_probability": sum / float64(rescore),
	})
	return nil
}

func emit(v map[string]any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}
