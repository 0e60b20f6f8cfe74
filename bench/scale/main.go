// Command scale checks the two scale bars of DESIGN.md against real Redis
// (the server scripts/testenv.sh starts):
//
//  1. retrain on 100,000 labelled rows ≤ 30 s: synthetic leads (events folded
//     through the feature spec, a known logistic ground truth) are written as
//     point-in-time rows through training.Snapshots (RecordVector + Label),
//     then Trainer.RetrainNow reads, fits, calibrates, evaluates, registers
//     and promotes;
//  2. rescore 1,000,000 active leads ≤ 20 s: leads are applied to the
//     feature store (Store.ApplyChanges: a creation and a form submission
//     each), placed in the queue by the consumer's path (Ranker.Rerank), the
//     trained model is swapped in (Registry.Sync), and Ranker.RescoreAll is
//     timed: page through each pool's active leads (queue.Active) + HGETALL +
//     extract + score + batched queue.Rescore, three pages in flight.
//
// Everything lives under a unique key prefix that is UNLINKed at the end.
// It prints a Markdown table with the bars, and for the rescore where the
// time went (Go CPU, Redis CPU, Redis per-command time). -cpuprofile writes a
// CPU profile of the RescoreAll phase for `go tool pprof -top`.
//
//	GODEBUG=cgocheck=0 go run ./bench/scale [-rows 100000] [-leads 1000000]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/queue"
	"github.com/leadq/leadq/internal/rank"
	"github.com/leadq/leadq/internal/route"
	"github.com/leadq/leadq/model"
	"github.com/leadq/leadq/training"
)

type config struct {
	rows, leads, workers int
	seed                 uint64
	cold, keep, reuse    bool
	breakdown            bool
	cpuProfile, memProf  string
	prefix               string
}

func main() {
	var c config
	flag.IntVar(&c.rows, "rows", 100_000, "labelled training rows (bar: retrain ≤ 30 s at 100,000)")
	flag.IntVar(&c.leads, "leads", 1_000_000, "active leads to rescore (bar: ≤ 20 s at 1,000,000); 0 skips the rescore")
	flag.IntVar(&c.workers, "workers", 8, "concurrent writers while loading (setup only; the timed phases run as the service runs them)")
	flag.Uint64Var(&c.seed, "seed", 1, "random seed of the synthetic leads")
	flag.BoolVar(&c.cold, "cold", false, "skip the initial placement: RescoreAll then places every lead for the first time")
	flag.BoolVar(&c.keep, "keep", false, "keep the keys (default: UNLINK everything under the prefix)")
	flag.BoolVar(&c.reuse, "reuse", false, "with -prefix: if the prefix already holds the leads (a run with -keep), skip loading and placing them; implies -keep. Rescoring leads already rescored by another -seed's model is an iteration aid, not the bar's measure")
	flag.BoolVar(&c.breakdown, "breakdown", true, "after the rescore, time the earlier unbatched path on a sample")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the RescoreAll phase to this file")
	flag.StringVar(&c.memProf, "memprofile", "", "write a heap profile (see -sample_index=alloc_space) after the RescoreAll phase to this file")
	flag.StringVar(&c.prefix, "prefix", "", "key prefix (default bench:scale:<unique>:)")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "bench/scale:", err)
		os.Exit(1)
	}
}

type bench struct {
	config
	rdb   *redis.Client
	spec  *features.Spec
	table []line
	notes []string
	start time.Time
	up0   string
}

type line struct{ measure, value, load, bar string }

func run(c config) error {
	url := os.Getenv("LEADQ_TEST_REDIS_URL")
	if url == "" {
		return errors.New("LEADQ_TEST_REDIS_URL is not set (scripts/testenv.sh up; . .testenv/env)")
	}
	if c.rows < 1000 && c.rows != 0 {
		return errors.New("-rows must be 0 or at least 1000 (the trainer's minimum)")
	}
	if c.reuse && c.prefix == "" {
		return errors.New("-reuse needs the -prefix of a run made with -keep")
	}
	c.keep = c.keep || c.reuse
	if c.prefix == "" {
		c.prefix = "bench:scale:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		return err
	}
	opt.PoolSize = max(opt.PoolSize, c.workers+8)
	b := &bench{config: c, rdb: redis.NewClient(opt), spec: features.DefaultSpec(), start: time.Now(), up0: uptime()}
	defer b.rdb.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := b.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis %s: %w", url, err)
	}
	progress("prefix %s, uptime: %s", c.prefix, uptime())
	if !c.keep {
		defer b.cleanup()
	}

	var version string
	if c.rows > 0 {
		if version, err = b.retrain(ctx); err != nil {
			return err
		}
	}
	if c.leads > 0 {
		if err := b.rescore(ctx, version); err != nil {
			return err
		}
	}
	if !c.keep {
		b.cleanup()
		b.keep = true // the deferred cleanup has nothing left to do
	}
	b.print()
	return nil
}

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

// ---------------------------------------------------------------- rescore

func (b *bench) rescore(ctx context.Context, version string) error {
	store := features.NewStore(b.rdb, b.prefix, b.spec)
	if err := store.Load(ctx); err != nil {
		return err
	}
	qcfg := queue.DefaultConfig()
	qcfg.Prefix = b.prefix
	q, err := queue.New(b.rdb, qcfg)
	if err != nil {
		return err
	}
	router, err := route.Parse("na=region:na;emea=region:emea;apac=region:apac", "row")
	if err != nil {
		return err
	}
	live := model.NewLive(b.spec)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ranker := rank.New(b.rdb, store, live, q, router, log)
	pl := &placer{store: store, live: live, q: q, router: router, catIdx: map[string]int{}}
	for i, n := range b.spec.CatNames() {
		pl.catIdx[n] = i
	}

	const chunk = scaleChunk
	nChunks := (b.leads + chunk - 1) / chunk
	now := time.Now()
	if b.reuse && b.rdb.Exists(ctx, store.Key(leadID(b.leads-1))).Val() == 1 {
		progress("reusing the %d leads under %s", b.leads, b.prefix)
	} else if err := b.load(ctx, store, ranker, pl, now); err != nil {
		return err
	}
	b.add("Redis memory (whole server, other users' keys included) with the leads loaded", redisInfo(ctx, b.rdb, "memory")["used_memory_human"], "", "—")

	// Promote: the trained champion (or, without -rows, a model trained
	// here in memory) is swapped in as every replica's watcher would.
	reg := model.NewRegistry(b.rdb, b.prefix)
	if version == "" {
		if err := b.memoryModel(ctx, reg); err != nil {
			return err
		}
	}
	if _, err := reg.Sync(ctx, live); err != nil {
		return err
	}
	if live.Version() == model.PriorVersion {
		return errors.New("the champion was not swapped in")
	}

	// The timed rescore, with the Go process's and Redis's CPU around it.
	runtime.GC()
	var prof *os.File
	if b.cpuProfile != "" {
		if prof, err = os.Create(b.cpuProfile); err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(prof); err != nil {
			return err
		}
	}
	dbsize, _ := b.rdb.DBSize(ctx).Result()
	l0 := loadavg()
	cs0, cpu0, ru0 := redisInfo(ctx, b.rdb, "commandstats"), redisInfo(ctx, b.rdb, "cpu"), rusage()
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	progress("rescoring with model %s", live.Version())
	rnow := time.Now()
	t2 := time.Now()
	n, err := ranker.RescoreAll(ctx, rnow)
	wall := time.Since(t2)
	ru1 := rusage()
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	if prof != nil {
		pprof.StopCPUProfile()
		prof.Close()
	}
	if b.memProf != "" {
		if f, err := os.Create(b.memProf); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	cs1, cpu1 := redisInfo(ctx, b.rdb, "commandstats"), redisInfo(ctx, b.rdb, "cpu")
	if err != nil {
		return err
	}
	progress("RescoreAll: %d leads in %v", n, wall.Round(time.Millisecond))
	b.add(fmt.Sprintf("**rescore all active leads after a promotion**: Ranker.RescoreAll, %s leads, model %s", num(n), live.Version()),
		fmt.Sprintf("**%s** (%s leads/s)", secs(wall), num(int(float64(n)/wall.Seconds()))), l0,
		fmt.Sprintf("≤ 20 s at 1,000,000 → %s", verdict(n >= 1_000_000 && wall <= 20*time.Second)))
	if n < 1_000_000 {
		b.notes = append(b.notes, fmt.Sprintf("the rescore ran on %s leads, fewer than the bar's 1,000,000: extrapolated %.1f s", num(n), wall.Seconds()*1e6/float64(n)))
	}

	// Where the time went.
	goCPU := ru1 - ru0
	rCPU := atof(cpu1["used_cpu_user"]) + atof(cpu1["used_cpu_sys"]) - atof(cpu0["used_cpu_user"]) - atof(cpu0["used_cpu_sys"])
	b.add("  Go process CPU (user+sys) during the rescore", fmt.Sprintf("%.1f s; %.0f MB allocated, %d GCs", goCPU,
		float64(ms1.TotalAlloc-ms0.TotalAlloc)/1e6, ms1.NumGC-ms0.NumGC), "", "—")
	b.add("  Redis server CPU (INFO cpu, user+sys; other clients' load included) during the rescore",
		fmt.Sprintf("%.1f s (%.1f µs per lead)", rCPU, rCPU*1e6/float64(max(n, 1))), "", "—")
	for _, c := range []struct{ cmd, what string }{
		{"evalsha", "queue upsert script (Lua)"}, {"hgetall", "lead hash reads"},
		{"scan", "key scan"}, {"hset", "HSET (pool moves; also counted inside scripts)"},
		{"hmget", "HMGET (inside the upsert script)"}, {"zadd", "ZADD (inside the upsert script)"},
	} {
		calls, usec := cmdDelta(cs0, cs1, c.cmd)
		if calls == 0 {
			continue
		}
		b.add(fmt.Sprintf("  Redis time in %s, %s (INFO commandstats, whole server: other clients' calls included)", strings.ToUpper(c.cmd), c.what),
			fmt.Sprintf("%.1f s (%s calls, %.1f µs each)", float64(usec)/1e6, num(int(calls)), float64(usec)/float64(calls)), "", "—")
	}
	b.add("  wall − Go CPU − Redis CPU (> 0: waiting on round trips or for a CPU; < 0: Go and Redis overlapped)",
		fmt.Sprintf("%.1f s", wall.Seconds()-goCPU-rCPU), "", "—")

	// Spot check: the queue holds the new model's probability, computed
	// from the lead's stored state at the rescore's time.
	r := rand.New(rand.NewPCG(b.seed, 0))
	match := 0
	const samples = 200
	for range samples {
		id := leadID(r.IntN(b.leads))
		st, err := store.Get(ctx, id)
		if err != nil {
			return err
		}
		want, _ := live.Score(st, rnow)
		qs, err := q.Get(ctx, st["_pool"], id, rnow)
		if err == nil && (qs.P == want || want < 1e-6 && qs.P <= 1e-6) {
			match++
		}
	}
	if match != samples {
		return fmt.Errorf("spot check: %d of %d sampled leads hold the new model's score in the queue", match, samples)
	}
	b.notes = append(b.notes, fmt.Sprintf("spot check: %d of %d sampled leads hold the new model's probability in the queue", match, samples))

	if !b.breakdown {
		return nil
	}
	// Breakdown, for comparison: the earlier, unbatched path (per-lead
	// UpsertBatch, keyspace SCAN) timed step by step on a sample.
	l0 = loadavg()
	bd := min(nChunks, 50)
	var steps stepTimes
	cs0 = redisInfo(ctx, b.rdb, "commandstats")
	for c := range bd {
		st, err := b.placeSteps(ctx, pl, chunkIDs(c, chunk, b.leads), rnow, false)
		if err != nil {
			return err
		}
		steps.add(st)
	}
	cs1 = redisInfo(ctx, b.rdb, "commandstats")
	nb := min(b.leads, bd*chunk)
	per := func(d time.Duration) string {
		us := float64(d.Microseconds()) / float64(nb)
		return fmt.Sprintf("%.1f µs/lead → %.1f s per 1,000,000", us, us)
	}
	b.add(fmt.Sprintf("  earlier unbatched path, on %s leads, batches of 1000 in sequence: pipelined HGETALL (round trip + Redis + decode)", num(nb)), per(steps.read), l0, "—")
	b.add("  earlier path: Go extract + score + route (Spec.Extract, Live.ScoreVector)", per(steps.score), "", "—")
	calls, usec := cmdDelta(cs0, cs1, "evalsha")
	b.add("  earlier path: queue UpsertBatch (pipelined EVALSHA of the upsert script; RescoreAll now uses the batched rescore script)", fmt.Sprintf("%s; Redis-side %.1f µs per EVALSHA", per(steps.upsert), float64(usec)/float64(max(calls, 1))), "", "—")
	scanT, scanCalls, found, err := b.scanPass(ctx, store)
	if err != nil {
		return err
	}
	b.add("  earlier path: a keyspace SCAN MATCH <prefix>lead:{*} COUNT 5000 alone (RescoreAll now pages through queue.Active)",
		fmt.Sprintf("%.1f s, %s calls over a keyspace of %s keys, %s matches", scanT.Seconds(), num(scanCalls), num(int(dbsize)), num(found)), "", "—")
	return nil
}

// memoryModel trains a model on 20,000 synthetic rows in memory and
// registers and force-promotes it, for runs without the retrain (-rows 0).
func (b *bench) memoryModel(ctx context.Context, reg *model.Registry) error {
	const n = 20_000
	r := rand.New(rand.NewPCG(b.seed, 1))
	ds := &training.Dataset{Schema: model.Schema{Num: b.spec.NumNames(), Cat: b.spec.CatNames()}}
	ds.Num, ds.Cat = make([][]float64, len(ds.Schema.Num)), make([][]string, len(ds.Schema.Cat))
	num, cat := make([]float64, len(ds.Schema.Num)), make([]string, len(ds.Schema.Cat))
	at := time.Now()
	for i := range n {
		evs, p := richLead(r, "m"+strconv.Itoa(i), at)
		var applied []features.Applied
		for k, e := range evs {
			applied = append(applied, features.Applied{Event: e, Offset: int64(k)})
		}
		st := features.State{}
		b.spec.FoldApplied(st, applied)
		b.spec.Extract(st, at, num, cat)
		for j := range num {
			ds.Num[j] = append(ds.Num[j], num[j])
		}
		for j := range cat {
			ds.Cat[j] = append(ds.Cat[j], cat[j])
		}
		ds.Label = append(ds.Label, r.Float64() < p)
	}
	a, card, err := training.Train(ctx, ds, training.Options{SpecVersion: b.spec.Version}, nil)
	if err != nil {
		return err
	}
	if err := reg.Register(ctx, a, card); err != nil {
		return err
	}
	return reg.ForcePromote(ctx, a.Version)
}

func leadID(i int) string { return fmt.Sprintf("L%07d", i) }

// ---------------------------------------------------------------- helpers

// parallel calls f(0..n-1) from w goroutines and returns the first error.
func parallel(ctx context.Context, w, n int, f func(int) error) error {
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range max(w, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// cleanup UNLINKs every key under the prefix, in batches.
func (b *bench) cleanup() {
	if b.keep {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	n := 0
	iter := b.rdb.Scan(ctx, 0, b.prefix+"*", 10000).Iterator()
	keys := make([]string, 0, 2000)
	flush := func() {
		if len(keys) == 0 {
			return
		}
		if err := b.rdb.Unlink(ctx, keys...).Err(); err != nil {
			fmt.Fprintln(os.Stderr, "bench/scale: cleanup:", err)
		}
		n += len(keys)
		keys = keys[:0]
	}
	for iter.Next(ctx) {
		if keys = append(keys, iter.Val()); len(keys) == cap(keys) {
			flush()
		}
	}
	flush()
	if err := iter.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/scale: cleanup scan:", err)
	}
	progress("cleanup: unlinked %d keys under %s in %v", n, b.prefix, time.Since(t0).Round(time.Millisecond))
	b.add("cleanup: SCAN + UNLINK every key under the run's prefix", fmt.Sprintf("%s keys, %.1f s", num(n), time.Since(t0).Seconds()), "", "—")
	b.keep = true
}

func (b *bench) add(measure, value, load, bar string) {
	b.table = append(b.table, line{measure, value, load, bar})
}

func (b *bench) print() {
	info := redisInfo(context.Background(), b.rdb, "server")
	fmt.Printf("Scale bars (DESIGN.md), real Redis %s, %d cores (%s), %s, %s training rows, %s leads; took %.0f s\n\nuptime at the start: %s\n\n",
		info["redis_version"], runtime.NumCPU(), cpuModel(), runtime.Version(), num(b.rows), num(b.leads), time.Since(b.start).Seconds(), b.up0)
	fmt.Println("| measure | value | load avg 1/5/15 at start | bar |")
	fmt.Println("|---|---|---|---|")
	for _, l := range b.table {
		fmt.Printf("| %s | %s | %s | %s |\n", l.measure, l.value, l.load, l.bar)
	}
	fmt.Printf("\nuptime at the end: %s\n", uptime())
	for _, n := range b.notes {
		fmt.Printf("\n- %s", n)
	}
	if len(b.notes) > 0 {
		fmt.Println()
	}
}

func redisInfo(ctx context.Context, rdb *redis.Client, section string) map[string]string {
	out := map[string]string{}
	s, err := rdb.Info(ctx, section).Result()
	if err != nil {
		return out
	}
	for _, l := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), ":"); ok {
			out[k] = v
		}
	}
	return out
}

// cmdDelta returns the calls and microseconds a command gained between two
// INFO commandstats readings.
func cmdDelta(a, b map[string]string, cmd string) (calls, usec int64) {
	parse := func(m map[string]string) (int64, int64) {
		var c, u int64
		for _, kv := range strings.Split(m["cmdstat_"+cmd], ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "calls":
				c, _ = strconv.ParseInt(v, 10, 64)
			case "usec":
				u, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		return c, u
	}
	c0, u0 := parse(a)
	c1, u1 := parse(b)
	return c1 - c0, u1 - u0
}

// rusage is the process's user+sys CPU seconds so far.
func rusage() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func uptime() string {
	b, err := os.ReadFile("/proc/uptime")
	up := "?"
	if err == nil {
		if s, err := strconv.ParseFloat(strings.Fields(string(b))[0], 64); err == nil {
			up = (time.Duration(s) * time.Second).String()
		}
	}
	return "up " + up + ", load average: " + loadavg()
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s scale: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func atof(s string) float64 { f, _ := strconv.ParseFloat(s, 64); return f }

// num formats n with thousands separators.
func num(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + num(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**NOT met**"
}

// scaleChunk is the batch size of the load, the consumer's batch shape.
const scaleChunk = 1000

// load applies b.leads synthetic leads to the feature store and, unless
// -cold, places them in the queue as the consumer would have.
func (b *bench) load(ctx context.Context, store *features.Store, ranker *rank.Ranker, pl *placer, now time.Time) error {
	nChunks := (b.leads + scaleChunk - 1) / scaleChunk
	const chunk = scaleChunk
	// Load: a creation with firmographics and a form submission per lead
	// (the trigger, within the last 14 days: every lead is active), in
	// batches of 1000 leads, the consumer's batch shape.
	changes := make([][]features.Change, nChunks)
	l0 := loadavg()
	t0 := time.Now()
	err := parallel(ctx, b.workers, nChunks, func(c int) error {
		r := rand.New(rand.NewPCG(b.seed, uint64(c)+2))
		lo, hi := c*chunk, min((c+1)*chunk, b.leads)
		batch := make([]features.Applied, 0, 2*(hi-lo))
		for i := lo; i < hi; i++ {
			trig := now.Add(-time.Duration(r.Float64() * float64(14*24*time.Hour)))
			for k, e := range thinLead(r, leadID(i), trig) {
				batch = append(batch, features.Applied{Event: e, Partition: i % 4, Offset: int64(2*i + k)})
			}
		}
		ch, err := store.ApplyChanges(ctx, batch, nil)
		changes[c] = ch
		return err
	})
	if err != nil {
		return err
	}
	load := time.Since(t0)
	progress("applied %d leads in %v", b.leads, load.Round(time.Millisecond))
	b.add(fmt.Sprintf("setup: load %s leads into the feature store (Store.ApplyChanges, 2 events each, batches of 1000, %d writers)", num(b.leads), b.workers),
		fmt.Sprintf("%.1f s (%s events/s)", load.Seconds(), num(int(float64(2*b.leads)/load.Seconds()))), l0, "—")

	if !b.cold {
		// Place every lead as the consumer would have after applying it
		// (scored by the prior, served until the first promotion). The
		// consumer's own path, Ranker.Rerank, is timed on the first
		// batches; it writes each new lead's pool with its own round trip,
		// so the rest is placed by the same steps, pipelined (placeChunk).
		consumerChunks := min(nChunks, 20)
		l0 = loadavg()
		t1 := time.Now()
		err = parallel(ctx, b.workers, consumerChunks, func(c int) error { return ranker.Rerank(ctx, changes[c], now) })
		if err != nil {
			return err
		}
		cons := time.Since(t1)
		nCons := min(b.leads, consumerChunks*chunk)
		b.add(fmt.Sprintf("setup: place the first %s leads in the queue by the consumer's path (Ranker.Rerank per batch of 1000, prior model, %d workers)", num(nCons), b.workers),
			fmt.Sprintf("%.1f s (%s leads/s)", cons.Seconds(), num(int(float64(nCons)/cons.Seconds()))), l0, "—")
		l0 = loadavg()
		t2 := time.Now()
		err = parallel(ctx, b.workers, nChunks-consumerChunks, func(c int) error {
			_, err := b.placeChunk(ctx, pl, chunkIDs(c+consumerChunks, chunk, b.leads), now)
			return err
		})
		if err != nil {
			return err
		}
		place := time.Since(t2)
		progress("placed %d leads in %v + %v", b.leads, cons.Round(time.Millisecond), place.Round(time.Millisecond))
		if n := b.leads - nCons; n > 0 {
			b.add(fmt.Sprintf("setup: place the other %s by the same steps, pipelined (HGETALL, extract, score, HSET _pool, UpsertBatch; %d workers)", num(n), b.workers),
				fmt.Sprintf("%.1f s (%s leads/s)", place.Seconds(), num(int(float64(n)/place.Seconds()))), l0, "—")
		}
	}
	return nil
}
