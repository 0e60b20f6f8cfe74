package queue

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestStatsWithLegacyLeads: leads that were queued, scheduled, claimed or
// nurtured before the counters shipped (simulated: no 'fs' marker, no
// counters) then move through every state beside new leads, with calling
// hours, re-heats, batch re-scores, lease expiries, nurture ends and
// removals. After every step the state counts equal the new leads' states
// (queued: all leads, it is the segment sets' size), never drifting with
// the legacy leads, and the funnel counts each new lead once.
func TestStatsWithLegacyLeads(t *testing.T) {
	t.Parallel()
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			legacyWalk(t, seed)
		})
	}
}

func legacyWalk(t *testing.T, seed uint64) {
	q, rdb := newQueue(t, func(c *Config) {
		c.RepCap = 3
		c.Nurture = 10 * time.Minute // short, so nurtures end inside the walk
		c.Hours = DefaultCallingHours()
	})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 5))
	P := q.poolKey("p")
	now := t0
	trig := map[string]time.Time{}
	var open []Claim

	// Before the deploy: legacy leads in every state the old code knew.
	for i := range 12 {
		id := fmt.Sprint("O", i)
		trig[id] = now.Add(-time.Duration(i) * time.Minute)
		upsert(t, q, Lead{ID: id, Pool: "p", P: 0.5 + 0.04*float64(i), TriggerAt: trig[id], Source: "s"}, now)
	}
	for i, o := range []string{OutcomeNoAnswer, OutcomeNotInterested, OutcomeCallback, OutcomeMeetingBooked, OutcomeDisqualified, ""} {
		c := next(t, q, fmt.Sprint("old", i), []string{"p"}, now)
		if o == "" {
			open = append(open, c) // still claimed at the deploy
			continue
		}
		report(t, q, c, o, now)
	}
	legacy := map[string]bool{}
	for id := range trig {
		rdb.HDel(ctx, P+"l:"+id, "fs", "fn")
		legacy[id] = true
	}
	rdb.Del(ctx, P+"n", P+"fn", P+"un")

	outcomes := []string{OutcomeNoAnswer, OutcomeBadNumber, OutcomeMeetingBooked, OutcomeNotInterested, OutcomeCallback,
		OutcomeRejected, OutcomeReturned, OutcomeDisqualified, OutcomeBusy}
	tzs := []string{"", "UTC", "America/New_York", "Asia/Tokyo"}
	entered := map[string]bool{} // new leads in the pool, each entered once
	seen := map[string]bool{}    // states new leads were seen in
	legacyMoved := 0             // steps in which a legacy lead changed state
	was := map[string]string{}
	for step := range 600 {
		d := time.Duration(rng.IntN(60)) * time.Second
		if rng.IntN(40) == 0 {
			d = time.Duration(rng.IntN(48)) * time.Hour
		}
		now = now.Add(d)
		switch r := rng.IntN(14); {
		case r < 3: // a new lead, or an event on a known one (new or legacy)
			id := fmt.Sprint("M", rng.IntN(30))
			if rng.IntN(3) == 0 {
				id = fmt.Sprint("O", rng.IntN(12))
			}
			tr := now.Add(-time.Duration(rng.IntN(600)) * time.Second)
			if old, ok := trig[id]; ok && (rng.IntN(2) == 0 || !tr.After(old)) {
				tr = old // a re-score, no re-heat
			}
			trig[id] = tr
			upsert(t, q, Lead{ID: id, Pool: "p", P: rng.Float64(), TriggerAt: tr, Source: "s", Timezone: tzs[rng.IntN(len(tzs))]}, now)
			if !legacy[id] {
				entered[id] = true // a removed legacy id comes back as a new lead
			}
		case r < 5 && len(trig) > 0:
			var batch []Lead
			// Sorted: the walk draws from rng per lead, and map order would
			// make a seed's walk differ from run to run.
			for _, id := range slices.Sorted(maps.Keys(trig)) {
				tr := trig[id]
				if rng.IntN(4) == 0 {
					tr = now
					trig[id] = tr
				}
				batch = append(batch, Lead{ID: id, Pool: "p", P: rng.Float64(), TriggerAt: tr, Source: "s"})
			}
			if err := q.Rescore(ctx, batch, now); err != nil {
				t.Fatal(err)
			}
		case r < 8:
			if c, err := q.Next(ctx, fmt.Sprint("rep", rng.IntN(4)), []string{"p"}, now); err == nil {
				open = append(open, c)
			}
		case r < 12 && len(open) > 0:
			i := rng.IntN(len(open))
			c := open[i]
			open = slices.Delete(open, i, i+1)
			if rng.IntN(5) == 0 {
				_ = q.Release(ctx, c.ID, c.SDRID, now)
			} else {
				_, _ = q.Outcome(ctx, Report{LeadID: c.LeadID, ClaimID: c.ID, SDRID: c.SDRID, Outcome: outcomes[rng.IntN(len(outcomes))]}, now)
			}
		case r == 12:
			id := fmt.Sprint([]string{"M", "O"}[rng.IntN(2)], rng.IntN(12))
			if _, ok := trig[id]; ok {
				if err := q.Remove(ctx, "p", id, now); err != nil {
					t.Fatal(err)
				}
				delete(trig, id)
				delete(entered, id)
				delete(legacy, id)
			}
		}
		if _, err := q.Tick(ctx, []string{"p"}, now); err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{}
		queued, untouchedNew, untouchedAll := int64(0), int64(0), int64(0)
		for id := range trig {
			st := state(t, q, "p", id, now)
			if st.State == StateQueued {
				queued++
			}
			u := st.FirstAttemptAt.IsZero() && !st.SLADueAt.Add(-q.cfg.SLA).After(now) && // SLA clock started
				(st.State == StateQueued || st.State == StateScheduled || st.State == StateClaimed)
			if u {
				untouchedAll++
			}
			if legacy[id] && was[id] != "" && was[id] != st.State {
				legacyMoved++
			}
			was[id] = st.State
			if !legacy[id] {
				seen[st.State] = true
				want[st.State]++
				if u {
					untouchedNew++
				}
			}
		}
		s := stats(t, q, now, "p")[0]
		got := map[string]int64{StateScheduled: s.Scheduled, StateClaimed: s.Claimed, StateNurture: s.Nurture,
			StateMeeting: s.Meeting, StateClosed: s.Closed, StateNurtureExpired: s.NurtureExpired}
		for st, n := range got {
			if n != want[st] {
				t.Fatalf("step %d %s: counter %d, new leads %d (new leads by state %v)", step, st, n, want[st], want)
			}
		}
		if s.Queued != queued {
			t.Fatalf("step %d queued: %d, leads %d", step, s.Queued, queued)
		}
		// A legacy lead waiting untouched since before the deploy is not in
		// the untouched set; one re-triggered since is.
		if s.Untouched < untouchedNew || s.Untouched > untouchedAll {
			t.Fatalf("step %d untouched: %d, want %d..%d", step, s.Untouched, untouchedNew, untouchedAll)
		}
		if f := s.Funnel["s"]; f.Entered != int64(len(entered)) || f.Attempted > f.Entered || f.Connected > f.Attempted || f.Meetings > f.Connected {
			t.Fatalf("step %d funnel %+v, %d new leads in the pool", step, f, len(entered))
		}
	}
	for _, st := range []string{StateScheduled, StateClaimed, StateNurture, StateNurtureExpired, StateMeeting, StateClosed} {
		if !seen[st] {
			t.Errorf("no new lead was ever %s: too weak a walk", st)
		}
	}
	if legacyMoved < 10 {
		t.Errorf("legacy leads changed state %d times: too weak a walk", legacyMoved)
	}
}

// TestLegacyNurtureEndsWhenTouched: a lead nurtured before nurtures had an
// end event stays nurtured past its end until something touches it (an
// event: Upsert); from then on its nurture ends like any other.
func TestLegacyNurtureEndsWhenTouched(t *testing.T) {
	t.Parallel()
	q, rdb := newQueue(t, nil)
	ctx := context.Background()
	P := q.poolKey("p")
	report(t, q, claimOne(t, q, "N", 0.4, t0), OutcomeNotInterested, t0)
	rdb.ZRem(ctx, P+"due", "\x02N") // the old code wrote no end event
	end := t0.Add(q.cfg.Nurture)
	if _, err := q.Tick(ctx, []string{"p"}, end.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if st := state(t, q, "p", "N", end.Add(time.Hour)); st.State != StateNurture {
		t.Fatalf("untouched legacy nurture after its end: %s", st.State)
	}
	// An event that does not re-heat (same trigger): the lead gets its end event.
	touch := end.Add(2 * time.Hour)
	if pl := upsert(t, q, Lead{ID: "N", Pool: "p", P: 0.3, TriggerAt: t0}, touch); pl.State != StateNurture {
		t.Fatalf("touched: %+v", pl)
	}
	if n, err := q.Tick(ctx, []string{"p"}, touch); err != nil || n != 1 {
		t.Fatalf("tick after the touch: %d events, %v", n, err)
	}
	if st := state(t, q, "p", "N", touch); st.State != StateNurtureExpired {
		t.Fatalf("after the touch: %s", st.State)
	}
	log := rdb.XRevRangeN(ctx, P+"log", "+", "-", 1).Val()
	if len(log) != 1 || log[0].Values["outcome"] != "nurture_expired" || log[0].Values["lead_id"] != "N" {
		t.Fatalf("outcome log: %v", log)
	}
	// A nurture that has its end keeps it: touching it does not move it.
	report(t, q, claimOne(t, q, "M", 0.4, touch), OutcomeNotInterested, touch)
	upsert(t, q, Lead{ID: "M", Pool: "p", P: 0.2, TriggerAt: touch}, touch.Add(time.Hour))
	if at := rdb.ZScore(ctx, P+"due", "\x02M").Val(); at != q.sec(touch.Add(q.cfg.Nurture)) {
		t.Fatalf("end of M's nurture moved to %v", at)
	}
}

// TestMovedLeadCountsOnceInFunnel: a lead that moves pools (Remove, then
// Upsert in the new pool) leaves the old pool's funnel and state counts,
// so the totals count it once; a legacy lead's removal uncounts nothing.
func TestMovedLeadCountsOnceInFunnel(t *testing.T) {
	t.Parallel()
	q, rdb := newQueue(t, func(c *Config) { c.RepCap = 5 })
	ctx := context.Background()
	upsert(t, q, Lead{ID: "X", Pool: "a", P: 0.9, TriggerAt: t0, Source: "web"}, t0)
	upsert(t, q, Lead{ID: "Y", Pool: "a", P: 0.5, TriggerAt: t0, Source: "web"}, t0)
	report(t, q, next(t, q, "ann", []string{"a"}, t0), OutcomeNoAnswer, t0) // X: attempted, scheduled
	if err := q.Remove(ctx, "a", "X", t0); err != nil {
		t.Fatal(err)
	}
	upsert(t, q, Lead{ID: "X", Pool: "b", P: 0.9, TriggerAt: t0, Source: "web"}, t0.Add(time.Second))
	s := stats(t, q, t0.Add(time.Second), "a", "b")
	if a, b := s[0], s[1]; a.Funnel["web"] != (Funnel{Entered: 1}) || b.Funnel["web"] != (Funnel{Entered: 1}) ||
		a.Scheduled != 0 || a.Queued != 1 || b.Queued != 1 {
		t.Fatalf("after the move: a %+v %+v, b %+v %+v", a.Funnel, a, b.Funnel, b)
	}
	// A legacy lead (entered before the counters: no marker, never
	// counted) is claimed and moves out: no count moves, none goes negative.
	rdb.HDel(ctx, q.poolKey("a")+"l:Y", "fs")
	rdb.HIncrBy(ctx, q.poolKey("a")+"fn", "0|web", -1)
	if c := next(t, q, "bob", []string{"a"}, t0.Add(time.Second)); c.LeadID != "Y" {
		t.Fatalf("bob got %s", c.LeadID)
	}
	if err := q.Remove(ctx, "a", "Y", t0); err != nil {
		t.Fatal(err)
	}
	if a := stats(t, q, t0.Add(time.Second), "a")[0]; a.Claimed != 0 || a.Funnel["web"] != (Funnel{}) {
		t.Fatalf("after a legacy lead left: claimed %d, funnel %+v", a.Claimed, a.Funnel)
	}
}
