// Command profile serves leadq's HTTP API wired like `leadq serve` (the api
// role only: no consumer, trainer or queue tick) with net/http/pprof on a
// second port, so a CPU profile can be taken under wrk without changing
// leadq's code:
//
//	go build -o /tmp/lqprof ./bench/http/profile
//	LEADQ_REDIS_URL=... LEADQ_KAFKA_BROKERS=... LEADQ_API_KEYS=... /tmp/lqprof -pprof 127.0.0.1:6061 &
//	wrk ... http://127.0.0.1:8080/v1/score &
//	go tool pprof -top 'http://127.0.0.1:6061/debug/pprof/profile?seconds=10'
//
// Every LEADQ_ setting applies as in `leadq serve`. The wiring is a copy of
// cmd/leadq/serve.go's API part; keep it in step when that changes.
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/leadq/leadq/api"
	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/backend"
	"github.com/leadq/leadq/internal/config"
	"github.com/leadq/leadq/internal/ident"
	"github.com/leadq/leadq/internal/queue"
	"github.com/leadq/leadq/internal/rank"
	"github.com/leadq/leadq/internal/route"
	"github.com/leadq/leadq/model"
	"github.com/leadq/leadq/training"
)

func main() {
	pprofAddr := flag.String("pprof", "127.0.0.1:6061", "net/http/pprof listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.Parse("profile", nil, os.LookupEnv)
	if err != nil {
		log.Fatal(err)
	}
	lg := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b, err := backend.Open(ctx, cfg, lg)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	go func() { log.Println(http.ListenAndServe(*pprofAddr, nil)) }()

	reg := prometheus.NewRegistry()
	spec := features.DefaultSpec()
	store := features.NewStore(b.Redis, cfg.KeyPrefix, spec)
	live := model.NewLive(spec)
	registry := model.NewRegistry(b.Redis, cfg.KeyPrefix)
	snapshots, err := training.NewSnapshots(b.Redis, spec, training.SnapshotConfig{Prefix: cfg.KeyPrefix})
	if err != nil {
		log.Fatal(err)
	}
	qcfg := queue.DefaultConfig()
	qcfg.Prefix, qcfg.Lease, qcfg.RepCap, qcfg.SLA = cfg.KeyPrefix, cfg.Lease, cfg.RepCap, cfg.SLA
	q, err := queue.New(b.Redis, qcfg)
	if err != nil {
		log.Fatal(err)
	}
	reg.MustRegister(q.Collectors()...)
	router, _ := route.Parse(cfg.Routes, cfg.DefaultPool)
	ranker := rank.New(b.Redis, store, live, q, router, lg)
	keys, _ := config.ParseAPIKeys(cfg.APIKeys)
	events := &kafka.Writer{
		Addr: kafka.TCP(b.Brokers...), Topic: cfg.Topic, Balancer: &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: 2 * time.Millisecond, Transport: &kafka.Transport{},
	}
	defer events.Close()
	srv := api.New(api.Config{
		BodyLimit: cfg.BodyLimit, Registry: reg, Log: lg, APIKeys: keys, Features: store, Events: events,
		Live: live, Models: registry, Queue: q, RateLimit: cfg.RateLimit, FormRateLimit: cfg.FormRateLimit,
		CORSOrigins: cfg.CORSOrigins, Snapshots: snapshots, Pools: router.Pools(), Ranker: ranker,
		Idents: ident.New(b.Redis, cfg.KeyPrefix, 24*time.Hour), MaxEventBatch: cfg.MaxEventBatch,
		Checks: []api.Checker{{Name: "redis", Check: b.CheckRedis}, {Name: "kafka", Check: b.CheckKafka}},
	})
	log.Printf("profile: leadq API on %s, pprof on %s", cfg.HTTPAddr, *pprofAddr)
	if err := srv.Serve(ctx, cfg.HTTPAddr, 5*time.Second); err != nil {
		log.Fatal(err)
	}
}
