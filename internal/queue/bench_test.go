package queue

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkNext measures one pull (Next) against real Redis with n queued
// leads whose triggers span seconds to three weeks. After each pull a new
// lead arrives (Upsert), so the queue keeps its size and pulls take a mix of
// fresh and old leads; time runs with the wall clock, so segment crossings are
// migrated at their natural rate. ns/pull and p99-ns/pull time the pull alone
// (one Lua script call); ns/op includes the arrival.
// The 1,000,000 case runs only with LEADQ_BENCH_LARGE=1.
func BenchmarkNext(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if os.Getenv("LEADQ_BENCH_LARGE") == "1" {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("leads=%d", n), func(b *testing.B) {
			q, _ := newQueue(b, func(c *Config) { c.RepCap = 1 << 20 })
			ctx := context.Background()
			b.Cleanup(func() { unlinkPrefix(b, q) }) // runs before testenv's slower cleanup
			base := time.Now()
			r := rand.New(rand.NewPCG(uint64(n), 7))
			leads := make([]Lead, n)
			for i := range leads {
				leads[i] = Lead{ID: leadID(i), Pool: "bench", P: logUniform(r, 1e-3, 1),
					TriggerAt: base.Add(-time.Duration(logUniform(r, 1, 21*86400) * 1e9))}
			}
			start := time.Now()
			if err := q.UpsertBatch(ctx, leads, base); err != nil {
				b.Fatal(err)
			}
			b.Logf("loaded %d leads in %s", n, time.Since(start).Round(time.Millisecond))
			pools := []string{"bench"}
			var pulls []time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				t := time.Now()
				if _, err := q.Next(ctx, "rep", pools, t); err != nil {
					b.Fatal(err)
				}
				pulls = append(pulls, time.Since(t))
				l := Lead{ID: fmt.Sprint("new-", i), Pool: "bench", P: logUniform(r, 1e-3, 1), TriggerAt: t}
				if _, err := q.Upsert(ctx, l, t); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			slices.Sort(pulls)
			var sum time.Duration
			for _, d := range pulls {
				sum += d
			}
			b.ReportMetric(float64(sum.Nanoseconds())/float64(len(pulls)), "ns/pull")
			b.ReportMetric(float64(pulls[len(pulls)*99/100].Nanoseconds()), "p99-ns/pull")
		})
	}
}

// unlinkPrefix deletes the benchmark's keys with pipelined UNLINKs.
func unlinkPrefix(tb testing.TB, q *Queue) {
	ctx := context.Background()
	iter := q.rdb.Scan(ctx, 0, q.cfg.Prefix+"*", 10000).Iterator()
	pipe := q.rdb.Pipeline()
	for iter.Next(ctx) {
		pipe.Unlink(ctx, iter.Val())
		if pipe.Len() >= 10000 {
			_, _ = pipe.Exec(ctx)
		}
	}
	_, _ = pipe.Exec(ctx)
}

// BenchmarkRescore measures re-scoring queued leads whose p changed, 1000
// leads per op, in a pool of 200,000 queued leads: through Rescore (two
// script calls) and, for comparison, through UpsertBatch (one script call
// per lead). redis-µs/lead is the server's own time in EVALSHA per lead (INFO
// commandstats, so other clients of the test Redis are counted too).
func BenchmarkRescore(b *testing.B) {
	for _, path := range []string{"Rescore", "UpsertBatch"} {
		b.Run("path="+path, func(b *testing.B) { benchRescore(b, path == "Rescore") })
	}
}

func benchRescore(b *testing.B, batched bool) {
	const n, batch = 200_000, 1000
	q, _ := newQueue(b, nil)
	ctx := context.Background()
	b.Cleanup(func() { unlinkPrefix(b, q) })
	now := time.Now()
	r := rand.New(rand.NewPCG(1, 8))
	leads := make([]Lead, n)
	for i := range leads {
		leads[i] = Lead{ID: leadID(i), Pool: "bench", P: logUniform(r, 1e-3, 1), Source: "web", Timezone: "Europe/Berlin",
			TriggerAt: now.Add(-time.Duration(logUniform(r, 1, 14*86400) * 1e9))}
	}
	if err := q.UpsertBatch(ctx, leads, now); err != nil {
		b.Fatal(err)
	}
	u0 := evalshaUsec(b, q)
	b.ReportAllocs()
	b.ResetTimer()
	done := 0
	for i := 0; b.Loop(); i++ {
		part := leads[(i*batch)%n : (i*batch)%n+batch]
		for j := range part {
			part[j].P = logUniform(r, 1e-3, 1)
		}
		var err error
		if batched {
			err = q.Rescore(ctx, part, now)
		} else {
			err = q.UpsertBatch(ctx, part, now)
		}
		if err != nil {
			b.Fatal(err)
		}
		done += batch
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(done), "ns/lead")
	b.ReportMetric(float64(evalshaUsec(b, q)-u0)/float64(done), "redis-µs/lead")
}

// evalshaUsec is the server's total time in EVALSHA so far, in µs.
func evalshaUsec(tb testing.TB, q *Queue) int64 {
	tb.Helper()
	s, err := q.rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		tb.Fatal(err)
	}
	_, st, _ := strings.Cut(s, "cmdstat_evalsha:")
	st, _, _ = strings.Cut(st, "\r\n")
	for _, kv := range strings.Split(st, ",") {
		if v, ok := strings.CutPrefix(kv, "usec="); ok {
			u, _ := strconv.ParseInt(v, 10, 64)
			return u
		}
	}
	return 0
}

// BenchmarkNextRedis measures what one pull costs Redis itself: the
// server's time inside EVALSHA per pull (INFO commandstats), pulls only, on
// a queue of 100,000 leads far larger than the pulls. Run it against a
// Redis of its own (LEADQ_TEST_REDIS_URL): other clients would be counted.
func BenchmarkNextRedis(b *testing.B) {
	const n = 100_000
	q, _ := newQueue(b, func(c *Config) { c.RepCap = 1 << 20 })
	ctx := context.Background()
	b.Cleanup(func() { unlinkPrefix(b, q) })
	base := time.Now()
	r := rand.New(rand.NewPCG(n, 9))
	leads := make([]Lead, n)
	for i := range leads {
		leads[i] = Lead{ID: leadID(i), Pool: "bench", P: logUniform(r, 1e-3, 1),
			TriggerAt: base.Add(-time.Duration(logUniform(r, 1, 21*86400) * 1e9))}
	}
	if err := q.UpsertBatch(ctx, leads, base); err != nil {
		b.Fatal(err)
	}
	pools := []string{"bench"}
	u0, pulls := evalshaUsec(b, q), 0
	b.ResetTimer()
	for b.Loop() {
		if pulls == n/2 {
			b.Fatal("the queue ran low: use a smaller -benchtime")
		}
		if _, err := q.Next(ctx, "rep", pools, time.Now()); err != nil {
			b.Fatal(err)
		}
		pulls++
	}
	b.StopTimer()
	b.ReportMetric(float64(evalshaUsec(b, q)-u0)/float64(pulls), "redis-µs/pull")
}
