package rank

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/queue"
	"github.com/leadq/leadq/internal/route"
	"github.com/leadq/leadq/internal/testenv"
	"github.com/leadq/leadq/model"
)

func mustRouter(tb testing.TB, rules string) route.Router {
	tb.Helper()
	r, err := route.Parse(rules, "row")
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// TestRescoreAll places leads with the prior, changes their fate (claimed,
// retried, nurtured), promotes another model and changes the routing of one
// region, and checks that RescoreAll gives every active lead of every pool
// the new model's p, moves the re-routed ones, keeps every lead's state and
// leaves the nurtured lead alone.
func TestRescoreAll(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	testRescoreAll(t, rdb, prefix)
}

// TestRescoreAllEmbedded: the same on the embedded Redis of `make run`
// (miniredis, whose Lua and commands are its own).
func TestRescoreAllEmbedded(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	testRescoreAll(t, rdb, "lq:")
}

func testRescoreAll(t *testing.T, rdb *redis.Client, prefix string) {
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
	before := New(rdb, store, live, q, mustRouter(t, "na=region:na;emea=region:emea;apac=region:apac"), log)

	// 2,500 leads (pages of 1,000 across workers), triggered within the last day.
	now := time.Now().Truncate(time.Millisecond)
	regions := []string{"na", "emea", "apac", "latam"}
	sources := []string{"website", "referral", "email", "event", "purchased_list"}
	const n = 2500
	var batch []features.Applied
	for i := range n {
		id := fmt.Sprintf("L%05d", i)
		trig := now.Add(-time.Duration(i) * 30 * time.Second)
		props := features.Props{Region: regions[i%len(regions)], Source: sources[i%len(sources)], Timezone: "UTC"}
		batch = append(batch,
			features.Applied{Event: features.Event{EventID: id + "-0", LeadID: id, Type: features.LeadCreated, TS: trig.Add(-time.Hour), Props: props}, Offset: int64(2 * i)},
			features.Applied{Event: features.Event{EventID: id + "-1", LeadID: id, Type: features.FormSubmitted, TS: trig, Props: features.Props{Source: props.Source}}, Offset: int64(2*i + 1)})
	}
	changes, err := store.ApplyChanges(ctx, batch, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := before.Rerank(ctx, changes, now); err != nil {
		t.Fatal(err)
	}

	// Three leads of pool na change state: claimed, retried later, nurtured.
	fate := map[string]string{}
	var claimed []queue.Claim
	for k, outcome := range []string{"", queue.OutcomeNoAnswer, queue.OutcomeNotInterested} {
		c, err := q.Next(ctx, fmt.Sprint("rep", k), []string{"na"}, now)
		if err != nil {
			t.Fatal(err)
		}
		claimed = append(claimed, c)
		if outcome != "" {
			if _, err := q.Outcome(ctx, queue.Report{LeadID: c.LeadID, ClaimID: c.ID, SDRID: c.SDRID, Outcome: outcome}, now); err != nil {
				t.Fatal(err)
			}
		}
		fate[c.LeadID] = []string{queue.StateClaimed, queue.StateScheduled, queue.StateNurture}[k]
	}

	// Promote a model that scores differently, and send apac leads to na.
	a := model.Prior()
	a.Version = "v2"
	a.Calibration.B = 0.7
	a.Weights[3] = -a.Weights[3]
	if err := live.Set(a, nil); err != nil {
		t.Fatal(err)
	}
	after := New(rdb, store, live, q, mustRouter(t, "na=region:na|apac;emea=region:emea;apac=region:apac"), log)
	now2 := now.Add(time.Minute)
	got, err := after.RescoreAll(ctx, now2)
	if err != nil {
		t.Fatal(err)
	}
	if got != n-1 {
		t.Fatalf("RescoreAll re-scored %d leads, want the %d active ones", got, n-1)
	}

	changed := 0
	for i := range n {
		id := fmt.Sprintf("L%05d", i)
		st, err := store.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		pool := map[string]string{"na": "na", "emea": "emea", "apac": "na", "latam": "row"}[regions[i%len(regions)]]
		qs, err := q.Get(ctx, pool, id, now2)
		if err != nil {
			t.Fatalf("%s in pool %s: %v", id, pool, err)
		}
		want, _ := live.Score(st, now2)
		if fate[id] == queue.StateNurture {
			want, _ = model.NewLive(spec).Score(st, now) // out of the queue: keeps the prior's p
		}
		if qs.P != want {
			t.Fatalf("%s (%s) holds p %g, want %g", id, qs.State, qs.P, want)
		}
		if wantState := fate[id]; wantState != "" && qs.State != wantState || wantState == "" && qs.State != queue.StateQueued {
			t.Fatalf("%s is %s after RescoreAll, was %q", id, qs.State, wantState)
		}
		if old, _ := model.NewLive(spec).Score(st, now2); old != want {
			changed++
		}
		if st["_pool"] != pool {
			t.Fatalf("%s remembers pool %q, want %s", id, st["_pool"], pool)
		}
		if regions[i%len(regions)] == "apac" {
			if _, err := q.Get(ctx, "apac", id, now2); !errors.Is(err, queue.ErrNotFound) {
				t.Fatalf("%s re-routed to na is still in apac: %v", id, err)
			}
		}
	}
	if changed < n/2 {
		t.Fatalf("only %d leads changed p: the new model is not different enough to test anything", changed)
	}
	if _, err := q.Extend(ctx, claimed[0].ID, claimed[0].SDRID, now2); err != nil {
		t.Fatalf("the open claim did not survive RescoreAll: %v", err)
	}
}
