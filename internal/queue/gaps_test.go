package queue

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestRejectedLeadNeverReturnsToTheRep: after ann rejects a lead she is
// served the best lead she did not reject, or nothing, while every other
// rep still gets the exact best (the rejected one).
func TestRejectedLeadNeverReturnsToTheRep(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, func(c *Config) { c.RepCap = 100 })
	now := t0
	upsert(t, q, Lead{ID: "A", Pool: "p", P: 0.9, TriggerAt: now}, now)
	c := next(t, q, "ann", []string{"p"}, now)
	if c.LeadID != "A" {
		t.Fatalf("first claim: %s", c.LeadID)
	}
	if res := report(t, q, c, OutcomeRejected, now); res.State != StateQueued {
		t.Fatalf("rejected: %+v", res)
	}
	// A is the only lead: nothing for ann, A for bob.
	_, err := q.Next(context.Background(), "ann", []string{"p"}, now)
	wantErr(t, err, ErrEmpty)
	upsert(t, q, Lead{ID: "B", Pool: "p", P: 0.5, TriggerAt: now}, now)
	if c := next(t, q, "ann", []string{"p"}, now); c.LeadID != "B" || c.P != 0.5 {
		t.Fatalf("ann after rejecting A: %+v", c)
	}
	c = next(t, q, "bob", []string{"p"}, now)
	if c.LeadID != "A" {
		t.Fatalf("bob: %s, want A", c.LeadID)
	}
	// Bob returns it (worked, handed back): back in the queue, still not ann's.
	report(t, q, c, OutcomeReturned, now)
	upsert(t, q, Lead{ID: "C", Pool: "p", P: 0.1, TriggerAt: now}, now)
	if c := next(t, q, "ann", []string{"p"}, now); c.LeadID != "C" {
		t.Fatalf("ann after bob returned A: %s, want C", c.LeadID)
	}
	if c := next(t, q, "cid", []string{"p"}, now); c.LeadID != "A" {
		t.Fatalf("cid: %s, want A", c.LeadID)
	}
}

// TestRejectionsKeepTheOrder has one rep reject the top leads one by one,
// past the first window the pull script looks at, across segments and
// pools, and checks each pull against a brute-force order of the rest.
func TestRejectionsKeepTheOrder(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, func(c *Config) { c.RepCap = 1 })
	now := t0.Add(48 * time.Hour)
	type lead struct {
		id, pool string
		prio     float64
	}
	var all []lead
	for i := range 60 {
		pool := []string{"p", "r"}[i%2]
		age := time.Duration(i%7) * 7 * time.Minute // several curve segments
		l := Lead{ID: fmt.Sprint("L", i), Pool: pool, P: 0.05 + 0.9*float64((i*37)%60)/60, TriggerAt: now.Add(-age)}
		pl := upsert(t, q, l, now)
		all = append(all, lead{l.ID, pool, pl.Priority})
	}
	slices.SortFunc(all, func(a, b lead) int {
		switch {
		case a.prio > b.prio:
			return -1
		case a.prio < b.prio:
			return 1
		}
		return 0
	})
	pools := []string{"p", "r"}
	for i := range 40 {
		c := next(t, q, "ann", pools, now)
		if c.LeadID != all[i].id {
			t.Fatalf("pull %d: %s (priority %g), want %s (%g)", i, c.LeadID, c.Priority, all[i].id, all[i].prio)
		}
		report(t, q, c, OutcomeRejected, now)
	}
	// Another rep still gets the exact best: the lead ann rejected first.
	if c := next(t, q, "bob", pools, now); c.LeadID != all[0].id {
		t.Fatalf("bob: %s, want %s", c.LeadID, all[0].id)
	}
}

// TestNurtureEnds: a lead whose nurture runs out without a new trigger
// leaves nurture (nurture_expired), is logged, and a later trigger still
// re-heats it.
func TestNurtureEnds(t *testing.T) {
	t.Parallel()
	q, rdb := newQueue(t, nil)
	ctx := context.Background()
	now := t0
	c := claimOne(t, q, "N", 0.4, now)
	if res := report(t, q, c, OutcomeNotInterested, now); res.State != StateNurture {
		t.Fatalf("not interested: %+v", res)
	}
	end := now.Add(q.cfg.Nurture)
	if st := state(t, q, "p", "N", end.Add(-time.Second)); st.State != StateNurture {
		t.Fatalf("a second before the end: %s", st.State)
	}
	if n, err := q.Tick(ctx, []string{"p"}, end); err != nil || n < 1 {
		t.Fatalf("tick at the end of nurture: %d, %v", n, err)
	}
	st := state(t, q, "p", "N", end)
	if st.State != StateNurtureExpired || !st.NurtureUntil.IsZero() {
		t.Fatalf("after the end: %+v", st)
	}
	log, err := rdb.XRange(ctx, q.poolKey("p")+"log", "-", "+").Result()
	if err != nil || len(log) == 0 || log[len(log)-1].Values["outcome"] != "nurture_expired" || log[len(log)-1].Values["lead_id"] != "N" {
		t.Fatalf("outcome log: %v %v", log, err)
	}
	if _, err := q.Next(ctx, "ann", []string{"p"}, end.Add(time.Hour)); err == nil {
		t.Fatal("an expired lead was served")
	}
	later := end.Add(24 * time.Hour)
	if pl := upsert(t, q, Lead{ID: "N", Pool: "p", P: 0.4, TriggerAt: later}, later); pl.State != StateQueued {
		t.Fatalf("re-heat after expiry: %+v", pl)
	}

	// A re-heat during nurture cancels its end.
	c = claimOne(t, q, "M", 0.6, later)
	report(t, q, c, OutcomeNotInterested, later)
	c = next(t, q, "bob", []string{"p"}, later) // N, re-heated above
	report(t, q, c, OutcomeNotInterested, later)
	reheat := later.Add(time.Hour)
	upsert(t, q, Lead{ID: "M", Pool: "p", P: 0.6, TriggerAt: reheat}, reheat)
	if st := state(t, q, "p", "M", later.Add(q.cfg.Nurture+time.Hour)); st.State == StateNurtureExpired {
		t.Fatalf("a re-heated lead expired: %+v", st)
	}
}
