package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/leadq/leadq/api"
	"github.com/leadq/leadq/internal/backend"
	"github.com/leadq/leadq/internal/config"
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

	g, ctx := errgroup.WithContext(ctx)
	if cfg.Has(config.RoleAPI) {
		srv := api.New(api.Config{
			BodyLimit: cfg.BodyLimit,
			Registry:  reg,
			Log:       log,
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
		log.Warn("role consumer: not built yet (issue 3); events on the topic are not applied")
	}
	if cfg.Has(config.RoleTrainer) {
		log.Warn("role trainer: not built yet (issue 4); the model is not retrained")
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
