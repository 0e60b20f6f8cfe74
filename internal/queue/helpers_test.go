package queue

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/internal/testenv"
)

// t0 is a fixed "now" for tests: well after the epoch, like production.
var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// newQueue returns a queue on the real test Redis under a fresh key prefix.
func newQueue(tb testing.TB, edit func(*Config)) (*Queue, *redis.Client) {
	tb.Helper()
	rdb, prefix := testenv.Redis(tb)
	cfg := DefaultConfig()
	cfg.Prefix = prefix
	if edit != nil {
		edit(&cfg)
	}
	q, err := New(rdb, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return q, rdb
}

func upsert(tb testing.TB, q *Queue, l Lead, now time.Time) Placement {
	tb.Helper()
	pl, err := q.Upsert(context.Background(), l, now)
	if err != nil {
		tb.Fatalf("upsert %s: %v", l.ID, err)
	}
	return pl
}

func next(tb testing.TB, q *Queue, sdr string, pools []string, now time.Time) Claim {
	tb.Helper()
	c, err := q.Next(context.Background(), sdr, pools, now)
	if err != nil {
		tb.Fatalf("next for %s at %s: %v", sdr, now, err)
	}
	return c
}

func wantErr(tb testing.TB, err, want error) {
	tb.Helper()
	if !errors.Is(err, want) {
		tb.Fatalf("got error %v, want %v", err, want)
	}
}

func state(tb testing.TB, q *Queue, pool, id string, now time.Time) State {
	tb.Helper()
	st, err := q.Get(context.Background(), pool, id, now)
	if err != nil {
		tb.Fatalf("get %s: %v", id, err)
	}
	return st
}

func leadID(i int) string { return fmt.Sprintf("lead-%06d", i) }
