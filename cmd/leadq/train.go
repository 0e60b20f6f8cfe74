package main

import (
	"cmp"
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

	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/config"
	"github.com/leadq/leadq/model"
	"github.com/leadq/leadq/training"
)

// runTrain is `leadq train`: it trains, parity-checks, calibrates and
// evaluates a model on a CSV of historical leads, reports progress on
// stderr and prints the model card as JSON on stdout.
func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return trainCommand(ctx, args, os.LookupEnv, stdout, stderr)
}

// trainCommand is runTrain with the environment passed in, so that tests
// can set LEADQ_REDIS_URL and LEADQ_KEY_PREFIX without touching the process.
func trainCommand(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("leadq train", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; --help becomes config.ErrHelp
	csvPath := fs.String("csv", "", "CSV `file` of historical leads with a header row (required)")
	target := fs.String("target", "", "label `column` (required)")
	positive := fs.String("positive", "", "comma-separated target `values` meaning converted (default: yes/true/1 positive, no/false/0 negative, anything else an error)")
	drop := fs.String("drop", "", "comma-separated `columns` to ignore, e.g. ones only known after the outcome")
	sep := fs.String("sep", ",", "field `separator`, one character (\\t for tab)")
	out := fs.String("out", "", "write the model artifact (JSON) to this `file`")
	testEvery := fs.Int("test-every", 5, "0-based row i is in the holdout when i % `N` == N-1")
	holdout := fs.String("holdout", training.HoldoutInterleave, "holdout `mode`: interleave (row i % N == N-1, for files whose rows drift with their order) or time (the last rows, the file taken as time-ordered)")
	kinds := fs.String("kinds", "logreg,forest", "comma-separated candidate `kinds` (logreg, forest); the higher validation AUC wins")
	calibration := fs.String("calibration", "auto", "`method`: platt, isotonic or auto (lower cross-validated log loss)")
	register := fs.Bool("register", false, "put the trained model and its card in the Redis model registry")
	promote := fs.Bool("promote", false, "with --register: make it the champion if its holdout AUC beats the champion's on the same holdout by --margin")
	margin := fs.Float64("margin", 0.005, "AUC a challenger must gain over the champion to be promoted")
	force := fs.Bool("force", false, "with --promote: promote without comparing")
	redisURL := fs.String("redis-url", "", "Redis `URL` of the registry (default $LEADQ_REDIS_URL)")
	prefix := fs.String("key-prefix", "", "prefix of the registry's Redis keys (default $LEADQ_KEY_PREFIX or lq:)")
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
	case *promote && !*register:
		return errors.New("train: --promote needs --register")
	case *force && !*promote:
		return errors.New("train: --force needs --promote")
	}
	sepRune, err := parseSep(*sep)
	if err != nil {
		return err
	}
	var reg *model.Registry
	if *register {
		// Connect before a long fit, so that a wrong URL fails at once.
		rdb, err := registryClient(ctx, *redisURL, lookup)
		if err != nil {
			return err
		}
		defer rdb.Close()
		reg = model.NewRegistry(rdb, cmp.Or(*prefix, envOr(lookup, "key-prefix", "lq:")))
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
	if *promote {
		// Refuse before the fit a model no replica could serve.
		spec := features.DefaultSpec()
		if model.NewBinding(spec.NumNames(), spec.CatNames(), ds.Schema).Bound() == 0 {
			return fmt.Errorf("train: --promote: none of the CSV's columns is a feature of spec %s (e.g. %s), so no replica could serve the model; use --register alone",
				spec.Version, model.PriorSourceColumn)
		}
	}
	bar := &progressBar{w: stderr}
	opts := training.Options{TestEvery: *testEvery, Calibration: *calibration, Source: "csv:" + *csvPath,
		Holdout: *holdout, Kinds: splitList(*kinds)}
	a, card, err := training.Train(ctx, ds, opts, bar.update)
	bar.finish()
	if err != nil {
		return err
	}
	if *out != "" {
		if err := writeArtifact(*out, a.WriteJSON); err != nil {
			return err
		}
	}
	for _, c := range card.Candidates {
		mark := " "
		if c.Chosen {
			mark = "*"
		}
		fmt.Fprintf(stderr, "%s candidate %-7s %-32s validation AUC %.4f, log loss %.4f, %.1fs\n",
			mark, c.Kind, candidateParams(c), c.AUC, c.LogLoss, c.Seconds)
	}
	fmt.Fprintf(stderr, "chosen: %s (higher validation AUC)\n", card.Kind)
	m := card.Metrics
	fmt.Fprintf(stderr, "%s: AUC %.4f, log loss %.4f, ECE %.4f, top-decile lift %.2f on %d holdout rows; parity %d/%d; %.1fs\n",
		card.Version, m.AUC, m.LogLoss, m.ECE, m.TopDecile.Lift, m.N, card.Parity.Agree, card.Parity.Rows, card.TrainingSeconds)
	if *out != "" {
		fmt.Fprintf(stderr, "model written to %s\n", *out)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(card); err != nil {
		return err
	}
	if reg == nil {
		return nil
	}
	// After the card: a refused promotion still leaves its numbers printed.
	return registerModel(ctx, reg, ds, opts, a, card, *promote, *force, *margin, stderr)
}

// registryClient connects to the registry's Redis: --redis-url, else
// LEADQ_REDIS_URL. There is no embedded default: a registry that vanishes
// when the command exits would register nothing.
func registryClient(ctx context.Context, flagURL string, lookup func(string) (string, bool)) (*redis.Client, error) {
	u := cmp.Or(flagURL, envOr(lookup, "redis-url", ""))
	if u == "" {
		return nil, fmt.Errorf("train: --register needs --redis-url or %s", config.EnvName("redis-url"))
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		return nil, fmt.Errorf("train: redis URL: %w", err)
	}
	rdb := redis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("train: redis at %s: %w", opt.Addr, err)
	}
	return rdb, nil
}

func envOr(lookup func(string) (string, bool), flagName, def string) string {
	if v, ok := lookup(config.EnvName(flagName)); ok && v != "" {
		return v
	}
	return def
}

// registerModel registers the trained model and, when asked, promotes it.
func registerModel(ctx context.Context, reg *model.Registry, ds *training.Dataset, opts training.Options,
	a *model.Artifact, card *model.Card, promote, force bool, margin float64, stderr io.Writer) error {
	if err := reg.Register(ctx, a, card); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	fmt.Fprintf(stderr, "registered %s\n", a.Version)
	if !promote {
		return nil
	}
	if force {
		if err := reg.ForcePromote(ctx, a.Version); err != nil {
			return fmt.Errorf("train: %w", err)
		}
		fmt.Fprintf(stderr, "promoted %s (forced)\n", a.Version)
		return nil
	}
	d, err := training.PromoteIfBetter(ctx, reg, ds, opts, card, margin)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if !d.Promoted {
		return fmt.Errorf("train: %s registered but not promoted: %s (--force promotes anyway)", a.Version, d.Reason)
	}
	if d.Champion != "" {
		fmt.Fprintf(stderr, "promoted %s: AUC %.4f beats %s's %.4f on the same holdout by more than %.4f\n",
			a.Version, card.Metrics.AUC, d.Champion, d.ChampionAUC, margin)
	} else {
		fmt.Fprintf(stderr, "promoted %s: the first champion\n", a.Version)
	}
	return nil
}

// candidateParams describes one candidate's hyper-parameters in a few words.
func candidateParams(c model.Candidate) string {
	if c.Kind == model.KindForest {
		return fmt.Sprintf("trees=%d features=%d rows=%d", c.Trees, c.TreeFeatures, c.Rows)
	}
	return fmt.Sprintf("C=%g bins=%d", c.C, c.Bins)
}

func trainUsage(fs *flag.FlagSet) string {
	var b strings.Builder
	b.WriteString("Usage: leadq train --csv FILE --target COL [flags]\n\n" +
		"Trains logistic regression and a random forest (golearn) on the CSV, keeps the one\n" +
		"with the higher validation AUC, checks the served scorer against golearn on every\n" +
		"holdout row, calibrates it and prints the model card as JSON.\n" +
		"--register stores it in the Redis model registry; --promote makes it the champion\n" +
		"every replica serves if it beats the current one on the same holdout.\n" +
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
