package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/model"
	"github.com/leadq/leadq/training"
)

// ---------------------------------------------------------------- retrain

// retrain writes the labelled rows through Snapshots and times the trainer.
// It returns the trained model's version.
func (b *bench) retrain(ctx context.Context) (string, error) {
	snaps, err := training.NewSnapshots(b.rdb, b.spec, training.SnapshotConfig{Prefix: b.prefix})
	if err != nil {
		return "", err
	}
	reg := model.NewRegistry(b.rdb, b.prefix)
	trainer, err := training.NewTrainer(training.TrainerConfig{
		Snapshots: snaps, Registry: reg, Redis: b.rdb, Prefix: b.prefix,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return "", err
	}

	// Rows in time order with distinct milliseconds, all older than the
	// horizon (so every row's outcome is known), within the trainer's window.
	l0 := loadavg()
	t0 := time.Now()
	n := b.rows
	newest := time.Now().Add(-snaps.Horizon() - 24*time.Hour)
	oldest := newest.Add(-140 * 24 * time.Hour)
	step := newest.Sub(oldest) / time.Duration(n)
	type row struct {
		lead string
		at   time.Time
		num  []float64
		cat  []string
		p    float64
		y    bool
	}
	rows := make([]row, n)
	r := rand.New(rand.NewPCG(b.seed, 1))
	nNum, nCat := len(b.spec.NumNames()), len(b.spec.CatNames())
	var applied []features.Applied
	positives := 0
	for i := range rows {
		at := oldest.Add(time.Duration(i)*step + time.Duration(r.Int64N(int64(step/2)))).Truncate(time.Millisecond)
		id := "t" + strconv.Itoa(i)
		evs, p := richLead(r, id, at)
		applied = applied[:0]
		for k, e := range evs {
			applied = append(applied, features.Applied{Event: e, Partition: 0, Offset: int64(k)})
		}
		st := features.State{}
		b.spec.FoldApplied(st, applied)
		rw := row{lead: id, at: at, num: make([]float64, nNum), cat: make([]string, nCat), p: p, y: r.Float64() < p}
		b.spec.Extract(st, at, rw.num, rw.cat)
		if rw.y {
			positives++
		}
		rows[i] = rw
	}
	gen := time.Since(t0)
	progress("synthesised %d rows (%d positive) in %v", n, positives, gen.Round(time.Millisecond))

	// Write through the real snapshot store: RecordVector at the moment the
	// lead was surfaced, then its outcome: every positive converts, half of
	// the negatives are disqualified, the other half never get an outcome
	// (negative once the horizon passed).
	t1 := time.Now()
	err = parallel(ctx, b.workers, n, func(i int) error {
		rw := &rows[i]
		if err := snaps.RecordVector(ctx, rw.lead, "claim", rw.num, rw.cat, rw.at); err != nil {
			return err
		}
		later := rw.at.Add(24*time.Hour + time.Duration(i%19)*24*time.Hour)
		var err error
		switch {
		case rw.y:
			_, err = snaps.Label(ctx, rw.lead, "converted", later)
		case i%2 == 0:
			_, err = snaps.Label(ctx, rw.lead, "disqualified", later)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	write := time.Since(t1)
	progress("wrote %d snapshots and their labels in %v", n, write.Round(time.Millisecond))
	b.add(fmt.Sprintf("setup: %s labelled rows synthesised (events folded through spec %s) and written through Snapshots.RecordVector + Label, %d writers",
		num(n), b.spec.Version, b.workers),
		fmt.Sprintf("%s positive (%.1f%%); %.1f s + %.1f s", num(positives), 100*float64(positives)/float64(n), gen.Seconds(), write.Seconds()), l0, "—")

	// The dataset read on its own, then the trainer end to end (it reads
	// the dataset again: that is part of a retrain).
	l0 = loadavg()
	t2 := time.Now()
	ds, st, err := snaps.Dataset(ctx, time.Now().Add(-180*24*time.Hour))
	if err != nil {
		return "", err
	}
	read := time.Since(t2)
	if st.Rows != n || st.Positives != positives {
		return "", fmt.Errorf("dataset has %d rows and %d positives, wrote %d and %d (pending %d, foreign %d)",
			st.Rows, st.Positives, n, positives, st.Pending, st.Foreign)
	}
	b.add(fmt.Sprintf("dataset read: Snapshots.Dataset of %s rows (XRANGE per day, labels HGETALL, parse, sort)", num(st.Rows)),
		secs(read), l0, "—")
	progress("dataset read in %v", read.Round(time.Millisecond))

	runtime.GC()
	l0 = loadavg()
	t3 := time.Now()
	res, err := trainer.RetrainNow(ctx)
	if err != nil {
		return "", err
	}
	total := time.Since(t3)
	if !res.Trained || res.Card == nil {
		return "", fmt.Errorf("trainer did not train: %s", res.Reason)
	}
	card := res.Card
	progress("RetrainNow in %v (fit %.1f s), AUC %.4f, promoted %v %s", total.Round(time.Millisecond),
		card.TrainingSeconds, card.Metrics.AUC, res.Promoted, res.Reason)
	b.add(fmt.Sprintf("**retrain end to end**: Trainer.RetrainNow on %s rows (lock, read, %d fits, parity, calibrate, evaluate, register, champion check, promote)",
		num(st.Rows), len(card.Candidates)), "**"+secs(total)+"**", l0, "≤ 30 s → "+verdict(total <= 30*time.Second))
	b.add("  of which training.Train (fit, calibrate, evaluate: card.training_seconds)", fmt.Sprintf("%.2f s", card.TrainingSeconds), "", "—")
	var fits, forest []string
	for _, c := range card.Candidates {
		chosen := ""
		if c.Chosen {
			chosen = " (chosen)"
		}
		if c.Kind == model.KindForest {
			forest = append(forest, fmt.Sprintf("%d trees × %d inputs on %s rows: %.1f s, validation AUC %.4f%s",
				c.Trees, c.TreeFeatures, num(c.Rows), c.Seconds, c.AUC, chosen))
			continue
		}
		fits = append(fits, fmt.Sprintf("bins %d C %g: %.1f s, AUC %.4f%s", c.Bins, c.C, c.Seconds, c.AUC, chosen))
	}
	b.add("  liblinear fits (validation AUC)", strings.Join(fits, "; "), "", "—")
	b.add("  golearn random forest fit", strings.Join(forest, "; "), "", "—")

	// The model's quality on its holdout beside the ceiling: the AUC of the
	// true probabilities on the very same rows (Dataset sorts by time and
	// the rows were written in time order, one lead each, so dataset row i
	// is rows[i]; the trainer holds out the latest leads).
	test, err := training.HoldoutRows(ds, training.Options{Holdout: training.HoldoutTime})
	if err != nil {
		return "", err
	}
	var pt []float64
	var yt []bool
	for _, i := range test {
		pt, yt = append(pt, rows[i].p), append(yt, rows[i].y)
	}
	m := card.Metrics
	b.add(fmt.Sprintf("model on its holdout (%s rows): AUC; oracle AUC of the true probabilities; prior's AUC", num(card.Rows.Test)),
		fmt.Sprintf("%.4f; %.4f; %.4f (%s, ECE %.4f, %s)", m.AUC, training.AUC(pt, yt), res.ChampionAUC,
			card.Kind, m.ECE, card.Params.Calibration), "", "—")
	if !res.Promoted {
		b.notes = append(b.notes, "the trained model was not promoted ("+res.Reason+"); the rescore force-promotes it")
		if err := reg.ForcePromote(ctx, res.Version); err != nil {
			return "", err
		}
	}
	return res.Version, nil
}
