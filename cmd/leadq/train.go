package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/leadq/leadq/internal/config"
	"github.com/leadq/leadq/training"
)

// runTrain is `leadq train`: it trains, parity-checks, calibrates and
// evaluates a model on a CSV of historical leads, reports progress on
// stderr and prints the model card as JSON on stdout.
func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("leadq train", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; --help becomes config.ErrHelp
	csvPath := fs.String("csv", "", "CSV `file` of historical leads with a header row (required)")
	target := fs.String("target", "", "label `column` (required)")
	positive := fs.String("positive", "", "comma-separated target `values` meaning converted (default: yes/true/1 positive, no/false/0 negative, anything else an error)")
	drop := fs.String("drop", "", "comma-separated `columns` to ignore, e.g. ones only known after the outcome")
	sep := fs.String("sep", ",", "field `separator`, one character (\\t for tab)")
	out := fs.String("out", "", "write the model artifact (JSON) to this `file`")
	testEvery := fs.Int("test-every", 5, "0-based row i is in the holdout when i % `N` == N-1")
	calibration := fs.String("calibration", "auto", "`method`: platt, isotonic or auto (lower cross-validated log loss)")
	register := fs.Bool("register", false, "put the trained model in the Redis registry")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config.ErrHelp{Usage: trainUsage(fs)}
		}
		return fmt.Errorf("train: %w", err)
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("train: unexpected argument %q", fs.Arg(0))
	case *csvPath == "" || *target == "":
		return errors.New("train: --csv and --target are required (see leadq train --help)")
	case *register:
		// Fail before a long fit, not after it.
		return errors.New("train: --register is not yet implemented (the Redis model registry comes later); use --out to save the artifact")
	}
	sepRune, err := parseSep(*sep)
	if err != nil {
		return err
	}

	start := time.Now()
	ds, err := training.LoadCSVFile(*csvPath, training.CSVOptions{
		Sep: sepRune, Target: *target, Positive: splitList(*positive), Drop: splitList(*drop),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "loaded %s: %d rows, %d numeric and %d categorical columns in %.1fs\n",
		*csvPath, ds.Len(), len(ds.Schema.Num), len(ds.Schema.Cat), time.Since(start).Seconds())
	bar := &progressBar{w: stderr}
	a, card, err := training.Train(ctx, ds, training.Options{
		TestEvery: *testEvery, Calibration: *calibration, Source: "csv:" + *csvPath,
	}, bar.update)
	bar.finish()
	if err != nil {
		return err
	}
	if *out != "" {
		if err := writeArtifact(*out, a.WriteJSON); err != nil {
			return err
		}
	}
	m := card.Metrics
	fmt.Fprintf(stderr, "%s: AUC %.4f, log loss %.4f, ECE %.4f, top-decile lift %.2f on %d holdout rows; parity %d/%d; %.1fs\n",
		card.Version, m.AUC, m.LogLoss, m.ECE, m.TopDecile.Lift, m.N, card.Parity.Agree, card.Parity.Rows, card.TrainingSeconds)
	if *out != "" {
		fmt.Fprintf(stderr, "model written to %s\n", *out)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(card)
}

func trainUsage(fs *flag.FlagSet) string {
	var b strings.Builder
	b.WriteString("Usage: leadq train --csv FILE --target COL [flags]\n\n" +
		"Trains logistic regression (golearn) on the CSV, checks the served scorer against\n" +
		"golearn on every holdout row, calibrates it and prints the model card as JSON.\n" +
		"The process needs GODEBUG=cgocheck=0 in its environment.\n\nFlags:\n")
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	return b.String()
}

func parseSep(s string) (rune, error) {
	if s == `\t` || s == "tab" {
		return '\t', nil
	}
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || n != len(s) || r == '"' || r == '\n' || r == '\r' {
		return 0, fmt.Errorf("train: --sep %q: want one character other than a quote or newline", s)
	}
	return r, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// writeArtifact writes through a temporary file and renames it, so that a
// failed run never leaves a truncated model where a good one was.
func writeArtifact(path string, write func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("train: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("train: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// progressBar draws one line per stage, redrawn in place with \r, so that a
// long fit shows it is alive without flooding a log.
type progressBar struct {
	w     io.Writer
	stage string
	pct   int
	start time.Time
}

func (p *progressBar) update(stage string, frac float64) {
	pct := int(frac * 100)
	if stage == p.stage && pct == p.pct {
		return
	}
	if stage != p.stage {
		p.finish()
		p.stage, p.start = stage, time.Now()
	}
	p.pct = pct
	const width = 30
	n := min(max(pct*width/100, 0), width)
	fmt.Fprintf(p.w, "\r%-10s [%s%s] %3d%% %5.1fs", stage, strings.Repeat("#", n), strings.Repeat(" ", width-n), pct,
		time.Since(p.start).Seconds())
}

func (p *progressBar) finish() {
	if p.stage != "" {
		fmt.Fprintln(p.w)
		p.stage = ""
	}
}
