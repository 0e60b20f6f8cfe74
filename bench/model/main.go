// Command model is the model benchmark: it trains leadq's model on a lead CSV
// with the same options as `leadq train`, then times the compiled scorer, and
// prints JSON lines that run.sh sets beside scikit-learn's.
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
	a, card, err := training.Train(context.Background(), ds, training.Options{TestEvery: *testEvery}, nil)
	if err != nil {
		return err
	}
	m := card.Metrics
	emit(map[string]any{
		"model": fmt.Sprintf("leadq logreg (golearn, bins=%d, C=%g, %s)", card.Params.Bins, card.Params.C, card.Params.Calibration),
		"auc":   m.AUC, "log_loss": m.LogLoss, "brier": m.Brier, "ece": m.ECE,
		"lift": m.TopDecile.Lift, "recall": m.TopDecile.Recall,
		"fit_seconds": card.TrainingSeconds, "load_seconds": load,
		"parity": fmt.Sprintf("%d/%d", card.Parity.Agree, card.Parity.Rows),
	})

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
	// Bulk rescoring as after a promotion: every row once, cycling through
	// the file, one goroutine.
	t0 = time.Now()
	var sum float64
	for i := range *rescore {
		ds.Row(i%ds.Len(), num, cat)
		sum += s.Score(num, cat)
	}
	emit(map[string]any{
		"scorer":           a.Version,
		"score_ns_op":      float64(score.T.Nanoseconds()) / float64(score.N),
		"score_allocs_op":  score.AllocsPerOp(),
		"explain_ns_op":    float64(explain.T.Nanoseconds()) / float64(explain.N),
		"explain_allocs":   explain.AllocsPerOp(),
		"rescore_rows":     *rescore,
		"rescore_seconds":  time.Since(t0).Seconds(),
		"mean_probability": sum / float64(*rescore),
	})
	return nil
}

func emit(v map[string]any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}
