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
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/features"
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
