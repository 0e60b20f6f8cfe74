// Command ingest benchmarks the streaming feature pipeline against real Kafka
// and real Redis (the servers scripts/testenv.sh starts):
//
//  1. limit: the feature store's pipelined Lua apply with no Kafka in the way,
//     the physical ceiling of the same Redis for the same update script;
//  2. throughput: one consumer draining a pre-filled topic, events/s;
//  3. latency: events offered at a fixed rate, event-to-feature p50/p99
//     (from the producer's timestamp to the commit after applying).
//
// It prints a Markdown table for BENCHMARKS.md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/backend"
	"github.com/leadq/leadq/internal/queue"
	"github.com/leadq/leadq/internal/rank"
	"github.com/leadq/leadq/internal/route"
	"github.com/leadq/leadq/model"
)

func main() {
	events := flag.Int("events", 300000, "events for the limit and throughput runs")
	leads := flag.Int("leads", 50000, "distinct leads")
	rate := flag.Int("rate", 5000, "offered events/s in the latency run")
	dur := flag.Duration("duration", 10*time.Second, "length of the latency run")
	partitions := flag.Int("partitions", 4, "partitions of the benchmark topics")
	batch := flag.Int("batch", 2000, "consumer batch size")
	flag.Parse()
	redisURL, brokers := os.Getenv("LEADQ_TEST_REDIS_URL"), os.Getenv("LEADQ_TEST_KAFKA_BROKERS")
	if redisURL == "" || brokers == "" {
		fail("LEADQ_TEST_REDIS_URL and LEADQ_TEST_KAFKA_BROKERS must be set (scripts/testenv.sh up)")
	}
	b := &bench{brokers: strings.Split(brokers, ","), partitions: *partitions, batch: *batch, leads: *leads}
	opt, err := redis.ParseURL(redisURL)
	check(err)
	b.rdb = redis.NewClient(opt)
	b.run = strconv.FormatInt(time.Now().UnixNano(), 36)
	defer b.cleanup()

	msgs := b.messages(*events)
	limit := b.limit(msgs)
	thr := b.throughput(msgs, false)
	thrQ := b.throughput(msgs, true)
	p50, p99, n := b.latency(*rate, *dur, false)
	q50, q99, qn := b.latency(*rate, *dur, true)
	offered := *rate * int(*dur/time.Second) // every event must be seen: a lost or late one is not a fast one

	fmt.Printf("Feature ingest, real Kafka 4.1.1 → real Redis %s, %d cores (%s), %d partitions, batch %d, %d leads\n\n",
		redisVersion(b.rdb), runtime.NumCPU(), cpuModel(), *partitions, *batch, *leads)
	fmt.Println("| measure | value | bar |")
	fmt.Println("|---|---|---|")
	fmt.Printf("| store apply, pipelined Lua, no Kafka (the limit) | %.0f events/s | — |\n", limit)
	fmt.Printf("| one consumer, Kafka → Redis, committed | %.0f events/s | ≥ 50,000 → %s |\n", thr, verdict(thr >= 50000))
	fmt.Printf("| consumer ÷ limit | %.0f%% | ≥ 50%% → %s |\n", 100*thr/limit, verdict(thr >= limit/2))
	fmt.Printf("| one consumer with re-scoring and re-queueing (the production path) | %.0f events/s | — |\n", thrQ)
	fmt.Printf("| event-to-feature p50 at %d events/s offered (%d events) | %.1f ms | — |\n", *rate, n, ms(p50))
	fmt.Printf("| event-to-feature p99 at %d events/s offered | %.1f ms | ≤ 500 ms → %s |\n", *rate, ms(p99), verdict(p99 <= 500*time.Millisecond && n >= offered))
	fmt.Printf("| event-to-queue p50 at %d events/s offered (%d events, re-scored and re-queued) | %.1f ms | — |\n", *rate, qn, ms(q50))
	fmt.Printf("| event-to-queue p99 at %d events/s offered | %.1f ms | ≤ 500 ms → %s |\n", *rate, ms(q99), verdict(q99 <= 500*time.Millisecond && qn >= offered))
}

type bench struct {
	rdb        *redis.Client
	brokers    []string
	partitions int
	batch      int
	leads      int
	run        string
	prefixes   []string
}

// messages makes n valid events over the leads, as the wire carries them.
func (b *bench) messages(n int) []kafka.Message {
	r := rand.New(rand.NewPCG(1, 2))
	types := []string{"page_viewed", "page_viewed", "page_viewed", "email_opened", "email_clicked", "form_submitted", "content_downloaded", "lead_updated"}
	paths := []string{"/pricing", "/docs/api", "/blog/x", "/product", "/careers"}
	now := time.Now()
	out := make([]kafka.Message, n)
	for i := range out {
		lead := "lead-" + strconv.Itoa(r.IntN(b.leads))
		typ := types[r.IntN(len(types))]
		props := map[string]any{}
		switch typ {
		case "page_viewed":
			props["path"], props["session_id"] = paths[r.IntN(len(paths))], "s"+strconv.Itoa(r.IntN(5))
		case "lead_updated", "form_submitted":
			props["company"], props["industry"], props["source"], props["country"] = "Acme", "Software", "website", "US"
		}
		v, err := json.Marshal(map[string]any{
			"event_id": b.run + "-" + strconv.Itoa(i), "lead_id": lead, "type": typ,
			"ts": now.Add(-time.Duration(r.IntN(86400)) * time.Second).UTC().Format(time.RFC3339Nano), "props": props,
		})
		check(err)
		out[i] = kafka.Message{Key: []byte(lead), Value: v}
	}
	return out
}

// limit applies the events straight to the store in consumer-sized batches.
func (b *bench) limit(msgs []kafka.Message) float64 {
	store := b.store("limit")
	applied := make([]features.Applied, 0, len(msgs))
	now := time.Now()
	for i, m := range msgs {
		e, err := features.Decode(m.Value, now, features.DefaultLimits())
		check(err)
		applied = append(applied, features.Applied{Event: e, Partition: i % b.partitions, Offset: int64(i)})
	}
	ctx := context.Background()
	check(store.Load(ctx))
	start := time.Now()
	for chunk := range slices.Chunk(applied, b.batch) {
		_, err := store.ApplyChanges(ctx, chunk, nil)
		check(err)
	}
	return float64(len(applied)) / time.Since(start).Seconds()
}

// throughput fills a topic, then times one consumer draining it, from its
// first fetched batch to its last commit.
func (b *bench) throughput(msgs []kafka.Message, rerank bool) float64 {
	topic := b.topic("thr" + map[bool]string{true: "q"}[rerank])
	w := b.writer(topic)
	ctx := context.Background()
	for chunk := range slices.Chunk(msgs, 5000) {
		check(w.WriteMessages(ctx, chunk...))
	}
	check(w.Close())
	var first, last time.Time
	var firstN int // the first batch's events: committed at `first`, so not inside the timed span
	var done atomic.Int64
	ctx, cancel := context.WithCancel(ctx)
	c := b.consumer(topic, rerank, func(ms []kafka.Message, at time.Time) {
		if first.IsZero() {
			first, firstN = at, len(ms)
		}
		last = at
		if done.Add(int64(len(ms))) >= int64(len(msgs)) {
			cancel()
		}
	})
	check(c.Run(ctx))
	// Timed from the first commit to the last: group join and the first
	// fetch are start-up, not throughput; the events of the first batch were
	// applied before that span began, so they are not counted in it.
	return float64(done.Load()-int64(firstN)) / last.Sub(first).Seconds()
}

// latency offers rate events/s for d and returns p50 and p99 of the time from
// each event's producer timestamp to the commit that covered it.
func (b *bench) latency(rate int, d time.Duration, rerank bool) (p50, p99 time.Duration, n int) {
	topic := b.topic("lat" + map[bool]string{true: "q"}[rerank])
	var mu sync.Mutex
	var lat []time.Duration
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := b.consumer(topic, rerank, func(ms []kafka.Message, at time.Time) {
		mu.Lock()
		for _, m := range ms {
			lat = append(lat, at.Sub(m.Time))
		}
		mu.Unlock()
	})
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	time.Sleep(3 * time.Second) // let the consumer join its group
	w := b.writer(topic)
	w.Async = true
	msgs := b.messages(rate * int(d/time.Second))
	tick := time.NewTicker(10 * time.Millisecond)
	per := rate / 100
	for i := 0; i < len(msgs); i += per {
		<-tick.C
		batch := msgs[i:min(i+per, len(msgs))]
		now := time.Now()
		for j := range batch {
			batch[j].Time = now
		}
		check(w.WriteMessages(ctx, batch...))
	}
	tick.Stop()
	check(w.Close())
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		got := len(lat)
		mu.Unlock()
		if got >= len(msgs) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	check(<-errc)
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	if len(lat) == 0 {
		fail("no event was applied in the latency run")
	}
	return lat[len(lat)/2], lat[len(lat)*99/100], len(lat)
}

// consumer builds a consumer of topic; with rerank it also re-scores the
// leads each batch changed and re-places them in the queue, as leadq serve does.
func (b *bench) consumer(topic string, rerank bool, onCommit func([]kafka.Message, time.Time)) *features.Consumer {
	store := b.store(topic)
	cfg := features.ConsumerConfig{
		Brokers: b.brokers, Topic: topic, DLQTopic: topic + ".dlq", GroupID: topic,
		BatchSize: b.batch, BatchWait: 5 * time.Millisecond, OnCommit: onCommit,
	}
	if rerank {
		qcfg := queue.DefaultConfig()
		qcfg.Prefix = b.prefixes[len(b.prefixes)-1]
		q, err := queue.New(b.rdb, qcfg)
		check(err)
		router, err := route.Parse("", "default")
		check(err)
		r := rank.New(b.rdb, store, model.NewLive(store.Spec()), q, router, slog.New(slog.DiscardHandler))
		cfg.AfterApply = func(ctx context.Context, ch []features.Change) error { return r.Rerank(ctx, ch, time.Now()) }
	}
	c, err := features.NewConsumer(cfg, store)
	check(err)
	return c
}

func (b *bench) store(name string) *features.Store {
	prefix := "bench:" + b.run + ":" + name + ":"
	b.prefixes = append(b.prefixes, prefix)
	return features.NewStore(b.rdb, prefix, features.DefaultSpec())
}

func (b *bench) topic(name string) string {
	t := "bench." + b.run + "." + name
	check(backend.EnsureTopics(context.Background(), b.brokers, b.partitions, t, t+".dlq"))
	return t
}

func (b *bench) writer(topic string) *kafka.Writer {
	return &kafka.Writer{Addr: kafka.TCP(b.brokers...), Topic: topic, Balancer: &kafka.Hash{},
		BatchTimeout: time.Millisecond, BatchSize: 1000, RequiredAcks: kafka.RequireOne, Transport: &kafka.Transport{}}
}

// cleanup deletes the benchmark's keys so repeated runs do not fill Redis.
func (b *bench) cleanup() {
	ctx := context.Background()
	for _, p := range b.prefixes {
		iter := b.rdb.Scan(ctx, 0, p+"*", 5000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
			if len(keys) == 5000 {
				b.rdb.Unlink(ctx, keys...)
				keys = keys[:0]
			}
		}
		if len(keys) > 0 {
			b.rdb.Unlink(ctx, keys...)
		}
	}
}

func redisVersion(rdb *redis.Client) string {
	info, err := rdb.Info(context.Background(), "server").Result()
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "redis_version:"); ok {
			return v
		}
	}
	return "?"
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

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func check(err error) {
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "ingest bench:", msg)
	os.Exit(1)
}
