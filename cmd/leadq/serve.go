package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

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

// runServe runs the configured roles until ctx ends, then drains them.
func runServe(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	cfg, err := config.Parse("leadq serve", args, lookup)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg)
	log.Info("starting leadq", "version", version, "config", cfg.String())

	b, err := backend.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer b.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	spec := features.DefaultSpec()
	store := features.NewStore(b.Redis, cfg.KeyPrefix, spec)
	live := model.NewLive(spec)
	registry := model.NewRegistry(b.Redis, cfg.KeyPrefix)
	snapshots, err := training.NewSnapshots(b.Redis, spec, training.SnapshotConfig{Prefix: cfg.KeyPrefix})
	if err != nil {
		return err
	}
	// Snapshots at claim are written off the request path; Close (after every
	// role has stopped, so after the HTTP server drained) writes what is left.
	snapWriter := training.NewSnapshotWriter(snapshots, training.SnapshotWriterConfig{Log: log})
	defer snapWriter.Close()
	reg.MustRegister(snapWriter.Collectors()...)
	trainer, err := training.NewTrainer(training.TrainerConfig{
		Snapshots: snapshots, Registry: registry, Redis: b.Redis, Prefix: cfg.KeyPrefix,
		Interval: cfg.RetrainInterval, Log: log,
	})
	if err != nil {
		return err
	}

	qcfg := queue.DefaultConfig()
	qcfg.Prefix, qcfg.Lease, qcfg.RepCap, qcfg.SLA, qcfg.RepDailyCap = cfg.KeyPrefix, cfg.Lease, cfg.RepCap, cfg.SLA, cfg.RepDailyCap
	qcfg.RejectFor, qcfg.RejectCap = cfg.RejectFor, cfg.RejectCap
	if h, _ := config.ParseCallingHours(cfg.CallingHours); h != nil { // validated by config.Parse
		qcfg.Hours = &queue.CallingHours{Start: h.Start, End: h.End, Days: h.Days}
	}
	// A pull reads the claimed lead's features in its own script: the
	// feature key is the store's, split around the lead id.
	pre, suf, _ := strings.Cut(store.Key("\x00"), "\x00")
	qcfg.LeadData = &queue.KeyPattern{Prefix: pre, Suffix: suf}
	q, err := queue.New(b.Redis, qcfg)
	if err != nil {
		return err
	}
	reg.MustRegister(q.Collectors()...)
	router, _ := route.Parse(cfg.Routes, cfg.DefaultPool) // validated by config.Parse
	ranker := rank.New(b.Redis, store, live, q, router, log)

	g, ctx := errgroup.WithContext(ctx)
	// Every role scores, so every process follows the registry's champion;
	// after a swap one replica re-scores every lead (see rescoreOnSwap).
	swapped := make(chan string, 1)
	g.Go(func() error {
		return registry.Watch(ctx, live, model.WatchOptions{Log: log, OnSwap: func(m *model.Served) {
			log.Info("model swapped in", "version", m.Version)
			select {
			case swapped <- m.Version:
			default: // a rescore is pending already; it will use the newest model
			}
		}})
	})
	g.Go(func() error { return rescoreOnSwap(ctx, b.Redis, cfg.KeyPrefix, ranker, swapped, log) })
	g.Go(func() error { return tickQueue(ctx, q, router.Pools(), log) })
	g.Go(func() error { return servePprof(ctx, cfg.PprofAddr, log) })
	alerts := &kafka.Writer{
		Addr: kafka.TCP(b.Brokers...), Topic: cfg.AlertTopic, Balancer: &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond, Transport: &kafka.Transport{},
	}
	defer alerts.Close()
	g.Go(func() error { return forwardQueueEvents(ctx, q, router.Pools(), alerts, log) })
	// Forms' events wait in the Redis outbox until a forwarder copies them to
	// the topic; every replica forwards, so a dead one's entries are taken over.
	outbox := features.NewOutbox(b.Redis, cfg.KeyPrefix)
	reg.MustRegister(outbox.Collectors()...)
	forwarded := &kafka.Writer{
		Addr: kafka.TCP(b.Brokers...), Topic: cfg.Topic, Balancer: &kafka.Murmur2Balancer{}, // one lead, one partition
		RequiredAcks: kafka.RequireAll, BatchSize: 500, BatchTimeout: time.Millisecond, Transport: &kafka.Transport{},
	}
	defer forwarded.Close()
	g.Go(func() error { return forwardOutbox(ctx, outbox, forwarded, log) })
	if cfg.Has(config.RoleAPI) {
		keys, _ := config.ParseAPIKeys(cfg.APIKeys) // validated by config.Parse
		if len(keys) == 0 {
			log.Warn("no API keys configured (LEADQ_API_KEYS): every /v1 route answers 401")
		}
		events := &kafka.Writer{
			Addr:         kafka.TCP(b.Brokers...),
			Topic:        cfg.Topic,
			Balancer:     &kafka.Murmur2Balancer{}, // the partitioner of Java producers: one lead, one partition
			RequiredAcks: kafka.RequireAll,
			BatchTimeout: 200 * time.Microsecond, // every form request waits for its batch: keep it short (the 1 s default would hold it a second)
			Transport:    &kafka.Transport{},
		}
		defer events.Close()
		srv := api.New(api.Config{
			BodyLimit:      cfg.BodyLimit,
			Registry:       reg,
			Log:            log,
			APIKeys:        keys,
			Features:       store,
			Events:         events,
			Live:           live,
			Models:         registry,
			Retrain:        trainer.RetrainNow,
			Queue:          q,
			Stats:          q,
			RateLimit:      cfg.RateLimit,
			FormRateLimit:  cfg.FormRateLimit,
			CORSOrigins:    cfg.CORSOrigins,
			Snapshots:      snapshots,
			SnapshotWriter: snapWriter,
			Pools:          router.Pools(),
			Ranker:         ranker,
			Idents:         ident.New(b.Redis, cfg.KeyPrefix, 24*time.Hour),
			Outbox:         outbox,
			OutboxLimit:    cfg.OutboxLimit,
			MaxEventBatch:  cfg.MaxEventBatch,
			Checks: []api.Checker{
				{Name: "redis", Check: b.CheckRedis},
				{Name: "kafka", Check: b.CheckKafka},
			},
		})
		g.Go(func() error {
			log.Info("http listening", "addr", cfg.HTTPAddr)
			fmt.Fprintf(stdout, "leadq is serving on http://%s (healthz, readyz, metrics)\n", cfg.HTTPAddr)
			return srv.Serve(ctx, cfg.HTTPAddr, cfg.ShutdownTimeout)
		})
	}
	if cfg.Has(config.RoleConsumer) {
		cons, err := features.NewConsumer(features.ConsumerConfig{
			Brokers:    b.Brokers,
			Topic:      cfg.Topic,
			DLQTopic:   cfg.DLQTopic,
			GroupID:    cfg.GroupID,
			BatchSize:  cfg.BatchSize,
			BatchWait:  cfg.BatchWait,
			Log:        log,
			Registerer: reg,
			AfterApply: func(ctx context.Context, changes []features.Change) error {
				return ranker.Rerank(ctx, changes, time.Now())
			},
		}, store)
		if err != nil {
			return err
		}
		g.Go(func() error {
			log.Info("consumer started", "topic", cfg.Topic, "group", cfg.GroupID)
			return cons.Run(ctx)
		})
	}
	if cfg.Has(config.RoleTrainer) {
		g.Go(func() error {
			log.Info("trainer started", "interval", cfg.RetrainInterval)
			return trainer.Run(ctx)
		})
	}
	err = g.Wait()
	log.Info("leadq stopped", "err", err)
	return err
}

func newLogger(w io.Writer, cfg config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(cfg.LogLevel)))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
