package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/internal/queue"
	"github.com/leadq/leadq/internal/rank"
)

// rescoreOnSwap re-scores every lead after the served model changed. Every
// replica swaps, but a Redis key per version lets only the first one rescore.
func rescoreOnSwap(ctx context.Context, rdb redis.UniversalClient, prefix string, r *rank.Ranker, swapped <-chan string, log *slog.Logger) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case v := <-swapped:
			won, err := rdb.SetNX(ctx, prefix+"rescore:"+v, time.Now().UTC().Format(time.RFC3339), 24*time.Hour).Result()
			if err != nil {
				log.Warn("rescore after model swap: cannot take the rescore key", "version", v, "err", err)
				continue
			}
			if !won {
				continue // another replica rescores for this version
			}
			if _, err := r.RescoreAll(ctx, time.Now()); err != nil && ctx.Err() == nil {
				log.Error("rescore after model swap failed; leads keep their old scores until their next event", "version", v, "err", err)
			}
		}
	}
}

// tickQueue applies due queue events (segment crossings, snoozes, expired
// leases, SLA deadlines) every second. Pulls do this themselves, so order is
// exact without it; ticking keeps pulls cheap and SLA flags prompt.
func tickQueue(ctx context.Context, q *queue.Queue, pools []string, log *slog.Logger) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			if _, err := q.Tick(ctx, pools, now); err != nil && ctx.Err() == nil {
				log.Warn("queue tick failed", "err", err)
			}
		}
	}
}
