package main

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/queue"
	"github.com/leadq/leadq/internal/rank"
	"github.com/leadq/leadq/internal/route"
	"github.com/leadq/leadq/internal/testenv"
	"github.com/leadq/leadq/model"
)

// Promote A, promote B, roll back to A: after the rollback the queue must
// hold A's probabilities again. The rescore key is per version with a 24 h
// expiry, so the rollback's swap back to A finds rescore:A taken (by A's own
// promotion an hour earlier) and nobody rescores: every lead keeps the
// rolled-back model's score.
func TestRescoreAfterRollback(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	ctx := t.Context()
	spec := features.DefaultSpec()
	store := features.NewStore(rdb, prefix, spec)
	if err := store.Load(ctx); err != nil {
		t.Fatal(err)
	}
	qcfg := queue.DefaultConfig()
	qcfg.Prefix = prefix
	q, err := queue.New(rdb, qcfg)
	if err != nil {
		t.Fatal(err)
	}
	live := model.NewLive(spec)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	router, err := route.Parse("", "row")
	if err != nil {
		t.Fatal(err)
	}
	r := rank.New(rdb, store, live, q, router, log)

	now := time.Now().Truncate(time.Millisecond)
	props := features.Props{Region: "na", Source: "website", Timezone: "UTC"}
	changes, err := store.ApplyChanges(ctx, []features.Applied{
		{Event: features.Event{EventID: "L1-0", LeadID: "L1", Type: features.LeadCreated, TS: now.Add(-time.Hour), Props: props}, Offset: 0},
		{Event: features.Event{EventID: "L1-1", LeadID: "L1", Type: features.FormSubmitted, TS: now, Props: features.Props{Source: "website"}}, Offset: 1},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Rerank(ctx, changes, now); err != nil {
		t.Fatal(err)
	}

	mk := func(v string, b float64) *model.Artifact {
		a := model.Prior()
		a.Version, a.Calibration.B = v, b
		return a
	}
	vA, vB := mk("vA", 0.5), mk("vB", -1)

	swapped := make(chan string, 1)
	go rescoreOnSwap(ctx, rdb, prefix, r, swapped, log)
	swapTo := func(a *model.Artifact) {
		t.Helper()
		if err := live.Set(a, nil); err != nil {
			t.Fatal(err)
		}
		swapped <- a.Version
		st, err := store.Get(ctx, "L1")
		if err != nil {
			t.Fatal(err)
		}
		want, _ := live.Score(st, time.Now())
		var got float64
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			qs, err := q.Get(ctx, "row", "L1", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if got = qs.P; got == want {
				return
			}
		}
		t.Fatalf("after the swap to %s the queue holds p %g, want %s's %g", a.Version, got, a.Version, want)
	}
	swapTo(vA) // promote A
	swapTo(vB) // promote B
	swapTo(vA) // roll back to A
}
