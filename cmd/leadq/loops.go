package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/queue"
	"github.com/leadq/leadq/internal/rank"
)

// rescoreOnSwap re-scores every lead after the served model changed. Every
// replica swaps, but only the first one to swap to a version rescores: the
// key rescore:last holds the version the leads were last rescored for, and
// the replica that changes it does the work. (A key per version would skip
// a rollback, or a re-promotion, to a version rescored for earlier: the
// leads would keep the scores of the model just rolled back.) A rescore that
// fails or is stopped gives the key back.
func rescoreOnSwap(ctx context.Context, rdb redis.UniversalClient, prefix string, r *rank.Ranker, swapped <-chan string, log *slog.Logger) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case v := <-swapped:
			prev, err := rdb.SetArgs(ctx, prefix+"rescore:last", v, redis.SetArgs{Get: true}).Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				log.Warn("rescore after model swap: cannot take the rescore key", "version", v, "err", err)
				continue
			}
			if err == nil && prev == v {
				continue // another replica rescores (or has rescored) for this version
			}
			if _, err := r.RescoreAll(ctx, time.Now()); err != nil {
				// Give the version back, so that the next replica to swap it
				// in (this one's successor after a SIGTERM, say) rescores.
				dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
				_ = rdb.Del(dctx, prefix+"rescore:last").Err()
				cancel()
				if ctx.Err() == nil {
					log.Error("rescore after model swap failed; leads keep their old scores until their next event", "version", v, "err", err)
				}
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

// forwardQueueEvents publishes the queue's events (sla_breached) to Kafka,
// keyed by lead id, then acknowledges them. Every replica runs it; a Redis
// consumer group gives each event to one of them, and an event a crashed
// replica read but did not acknowledge is taken over after a minute.
func forwardQueueEvents(ctx context.Context, q *queue.Queue, pools []string, w *kafka.Writer, log *slog.Logger) error {
	host, _ := os.Hostname()
	consumer := host + "-" + randomSuffix()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		for _, pool := range pools {
			evs, err := q.ReadEvents(ctx, pool, consumer, 500)
			if err != nil || len(evs) == 0 {
				if err != nil && ctx.Err() == nil {
					log.Warn("reading queue events failed", "pool", pool, "err", err)
				}
				continue
			}
			msgs := make([]kafka.Message, len(evs))
			ids := make([]string, len(evs))
			for i, ev := range evs {
				b, _ := json.Marshal(ev)
				msgs[i] = kafka.Message{Key: []byte(ev.LeadID), Value: b}
				ids[i] = ev.ID
			}
			if err := w.WriteMessages(ctx, msgs...); err != nil {
				log.Warn("forwarding queue events to Kafka failed; will retry", "pool", pool, "events", len(msgs), "err", err)
				continue
			}
			if err := q.AckEvents(ctx, pool, ids...); err != nil {
				log.Warn("acknowledging forwarded queue events failed; they may be sent again", "pool", pool, "err", err)
			}
		}
	}
}

// forwardOutbox copies the events forms applied directly from the Redis
// outbox to the lead-event topic (features.Outbox.Forward) until ctx ends.
func forwardOutbox(ctx context.Context, ob *features.Outbox, w *kafka.Writer, log *slog.Logger) error {
	host, _ := os.Hostname()
	return ob.Forward(ctx, w, features.ForwardOptions{Consumer: host + "-" + randomSuffix(), Log: log})
}

func randomSuffix() string {
	return strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
}
