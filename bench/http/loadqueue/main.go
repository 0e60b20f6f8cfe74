// Command loadqueue fills leadq's call queue straight through
// internal/queue (not over HTTP), for bench/http/run.sh:
//
//	loadqueue -prefix P -from 0 -n 10000      add leads bl-0 … bl-9999 to pool "default"
//	loadqueue -prefix P -count                 print how many leads pool "default" ranks
//	loadqueue -prefix P -clean -topics a,b    unlink every key under P and delete the Kafka topics
//	loadqueue -prefix P -claims rep-T- [-ids F] count the open claims of the reps rep-T-* and the distinct
//	                                           leads they hold (a lead handed out twice is two claims, one lead)
//
// Leads get a random calibrated probability and a trigger spread over the
// last three days (one in ten within the last 30 minutes, so every curve
// segment holds leads), and are upserted with Queue.UpsertBatch (1,000 per
// pipelined round trip) from a few goroutines.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"

	"github.com/leadq/leadq/internal/queue"
)

func main() {
	redisURL := flag.String("redis", os.Getenv("LEADQ_TEST_REDIS_URL"), "Redis URL")
	prefix := flag.String("prefix", "", "LEADQ_KEY_PREFIX of the leadq under test")
	pool := flag.String("pool", "default", "pool to fill")
	from := flag.Int("from", 0, "index of the first lead (ids are bl-<index>)")
	n := flag.Int("n", 10000, "leads to add")
	workers := flag.Int("workers", 4, "concurrent UpsertBatch calls")
	clean := flag.Bool("clean", false, "unlink every key under -prefix (and delete -topics) instead of loading")
	topics := flag.String("topics", "", "with -clean: Kafka topics to delete, comma-separated")
	brokers := flag.String("brokers", os.Getenv("LEADQ_TEST_KAFKA_BROKERS"), "with -clean: Kafka brokers")
	count := flag.Bool("count", false, "print how many leads -pool ranks (queued) and exit")
	claims := flag.String("claims", "", "print RESULT claims=<open claims of the reps whose sdr_id starts with this> distinct=<leads they are on> and exit")
	ids := flag.String("ids", "", "with -claims: append the claimed lead ids to this file")
	flag.Parse()
	if *prefix == "" || strings.ContainsAny(*prefix, "*?[") {
		log.Fatal("loadqueue: -prefix is required and must not contain glob characters")
	}
	opt, err := redis.ParseURL(*redisURL)
	if err != nil {
		log.Fatalf("loadqueue: redis url: %v", err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx := context.Background()

	if *clean {
		k, err := unlinkPrefix(ctx, rdb, *prefix)
		if err != nil {
			log.Fatalf("loadqueue: clean: %v", err)
		}
		fmt.Printf("unlinked %d keys under %s\n", k, *prefix)
		if *topics != "" {
			if err := deleteTopics(strings.Split(*brokers, ","), strings.Split(*topics, ",")); err != nil {
				log.Printf("loadqueue: deleting topics: %v", err)
			}
		}
		return
	}

	if *claims != "" {
		if strings.ContainsAny(*claims, "*?[]{}\\") {
			log.Fatal("loadqueue: -claims must not contain glob characters or braces")
		}
		n, distinct, err := countClaims(ctx, rdb, *prefix, *claims, *ids)
		if err != nil {
			log.Fatalf("loadqueue: claims: %v", err)
		}
		fmt.Printf("RESULT claims=%d distinct=%d\n", n, distinct)
		return
	}

	cfg := queue.DefaultConfig()
	cfg.Prefix = *prefix
	if *count {
		n, err := queuedCount(ctx, rdb, *prefix, *pool, len(cfg.Profile.Curve.Segments()))
		if err != nil {
			log.Fatalf("loadqueue: counting: %v", err)
		}
		fmt.Println(n)
		return
	}
	q, err := queue.New(rdb, cfg)
	if err != nil {
		log.Fatalf("loadqueue: %v", err)
	}
	start := time.Now()
	const chunk = 10000
	jobs := make(chan int)
	errc := make(chan error, *workers)
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(*from)))
			leads := make([]queue.Lead, 0, chunk)
			for lo := range jobs {
				now := time.Now()
				leads = leads[:0]
				for i := lo; i < min(lo+chunk, *from+*n); i++ {
					age := time.Duration(rng.Float64() * float64(72*time.Hour))
					if rng.IntN(10) == 0 {
						age = time.Duration(rng.Float64() * float64(30*time.Minute))
					}
					p := rng.Float64()
					p = 0.001 + 0.6*p*p // most leads are unlikely, a few are hot
					leads = append(leads, queue.Lead{ID: "bl-" + strconv.Itoa(i), Pool: *pool, P: p, TriggerAt: now.Add(-age)})
				}
				if err := q.UpsertBatch(ctx, leads, now); err != nil {
					errc <- err
					return
				}
			}
		}(uint64(w + 1))
	}
	go func() {
		defer close(jobs)
		for lo := *from; lo < *from+*n; lo += chunk {
			jobs <- lo
		}
	}()
	wg.Wait()
	select {
	case err := <-errc:
		log.Fatalf("loadqueue: %v", err)
	default:
	}
	took := time.Since(start)
	queued, err := queuedCount(ctx, rdb, *prefix, *pool, len(cfg.Profile.Curve.Segments()))
	if err != nil {
		log.Fatalf("loadqueue: counting: %v", err)
	}
	fmt.Printf("added %d leads in %.1fs (%.0f/s); pool %s now ranks %d queued leads\n",
		*n, took.Seconds(), float64(*n)/took.Seconds(), *pool, queued)
}

// queuedCount sums the pool's segment sorted sets (see internal/queue/doc.go).
func queuedCount(ctx context.Context, rdb *redis.Client, prefix, pool string, segs int) (int64, error) {
	p := rdb.Pipeline()
	cmds := make([]*redis.IntCmd, segs)
	for k := range cmds {
		cmds[k] = p.ZCard(ctx, prefix+"q:{"+pool+"}:z"+strconv.Itoa(k))
	}
	if _, err := p.Exec(ctx); err != nil {
		return 0, err
	}
	var n int64
	for _, c := range cmds {
		n += c.Val()
	}
	return n, nil
}

// countClaims reads the open-claim ledger (<prefix>q:r:{<rep>}:cl, a sorted
// set of claim ids "<pool>.<random>.<lead>") of every rep whose id starts
// with rep, and returns how many claims they hold and on how many distinct
// leads. It reads the state after the run, so unlike wrk's count it also sees
// the requests wrk left in flight when it stopped.
func countClaims(ctx context.Context, rdb *redis.Client, prefix, rep, idsPath string) (int, int, error) {
	var out *os.File
	if idsPath != "" {
		f, err := os.OpenFile(idsPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return 0, 0, err
		}
		defer f.Close()
		out = f
	}
	seen := map[string]struct{}{}
	n := 0
	var sb strings.Builder
	iter := rdb.Scan(ctx, 0, prefix+"q:r:{"+rep+"*}:cl", 5000).Iterator()
	var keys []string
	flush := func() error {
		if len(keys) == 0 {
			return nil
		}
		p := rdb.Pipeline()
		cmds := make([]*redis.StringSliceCmd, len(keys))
		for i, k := range keys {
			cmds[i] = p.ZRange(ctx, k, 0, -1)
		}
		if _, err := p.Exec(ctx); err != nil {
			return err
		}
		for _, c := range cmds {
			for _, id := range c.Val() {
				_, rest, ok1 := strings.Cut(id, ".")
				_, lead, ok2 := strings.Cut(rest, ".")
				if !ok1 || !ok2 {
					return fmt.Errorf("malformed claim id %q", id)
				}
				n++
				seen[lead] = struct{}{}
				sb.WriteString(lead)
				sb.WriteByte('\n')
			}
		}
		keys = keys[:0]
		return nil
	}
	for iter.Next(ctx) {
		if keys = append(keys, iter.Val()); len(keys) == 1000 {
			if err := flush(); err != nil {
				return 0, 0, err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return 0, 0, err
	}
	if err := flush(); err != nil {
		return 0, 0, err
	}
	if out != nil {
		if _, err := out.WriteString(sb.String()); err != nil {
			return 0, 0, err
		}
	}
	return n, len(seen), nil
}

// unlinkPrefix unlinks every key whose name starts with prefix.
func unlinkPrefix(ctx context.Context, rdb *redis.Client, prefix string) (int, error) {
	var cursor uint64
	n := 0
	for {
		keys, next, err := rdb.Scan(ctx, cursor, prefix+"*", 5000).Result()
		if err != nil {
			return n, err
		}
		if len(keys) > 0 {
			if err := rdb.Unlink(ctx, keys...).Err(); err != nil {
				return n, err
			}
			n += len(keys)
		}
		if cursor = next; cursor == 0 {
			return n, nil
		}
	}
}

func deleteTopics(brokers, topics []string) error {
	conn, err := kafka.Dial("tcp", brokers[0])
	if err != nil {
		return err
	}
	defer conn.Close()
	ctl, err := conn.Controller()
	if err != nil {
		return err
	}
	cc, err := kafka.Dial("tcp", net.JoinHostPort(ctl.Host, strconv.Itoa(ctl.Port)))
	if err != nil {
		return err
	}
	defer cc.Close()
	var errs []error
	for _, t := range topics { // one at a time: a missing topic must not keep the others
		if err := cc.DeleteTopics(t); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t, err))
		}
	}
	return errors.Join(errs...)
}
