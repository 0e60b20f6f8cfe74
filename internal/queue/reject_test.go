package queue

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestNextExactWithRejections checks every pull against brute force while
// three reps claim, reject (never theirs again) and release leads of two
// pools, one of whose curves has flat pieces (equal c(s_k)), with tied
// probabilities: every rep gets the best lead it did not reject.
func TestNextExactWithRejections(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			exactWithRejections(t, seed)
		})
	}
}

func exactWithRejections(t *testing.T, seed uint64) {
	ctx := context.Background()
	flat := Curve{Knots: []Knot{{0, 1}, {5 * time.Minute, 1}, {30 * time.Minute, 0.3}, {2 * time.Hour, 0.3},
		{24 * time.Hour, 0.01}, {21 * 24 * time.Hour, 0.001}}}
	q, _ := newQueue(t, func(c *Config) {
		c.RepCap = 1 << 20
		c.Lease = 24 * time.Hour // the model does not expire leases
		c.RejectCap = 100000     // nor forget rejections (TestRejectCap does)
		c.Pools = map[string]Profile{"b": {Curve: flat, AttemptFactors: []float64{1}, MaxAttempts: 6, RetrySpacing: []time.Duration{time.Hour}}}
	})
	r := rand.New(rand.NewPCG(seed, 77))
	type ml struct {
		pool    string
		p       float64
		t       time.Time
		claimed bool
		rej     map[string]bool
	}
	leads := map[string]*ml{}
	ps := []float64{0.5, 0.25, 0.125, 0.9, 0.01}
	now := t0
	for i := range 400 {
		pool := []string{"a", "b"}[i%2]
		age := time.Duration(math.Exp(r.Float64()*math.Log(19*86400))) * time.Second
		if i%7 == 0 {
			age = time.Duration(r.IntN(4)) * time.Minute // many ties inside the flat window
		}
		l := &ml{pool: pool, p: ps[r.IntN(len(ps))], t: now.Add(-age), rej: map[string]bool{}}
		leads[leadID(i)] = l
		upsert(t, q, Lead{ID: leadID(i), Pool: pool, P: l.p, TriggerAt: l.t}, now)
	}
	reps := []string{"r1", "r2", "r3"}
	poolSets := [][]string{{"a"}, {"b"}, {"a", "b"}, {"b", "a"}}
	claims := map[string]Claim{}
	skipped := 0
	for step := range 600 {
		now = now.Add(time.Duration(r.IntN(20)) * time.Second)
		rep, pools := reps[r.IntN(len(reps))], poolSets[r.IntN(len(poolSets))]
		best, bestID := -1.0, ""
		for id, l := range leads {
			prof := q.cfg.profile(l.pool)
			if !slices.Contains(pools, l.pool) || l.claimed || l.rej[rep] || now.Sub(l.t) >= prof.Curve.Horizon() {
				continue
			}
			if pr := prof.Priority(l.p, now.Sub(l.t), 0); pr > best {
				best, bestID = pr, id
			}
		}
		c, err := q.Next(ctx, rep, pools, now)
		if errors.Is(err, ErrEmpty) {
			if bestID != "" {
				t.Fatalf("step %d: empty, want %s (%g)", step, bestID, best)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		l := leads[c.LeadID]
		if l.claimed || l.rej[rep] || !slices.Contains(pools, l.pool) {
			t.Fatalf("step %d: served ineligible %s (claimed %v, rejected %v)", step, c.LeadID, l.claimed, l.rej[rep])
		}
		if got := q.cfg.profile(l.pool).Priority(l.p, now.Sub(l.t), 0); got < best*(1-relTol) {
			t.Fatalf("step %d rep %s pools %v: served %s (%g), best is %s (%g)", step, rep, pools, c.LeadID, got, bestID, best)
		}
		skipped += c.Skipped
		l.claimed = true
		claims[c.LeadID] = c
		for id, cl := range claims { // resolve some: reject or release
			if r.IntN(3) != 0 {
				continue
			}
			if r.IntN(2) == 0 {
				report(t, q, cl, OutcomeRejected, now)
				leads[id].rej[cl.SDRID] = true
			} else if err := q.Release(ctx, cl.ID, cl.SDRID, now); err != nil {
				t.Fatal(err)
			}
			leads[id].claimed = false
			delete(claims, id)
		}
	}
	if skipped == 0 {
		t.Fatal("no pull passed over a rejected lead: the test did not exercise the search")
	}
}

// TestRejectionExpires: a rejection keeps the lead from that rep for
// Config.RejectFor, then it may be theirs again.
func TestRejectionExpires(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, func(c *Config) { c.RepCap = 10; c.RejectFor = time.Hour })
	ctx := context.Background()
	upsert(t, q, Lead{ID: "A", Pool: "p", P: 0.9, TriggerAt: t0}, t0)
	report(t, q, next(t, q, "ann", []string{"p"}, t0), OutcomeRejected, t0)
	_, err := q.Next(ctx, "ann", []string{"p"}, t0.Add(time.Hour-time.Second))
	wantErr(t, err, ErrEmpty)
	if c := next(t, q, "ann", []string{"p"}, t0.Add(time.Hour+time.Second)); c.LeadID != "A" || c.Skipped != 0 {
		t.Fatalf("after the rejection expired: %+v", c)
	}
}

// TestRejectCap: a rep's rejections per pool beyond Config.RejectCap are
// forgotten oldest first, and a pull passes over at most RejectCap leads.
func TestRejectCap(t *testing.T) {
	t.Parallel()
	q, rdb := newQueue(t, func(c *Config) { c.RepCap = 10; c.RejectCap = 3 })
	for i := range 6 {
		upsert(t, q, Lead{ID: fmt.Sprint("L", i), Pool: "p", P: 0.9 - 0.1*float64(i), TriggerAt: t0}, t0)
	}
	now := t0
	for i := range 4 { // L0..L3, one second apart: L0 is the oldest
		c := next(t, q, "ann", []string{"p"}, now)
		if c.LeadID != fmt.Sprint("L", i) || c.Skipped != min(i, 3) {
			t.Fatalf("pull %d: %s, skipped %d", i, c.LeadID, c.Skipped)
		}
		report(t, q, c, OutcomeRejected, now)
		now = now.Add(time.Second)
	}
	if n := rdb.ZCard(context.Background(), q.poolKey("p")+"rj:ann").Val(); n != 3 {
		t.Fatalf("rejection set holds %d, want the cap 3", n)
	}
	// L0 was forgotten: the best lead again, and nothing passed over.
	if c := next(t, q, "ann", []string{"p"}, now); c.LeadID != "L0" || c.Skipped != 0 {
		t.Fatalf("after the cap: %s, skipped %d", c.LeadID, c.Skipped)
	}
	if c := next(t, q, "ann", []string{"p"}, now); c.LeadID != "L4" || c.Skipped != 3 {
		t.Fatalf("next: %s, skipped %d, want L4 past L1–L3", c.LeadID, c.Skipped)
	}
	if got := gathered(t, q)["leadq_queue_rejected_skipped_total{}"]; got != 0+1+2+3+0+3 {
		t.Fatalf("skipped metric %g, want 9", got)
	}
}

// TestRejectedCostBounded: a rep who is the only caller of a 20k-lead pool
// rejects thousands of its best leads (they go back at full priority, above
// everything the rep can still get). Every pull passes over at most
// RejectCap of them, however many the rep rejected; the reviewer measured
// the unbounded search at 31 ms per pull after 1.1k rejections and 84 ms
// after 4.1k, each ms stalling every Redis client.
func TestRejectedCostBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("20k leads and thousands of pulls on real Redis")
	}
	t.Parallel()
	ctx := context.Background()
	q, _ := newQueue(t, func(c *Config) { c.RepCap = 1 << 20 })
	r := rand.New(rand.NewPCG(3, 3))
	const n, rejections = 20000, 3000
	leads := make([]Lead, n)
	for i := range leads {
		leads[i] = Lead{ID: leadID(i), Pool: "p", P: logUniform(r, 1e-3, 1),
			TriggerAt: t0.Add(-time.Duration(logUniform(r, 1, 19*86400) * 1e9))}
	}
	if err := q.UpsertBatch(ctx, leads, t0); err != nil {
		t.Fatal(err)
	}
	now, most := t0, 0
	var slow, fast []time.Duration // pulls that passed over the most, and none
	for i := range rejections {
		now = now.Add(100 * time.Millisecond) // distinct rejection times: "oldest" is well defined
		start := time.Now()
		c := next(t, q, "solo", []string{"p"}, now)
		took := time.Since(start)
		if c.Skipped > q.cfg.RejectCap {
			t.Fatalf("pull %d passed over %d rejected leads, cap %d", i, c.Skipped, q.cfg.RejectCap)
		}
		switch c.Skipped {
		case q.cfg.RejectCap:
			slow = append(slow, took)
		case 0:
			fast = append(fast, took)
		}
		most = max(most, c.Skipped)
		report(t, q, c, OutcomeRejected, now)
	}
	// The cap is reached (the search really ran that deep) and never passed.
	if most != q.cfg.RejectCap || len(slow) == 0 {
		t.Fatalf("most passed over in one pull: %d, want the cap %d", most, q.cfg.RejectCap)
	}
	slices.Sort(slow)
	slices.Sort(fast)
	t.Logf("%d rejections of %d leads, cap %d: %d pulls passed over the cap's worth, round trip p50 %v max %v; %d passed over none, p50 %v (shared machine)",
		rejections, n, q.cfg.RejectCap, len(slow), slow[len(slow)/2], slow[len(slow)-1], len(fast), fast[len(fast)/2])
}
