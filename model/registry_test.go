package model

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/testenv"
)

var quiet = slog.New(slog.DiscardHandler)

// registered makes a version over spec columns with the given holdout AUC
// and registers it.
func registered(t *testing.T, reg *Registry, version, holdout string, auc float64, created time.Time) {
	t.Helper()
	a := specArtifact(version, 1+auc)
	c := &Card{Version: version, Kind: KindLogReg, SpecVersion: "fs-1", Schema: a.Schema, CreatedAt: created,
		Holdout: holdout, Metrics: Metrics{AUC: auc}}
	if err := reg.Register(t.Context(), a, c); err != nil {
		t.Fatal(err)
	}
}

func TestRegistryPromoteRollback(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	ctx := t.Context()
	reg := NewRegistry(rdb, prefix)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

	if v, err := reg.Champion(ctx); err != nil || v != "" {
		t.Fatalf("empty registry: champion %q, %v", v, err)
	}
	if _, err := reg.Rollback(ctx); !errors.Is(err, ErrNoChampion) {
		t.Errorf("rollback of nothing = %v, want ErrNoChampion", err)
	}
	registered(t, reg, "m1", "h1", 0.70, t0)
	registered(t, reg, "m2", "h1", 0.72, t0.Add(time.Hour))
	registered(t, reg, "m3", "h2", 0.90, t0.Add(2*time.Hour))
	if err := reg.Register(ctx, specArtifact("m1", 1), &Card{Version: "m1"}); !errors.Is(err, ErrVersionExists) {
		t.Errorf("second Register = %v, want ErrVersionExists", err)
	}
	if err := reg.Promote(ctx, "nope", 0); !errors.Is(err, ErrNoVersion) {
		t.Errorf("Promote(unknown) = %v, want ErrNoVersion", err)
	}

	// The first model beats the prior unconditionally.
	mustPromote(t, reg, "m1", 0.01)
	// m2 is better by 0.02 on the same holdout: not by 0.05, but by 0.01.
	if err := reg.Promote(ctx, "m2", 0.05); !errors.Is(err, ErrNotBetter) {
		t.Errorf("Promote(m2, 0.05) = %v, want ErrNotBetter", err)
	}
	mustChampion(t, reg, "m1")
	mustPromote(t, reg, "m2", 0.01)
	// m3's 0.90 is on another holdout: no comparison until m2 is evaluated there.
	if err := reg.Promote(ctx, "m3", 0.01); !errors.Is(err, ErrHoldoutMismatch) {
		t.Errorf("Promote(m3) = %v, want ErrHoldoutMismatch", err)
	}
	if err := reg.RecordEval(ctx, "m2", "h2", 0.895); err != nil {
		t.Fatal(err)
	}
	if err := reg.Promote(ctx, "m3", 0.01); !errors.Is(err, ErrNotBetter) {
		t.Errorf("Promote(m3) against 0.895 = %v, want ErrNotBetter", err)
	}
	if err := reg.RecordEval(ctx, "m2", "h2", 0.85); err != nil {
		t.Fatal(err)
	}
	mustPromote(t, reg, "m3", 0.01)
	if h, _ := reg.History(ctx); len(h) != 2 || h[0] != "m2" || h[1] != "m1" {
		t.Errorf("history %v, want [m2 m1]", h)
	}

	vs, err := reg.Versions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 || vs[0].Version != "m3" || !vs[0].Champion || vs[2].Version != "m1" || vs[2].Card.Metrics.AUC != 0.70 ||
		!vs[1].CreatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("versions %+v", vs)
	}
	a, c, err := reg.Get(ctx, "m2")
	if err != nil || a.Version != "m2" || c.Holdout != "h1" {
		t.Errorf("Get(m2) = %v %v %v", a, c, err)
	}

	for _, want := range []string{"m2", "m1", PriorVersion} {
		got, err := reg.Rollback(ctx)
		if err != nil || got != want {
			t.Errorf("Rollback = %q, %v; want %q", got, err, want)
		}
	}
	mustChampion(t, reg, "")
	if _, err := reg.Rollback(ctx); !errors.Is(err, ErrNoChampion) {
		t.Errorf("rollback past the prior = %v", err)
	}
}

func TestRegistryForcePromote(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	reg := NewRegistry(rdb, prefix)
	now := time.Now()
	registered(t, reg, "good", "h", 0.8, now)
	registered(t, reg, "worse", "h", 0.6, now)
	mustPromote(t, reg, "good", 0)
	if err := reg.Promote(t.Context(), "worse", -0.1); !errors.Is(err, ErrNotBetter) {
		t.Errorf("Promote(worse, -0.1) = %v", err)
	}
	if err := reg.ForcePromote(t.Context(), "worse"); err != nil {
		t.Fatal(err)
	}
	mustChampion(t, reg, "worse")
}

func mustPromote(t *testing.T, reg *Registry, v string, margin float64) {
	t.Helper()
	if err := reg.Promote(t.Context(), v, margin); err != nil {
		t.Fatalf("Promote(%s) = %v", v, err)
	}
	mustChampion(t, reg, v)
}

func mustChampion(t *testing.T, reg *Registry, want string) {
	t.Helper()
	if got, err := reg.Champion(t.Context()); err != nil || got != want {
		t.Fatalf("champion %q, %v; want %q", got, err, want)
	}
}

// TestPromoteIsAtomic races promotions of many challengers against one
// champion: each must see a consistent champion, so the history holds every
// promoted version exactly once and every event was published.
func TestPromoteIsAtomic(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	reg := NewRegistry(rdb, prefix)
	ctx := t.Context()
	sub := rdb.Subscribe(ctx, reg.Channel())
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 20
	for i := range n {
		registered(t, reg, string(rune('a'+i)), "", 0.5, time.Now())
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := reg.ForcePromote(ctx, string(rune('a'+i))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	h, _ := reg.History(ctx)
	champ, _ := reg.Champion(ctx)
	seen := map[string]bool{champ: true}
	for _, v := range h {
		if seen[v] {
			t.Errorf("%s twice in history %v", v, h)
		}
		seen[v] = true
	}
	if len(seen) != n {
		t.Errorf("champion + history hold %d versions, want %d", len(seen), n)
	}
	prev := "prior"
	for range n {
		m, err := sub.ReceiveMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var e Event
		if err := json.Unmarshal([]byte(m.Payload), &e); err != nil || e.Kind != "promote" || e.Previous != prev {
			t.Fatalf("event %s (%v), want previous %q", m.Payload, err, prev)
		}
		prev = e.Version
	}
}

// TestReplicasSwapWithinASecond runs two Lives, each watched through its own
// Redis connection like two replicas, and checks that both serve a promoted
// and then a rolled-back model within a second, by pub/sub alone (the
// periodic resync is set far beyond the test).
func TestReplicasSwapWithinASecond(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	reg := NewRegistry(rdb, prefix)
	ctx, cancel := context.WithCancel(t.Context())
	registered(t, reg, "v1", "h", 0.7, time.Now())
	registered(t, reg, "v2", "h", 0.8, time.Now())
	mustPromote(t, reg, "v1", 0)

	spec := features.DefaultSpec()
	lives := []*Live{NewLive(spec), NewLive(spec)}
	var wg sync.WaitGroup
	swaps := make(chan string, 16)
	for _, l := range lives {
		c := redis.NewClient(rdb.Options())
		t.Cleanup(func() { c.Close() })
		wg.Go(func() {
			err := NewRegistry(c, prefix).Watch(ctx, l, WatchOptions{Resync: time.Hour, Log: quiet,
				OnSwap: func(s *Served) { swaps <- s.Version }})
			if err != nil {
				t.Error(err)
			}
		})
	}
	// A reader scores all along: under -race this is the concurrent
	// score-during-swap check with the real watcher doing the swaps.
	wg.Go(func() {
		for ctx.Err() == nil {
			if p, v := lives[0].Score(features.State{}, servNow); !(p > 0 && p < 1) || v == "" {
				t.Errorf("score %v %q during swaps", p, v)
				return
			}
		}
	})
	defer func() { cancel(); wg.Wait() }()
	waitAll(t, lives, "v1", 5*time.Second) // the start-up load

	start := time.Now()
	mustPromote(t, reg, "v2", 0.05)
	waitAll(t, lives, "v2", time.Second)
	t.Logf("promotion reached both replicas in %v", time.Since(start))

	start = time.Now()
	if v, err := reg.Rollback(ctx); err != nil || v != "v1" {
		t.Fatalf("Rollback = %q, %v", v, err)
	}
	waitAll(t, lives, "v1", time.Second)
	t.Logf("rollback reached both replicas in %v", time.Since(start))

	if _, err := reg.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	waitAll(t, lives, PriorVersion, time.Second)
	if p, v := lives[1].Score(features.State{}, servNow); v != PriorVersion || p != PriorAverage {
		t.Errorf("after rollback to the prior: %v %q", p, v)
	}
	if n := len(swaps); n != 8 {
		t.Errorf("%d OnSwap calls, want 8 (4 swaps × 2 replicas)", n)
	}
}

func waitAll(t *testing.T, lives []*Live, version string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for _, l := range lives {
		for l.Version() != version {
			if time.Now().After(deadline) {
				t.Fatalf("replica serves %q after %v, want %q", l.Version(), limit, version)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// TestSyncRecoversMissedMessage changes the champion behind a watcher's
// back (no message) and checks that the periodic resync picks it up.
func TestSyncRecoversMissedMessage(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	reg := NewRegistry(rdb, prefix)
	registered(t, reg, "v1", "h", 0.7, time.Now())
	l := NewLive(features.DefaultSpec())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- reg.Watch(ctx, l, WatchOptions{Resync: 50 * time.Millisecond, Log: quiet}) }()
	defer func() { cancel(); <-done }()
	time.Sleep(100 * time.Millisecond)
	if err := rdb.Set(ctx, reg.championKey(), "v1", 0).Err(); err != nil { // what a lost message looks like
		t.Fatal(err)
	}
	waitAll(t, []*Live{l}, "v1", time.Second)
}

// TestWatchKeepsServingOnBadChampion promotes a model the spec cannot serve:
// the replica logs it and keeps the model it had.
func TestWatchKeepsServingOnBadChampion(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	reg := NewRegistry(rdb, prefix)
	a := testArtifact()
	a.Version = "alien"
	a.Schema.Cat[1], a.Encoder.Cat[1].Name = "nope", "nope"
	if err := reg.Register(t.Context(), a, &Card{Version: "alien"}); err != nil {
		t.Fatal(err)
	}
	mustPromote(t, reg, "alien", 0)
	l := NewLive(features.DefaultSpec())
	if _, err := reg.Sync(t.Context(), l); !errors.Is(err, ErrUnservable) {
		t.Errorf("Sync = %v, want ErrUnservable", err)
	}
	if l.Version() != PriorVersion {
		t.Errorf("serving %q", l.Version())
	}
}
