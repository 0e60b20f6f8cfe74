package queue

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// budgetConfig gives attempt budgets by p (3 below 0.3, 6 from 0.3) and calling hours.
func budgetConfig(c *Config) {
	c.RepCap = 1 << 20
	c.Hours = DefaultCallingHours()
	c.MaxAttempts = 3
	c.Budgets = []Budget{{MinP: 0.3, MaxAttempts: 6}}
}

// twins returns two empty queues with the same config, to run the same
// history through Rescore on one and Upsert on the other.
func twins(t *testing.T, edit func(*Config)) (*Queue, *Queue) {
	t.Helper()
	a, _ := newQueue(t, edit)
	b, _ := newQueue(t, edit)
	return a, b
}

func rescore(tb testing.TB, q *Queue, leads []Lead, now time.Time) int {
	tb.Helper()
	fast, _, err := q.rescore(context.Background(), leads, now)
	if err != nil {
		tb.Fatalf("rescore: %v", err)
	}
	return fast
}

// snapshot is every key of a queue but the reps' ledgers, prefix cut, in a
// comparable text form: sorted sets with their exact scores, hashes without
// the claim id (random by design), strings, and streams by length.
func snapshot(tb testing.TB, q *Queue) map[string]string {
	tb.Helper()
	ctx := context.Background()
	out := map[string]string{}
	iter := q.rdb.Scan(ctx, 0, q.cfg.Prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		name := strings.TrimPrefix(k, q.cfg.Prefix)
		if strings.HasPrefix(name, "q:r:") {
			continue
		}
		var v string
		switch q.rdb.Type(ctx, k).Val() {
		case "zset":
			v = fmt.Sprint(q.rdb.ZRangeWithScores(ctx, k, 0, -1).Val())
		case "hash":
			h := q.rdb.HGetAll(ctx, k).Val()
			delete(h, "cl")
			for _, f := range slices.Sorted(maps.Keys(h)) {
				v += f + "=" + h[f] + " "
			}
		case "string":
			v = q.rdb.Get(ctx, k).Val()
		case "stream":
			v = fmt.Sprint("stream of ", q.rdb.XLen(ctx, k).Val())
		}
		out[name] = v
	}
	if err := iter.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

func sameSnapshots(tb testing.TB, what string, a, b map[string]string) {
	tb.Helper()
	bad := 0
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if a[k] != b[k] && bad < 5 {
			tb.Errorf("%s: %s\n rescore: %s\n  upsert: %s", what, k, a[k], b[k])
			bad++
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok && bad < 5 {
			tb.Errorf("%s: %s only after upsert: %s", what, k, b[k])
			bad++
		}
	}
	if bad > 0 {
		tb.FailNow()
	}
}

// TestRescoreEndsAsUpsert is Rescore's contract as a property: the same
// random history (arrivals, pulls, outcomes, expired leases, calling hours,
// attempt budgets) is run on two queues, and at each round a random batch of
// leads (new probabilities, re-heats, time zone changes, leads new to the
// queue) goes through Rescore on one and Tick + UpsertBatch on the other. The
// two queues must then hold the very same keys, fields and scores.
//
// Batches naming a lead twice are applied in their order; batches of
// distinct leads are reordered by segment and score first (rescoreOrder),
// so both kinds are run.
func TestRescoreEndsAsUpsert(t *testing.T) {
	t.Parallel()
	for seed := range uint64(3) {
		for _, distinct := range []bool{false, true} {
			t.Run(fmt.Sprint("seed", seed, "distinct", distinct), func(t *testing.T) {
				t.Parallel()
				rescoreEndsAsUpsert(t, seed, distinct)
			})
		}
	}
}

func rescoreEndsAsUpsert(t *testing.T, seed uint64, distinct bool) {
	ctx := context.Background()
	qa, qb := twins(t, budgetConfig)
	r := rand.New(rand.NewPCG(seed, 3))
	pools := []string{"p1", "p2"}
	zones := []string{"", "UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"}
	now := t0
	var leads []Lead
	newLead := func() Lead {
		l := Lead{
			ID: leadID(len(leads)), Pool: pools[r.IntN(2)], P: logUniform(r, 1e-3, 1),
			TriggerAt: now.Add(-time.Duration(logUniform(r, 1, 25*86400) * 1e9)),
			Attempts:  r.IntN(7), Source: []string{"", "web", "event"}[r.IntN(3)], Timezone: zones[r.IntN(len(zones))],
		}
		if r.IntN(8) == 0 {
			l.NotBefore = now.Add(time.Duration(r.Float64() * 86400 * 1e9))
		}
		leads = append(leads, l)
		return l
	}
	for range 400 {
		newLead()
	}
	for _, q := range []*Queue{qa, qb} {
		if err := q.UpsertBatch(ctx, leads, now); err != nil {
			t.Fatal(err)
		}
	}
	claims := map[string][2]Claim{}
	fast, total := 0, 0
	for round := range 25 {
		now = now.Add(time.Duration(logUniform(r, 1, 6*3600) * 1e9))
		for k := range 6 {
			ca, erra := qa.Next(ctx, fmt.Sprint("rep", k), pools, now)
			cb, errb := qb.Next(ctx, fmt.Sprint("rep", k), pools, now)
			if ca.LeadID != cb.LeadID || (erra == nil) != (errb == nil) {
				t.Fatalf("round %d: the twins served %s (%v) and %s (%v)", round, ca.LeadID, erra, cb.LeadID, errb)
			}
			if erra == nil {
				claims[ca.LeadID] = [2]Claim{ca, cb}
			}
		}
		for _, id := range slices.Sorted(maps.Keys(claims)) {
			if r.IntN(3) > 0 {
				continue // some leases run out
			}
			c := claims[id]
			delete(claims, id)
			rep := Report{LeadID: id, SDRID: c[0].SDRID, Outcome: Outcomes[r.IntN(len(Outcomes))]}
			if rep.Outcome == OutcomeCallback && r.IntN(2) == 0 {
				rep.CallbackAt = now.Add(time.Duration(r.Float64() * 86400 * 1e9))
			}
			ra, erra := qa.Outcome(ctx, Report{LeadID: id, ClaimID: c[0].ID, SDRID: rep.SDRID, Outcome: rep.Outcome, CallbackAt: rep.CallbackAt}, now)
			rb, errb := qb.Outcome(ctx, Report{LeadID: id, ClaimID: c[1].ID, SDRID: rep.SDRID, Outcome: rep.Outcome, CallbackAt: rep.CallbackAt}, now)
			if ra != rb || (erra == nil) != (errb == nil) {
				t.Fatalf("round %d: outcome %s of %s: %+v (%v) and %+v (%v)", round, rep.Outcome, id, ra, erra, rb, errb)
			}
		}
		// Time moves on without a pull, so events are due when the batch comes.
		now = now.Add(time.Duration(logUniform(r, 1, 3600) * 1e9))
		var batch []Lead
		inBatch := map[int]bool{}
		for range 150 {
			i := r.IntN(len(leads))
			if distinct && inBatch[i] {
				continue
			}
			inBatch[i] = true
			l := &leads[i]
			l.P = logUniform(r, 1e-3, 1)
			switch r.IntN(20) {
			case 0: // re-heat
				l.TriggerAt = now.Add(-time.Duration(r.Float64() * 600 * 1e9))
			case 1: // older trigger than the queue's: a re-score only
				l.TriggerAt = l.TriggerAt.Add(-time.Hour)
			case 2:
				l.Timezone = zones[r.IntN(len(zones))]
			}
			batch = append(batch, *l)
		}
		// A few leads new to the queue: placed by Upsert on both (Rescore
		// leaves leads a pool does not hold alone), then re-scored too.
		var fresh []Lead
		for range 5 {
			fresh = append(fresh, newLead())
		}
		for _, q := range []*Queue{qa, qb} {
			if err := q.UpsertBatch(ctx, fresh, now); err != nil {
				t.Fatal(err)
			}
		}
		batch = append(batch, fresh...)
		fast += rescore(t, qa, batch, now)
		total += len(batch)
		if _, err := qb.Tick(ctx, pools, now); err != nil {
			t.Fatal(err)
		}
		if err := qb.UpsertBatch(ctx, batch, now); err != nil {
			t.Fatal(err)
		}
		sameSnapshots(t, fmt.Sprintf("round %d at %s", round, now), snapshot(t, qa), snapshot(t, qb))
	}
	if fast == 0 || fast == total {
		t.Fatalf("fast path for %d of %d leads: want both paths exercised", fast, total)
	}
	t.Logf("%d leads rescored, %d by the fast path; queues identical after every round", total, fast)
}

// TestRescoreLeavesLeadsThePoolDoesNotHold: Rescore never creates a lead.
// One its pool never held stays absent, and so does one removed (moved to
// another pool) between the caller's listing and the rescore: re-created,
// it would be queued in two pools, where two reps could pull it.
func TestRescoreLeavesLeadsThePoolDoesNotHold(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 11, 19, 10, 0, 0, 0, time.UTC)
	q, _ := newQueue(t, budgetConfig)
	before := snapshot(t, q)
	never := Lead{ID: "N", Pool: "p", P: 0.2, TriggerAt: now.Add(-time.Minute), Source: "web"}
	fast, gone, err := q.rescore(ctx, []Lead{never}, now)
	if err != nil || fast != 0 || gone != 1 {
		t.Fatalf("rescore of a lead the pool never held: fast %d, gone %d, %v; want 0, 1", fast, gone, err)
	}
	after := snapshot(t, q)
	delete(after, "q:{p}:clk") // the call moves the pool's clock, nothing else
	sameSnapshots(t, "after rescoring an unknown lead", before, after)
	if _, err := q.Get(ctx, "p", "N", now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rescore created a lead: %v", err)
	}

	moved := Lead{ID: "M", Pool: "p", P: 0.2, TriggerAt: now.Add(-time.Minute), Source: "web"}
	upsert(t, q, moved, now)
	if err := q.Remove(ctx, "p", "M", now); err != nil {
		t.Fatal(err)
	}
	moved.P = 0.6 // the new model's score, computed before the move
	if fast, gone, err := q.rescore(ctx, []Lead{moved}, now.Add(time.Second)); err != nil || fast != 0 || gone != 1 {
		t.Fatalf("rescore of a removed lead: fast %d, gone %d, %v; want 0, 1", fast, gone, err)
	}
	if _, err := q.Get(ctx, "p", "M", now.Add(time.Second)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a removed lead is back in its old pool after a rescore: %v", err)
	}
}

// TestRescoreKeepsWaitingLeads: claimed, scheduled, nurtured, booked and
// closed leads keep their state and only get the new p, a claim stays
// valid, and the new p is the one the lead comes back with.
func TestRescoreKeepsWaitingLeads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, _ := newQueue(t, func(c *Config) { c.RepCap = 10 })
	now := t0
	claimed := claimOne(t, q, "claimed", 0.9, now)
	report(t, q, claimOne(t, q, "scheduled", 0.8, now), OutcomeNoAnswer, now)
	report(t, q, claimOne(t, q, "nurtured", 0.7, now), OutcomeNotInterested, now)
	report(t, q, claimOne(t, q, "booked", 0.6, now), OutcomeMeetingBooked, now)
	report(t, q, claimOne(t, q, "closed", 0.5, now), OutcomeDisqualified, now)
	upsert(t, q, Lead{ID: "later", Pool: "p", P: 0.4, TriggerAt: now, NotBefore: now.Add(time.Hour)}, now)
	ids := []string{"claimed", "scheduled", "nurtured", "booked", "closed", "later"}

	now = now.Add(time.Minute)
	before := map[string]State{}
	var batch []Lead
	for i, id := range ids {
		st := state(t, q, "p", id, now)
		before[id] = st
		// The same trigger the queue holds: no re-heat.
		batch = append(batch, Lead{ID: id, Pool: "p", P: 0.01 * float64(i+1), TriggerAt: st.TriggerAt, Source: "web"})
	}
	if fast := rescore(t, q, batch, now); fast != len(ids) {
		t.Fatalf("fast path for %d of %d known leads", fast, len(ids))
	}
	for i, id := range ids {
		got, want := state(t, q, "p", id, now), before[id]
		want.P = 0.01 * float64(i+1)
		if got != want {
			t.Fatalf("%s after Rescore:\n got %+v\nwant %+v", id, got, want)
		}
	}
	if _, err := q.Extend(ctx, claimed.ID, claimed.SDRID, now); err != nil {
		t.Fatalf("the claim did not survive Rescore: %v", err)
	}
	// When the snooze and the lease end, both leads are ranked with their new p.
	now = before["scheduled"].NotBefore
	items, err := q.Peek(ctx, []string{"p"}, 10, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].LeadID != "scheduled" || items[0].P != 0.02 || items[1].LeadID != "claimed" || items[1].P != 0.01 {
		t.Fatalf("peek after the snooze: %+v, want scheduled (p 0.02), then claimed (p 0.01)", items)
	}
}

// TestRescoreAttemptBudget: a new p that spends a queued lead's attempt
// budget nurtures it at once, one that shrinks the budget but leaves
// attempts keeps it queued with the new priority, a claimed lead is judged
// when its lease ends, and a nurtured lead stays nurtured when its budget
// grows, all as Upsert does.
func TestRescoreAttemptBudget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 11, 19, 10, 0, 0, 0, time.UTC)
	qa, qb := twins(t, budgetConfig)
	trig := now.Add(-90 * time.Minute)
	start := []Lead{
		{ID: "spent", Pool: "p", P: 0.5, TriggerAt: trig, Attempts: 4},    // budget 6 → 3: nurture
		{ID: "left", Pool: "p", P: 0.35, TriggerAt: trig, Attempts: 1},    // budget 6 → 3: still queued
		{ID: "claimed", Pool: "p", P: 0.9, TriggerAt: trig, Attempts: 4},  // budget 6 → 3 while claimed
		{ID: "nurtured", Pool: "p", P: 0.1, TriggerAt: trig, Attempts: 4}, // budget 3: nurtured at once
	}
	for _, q := range []*Queue{qa, qb} {
		if err := q.UpsertBatch(ctx, start, now); err != nil {
			t.Fatal(err)
		}
		if c := next(t, q, "ann", []string{"p"}, now); c.LeadID != "claimed" {
			t.Fatalf("claimed %s, want the best lead", c.LeadID)
		}
	}
	now = now.Add(time.Minute)
	batch := []Lead{
		{ID: "spent", Pool: "p", P: 0.1, TriggerAt: trig},
		{ID: "left", Pool: "p", P: 0.1, TriggerAt: trig},
		{ID: "claimed", Pool: "p", P: 0.1, TriggerAt: trig},
		{ID: "nurtured", Pool: "p", P: 0.9, TriggerAt: trig},
	}
	rescore(t, qa, batch, now)
	if err := qb.UpsertBatch(ctx, batch, now); err != nil {
		t.Fatal(err)
	}
	for _, l := range batch {
		want := map[string]string{"spent": StateNurture, "left": StateQueued, "claimed": StateClaimed, "nurtured": StateNurture}[l.ID]
		if st := state(t, qa, "p", l.ID, now); st.State != want || st.P != l.P {
			t.Fatalf("%s: %+v, want %s with p %g", l.ID, st, want, l.P)
		}
	}
	if st := state(t, qa, "p", "spent", now); !st.NurtureUntil.Equal(now.Add(qa.cfg.Nurture)) {
		t.Fatalf("spent nurtured until %s, want %s", st.NurtureUntil, now.Add(qa.cfg.Nurture))
	}
	items, err := qa.Peek(ctx, []string{"p"}, 10, now)
	if err != nil {
		t.Fatal(err)
	}
	want := qa.cfg.Profile.Priority(0.1, now.Sub(trig), 1)
	if len(items) != 1 || items[0].LeadID != "left" || math.Abs(items[0].Priority-want) > relTol*want {
		t.Fatalf("peek: %+v, want only left at priority %g", items, want)
	}
	sameSnapshots(t, "after the rescore", snapshot(t, qa), snapshot(t, qb))
	// The lease ends: the claimed lead is placed with its new p, whose budget is spent.
	now = now.Add(qa.cfg.Lease)
	for _, q := range []*Queue{qa, qb} {
		if st := state(t, q, "p", "claimed", now); st.State != StateNurture {
			t.Fatalf("claimed after its lease: %+v, want nurture", st)
		}
	}
	sameSnapshots(t, "after the lease", snapshot(t, qa), snapshot(t, qb))
}

// TestActiveListsQueuedScheduledClaimed: Active pages through exactly the
// leads with a pending event, never an SLA marker or a nurtured lead.
func TestActiveListsQueuedScheduledClaimed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, _ := newQueue(t, func(c *Config) { c.RepCap = 10 })
	now := t0
	var batch []Lead
	for i := range 2500 {
		batch = append(batch, Lead{ID: leadID(i), Pool: "p", P: 0.5, TriggerAt: now.Add(-time.Duration(i) * time.Second), Attempts: i % 7})
	}
	if err := q.UpsertBatch(ctx, batch, now); err != nil {
		t.Fatal(err)
	}
	claimOne(t, q, "claimed", 0.99, now)
	report(t, q, claimOne(t, q, "scheduled", 0.99, now), OutcomeNoAnswer, now)
	report(t, q, claimOne(t, q, "gone", 0.99, now), OutcomeNotInterested, now)
	want := map[string]bool{"claimed": true, "scheduled": true}
	for i := range 2500 {
		if i%7 < q.cfg.MaxAttempts {
			want[leadID(i)] = true
		}
	}
	got := map[string]bool{}
	var cursor uint64
	for pages := 0; ; pages++ {
		ids, next, err := q.Active(ctx, "p", cursor, 500)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			got[id] = true
		}
		if cursor = next; cursor == 0 {
			break
		}
		if pages > 100 {
			t.Fatal("Active does not end")
		}
	}
	if !maps.Equal(got, want) {
		t.Fatalf("Active listed %d leads, want the %d active ones", len(got), len(want))
	}
	if _, _, err := q.Active(ctx, "bad{pool}", 0, 10); err == nil {
		t.Fatal("Active accepted an invalid pool")
	}
}

// TestActiveInOrder: ActiveInOrder lists exactly the leads a whole walk of
// Active lists, each once, the queued ones first, segment by segment in
// ascending score, then the others.
func TestActiveInOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, rdb := newQueue(t, func(c *Config) { c.RepCap = 10 })
	now := t0
	r := rand.New(rand.NewPCG(5, 8))
	var batch []Lead
	for i := range 2500 {
		age := time.Duration(logUniform(r, 1, 20*86400) * 1e9)
		batch = append(batch, Lead{ID: leadID(i), Pool: "p", P: logUniform(r, 1e-3, 1), TriggerAt: now.Add(-age), Attempts: i % 4})
	}
	if err := q.UpsertBatch(ctx, batch, now); err != nil {
		t.Fatal(err)
	}
	claimOne(t, q, "claimed", 0.99, now)
	report(t, q, claimOne(t, q, "scheduled", 0.99, now), OutcomeNoAnswer, now)
	var got []string
	err := q.ActiveInOrder(ctx, "p", 300, func(ids []string) error {
		if len(ids) == 0 || len(ids) > 300 {
			t.Fatalf("a page of %d ids, want 1 to 300", len(ids))
		}
		got = append(got, ids...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var walk []string
	for cursor := uint64(0); ; {
		ids, next, err := q.Active(ctx, "p", cursor, 500)
		if err != nil {
			t.Fatal(err)
		}
		walk = append(walk, ids...)
		if cursor = next; cursor == 0 {
			break
		}
	}
	slices.Sort(walk)
	walk = slices.Compact(walk)
	if sorted := slices.Sorted(slices.Values(got)); !slices.Equal(sorted, walk) {
		t.Fatalf("ActiveInOrder listed %d leads (%d distinct), a walk of Active %d", len(got), len(slices.Compact(sorted)), len(walk))
	}
	var want []string
	segs := len(q.cfg.Profile.Curve.Segments())
	for k := range segs {
		want = append(want, rdb.ZRange(ctx, q.poolKey("p")+"z"+fmt.Sprint(k), 0, -1).Val()...)
	}
	if len(want) < 1000 || !slices.Equal(got[:len(want)], want) {
		t.Fatalf("the first %d leads are not the queued ones in segment and score order", len(want))
	}
	if rest := got[len(want):]; len(rest) < 2 || !slices.Contains(rest, "claimed") || !slices.Contains(rest, "scheduled") {
		t.Fatalf("after the queued leads: %d others, want the claimed and the scheduled one among them", len(rest))
	}
	stop := errors.New("stop")
	pages := 0
	err = q.ActiveInOrder(ctx, "p", 300, func([]string) error { pages++; return stop })
	if !errors.Is(err, stop) || pages != 1 {
		t.Fatalf("emit's error: walk went on for %d pages and returned %v", pages, err)
	}
	if err := q.ActiveInOrder(ctx, "bad{pool}", 10, func([]string) error { return nil }); err == nil {
		t.Fatal("ActiveInOrder accepted an invalid pool")
	}
}

// TestRescoreOrder: leads are grouped by pool, then by the segment their age
// puts them in, then by their new score; a batch naming a lead twice keeps
// its order.
func TestRescoreOrder(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil)
	now := t0
	mk := func(id, pool string, p float64, age time.Duration) Lead {
		return Lead{ID: id, Pool: pool, P: p, TriggerAt: now.Add(-age)}
	}
	in := []Lead{
		mk("b-old", "b", 0.5, 3*24*time.Hour), mk("a-old-hi", "a", 0.9, 3*24*time.Hour), mk("a-new", "a", 0.01, time.Minute),
		mk("a-old-lo", "a", 0.1, 3*24*time.Hour), mk("b-new", "b", 0.2, time.Minute),
	}
	var got []string
	for _, l := range q.rescoreOrder(in, now) {
		got = append(got, l.ID)
	}
	if want := []string{"a-new", "a-old-lo", "a-old-hi", "b-new", "b-old"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	dup := append(slices.Clone(in), in[0])
	if out := q.rescoreOrder(dup, now); !slices.EqualFunc(out, dup, func(a, b Lead) bool { return a == b }) {
		t.Fatal("a batch naming a lead twice was reordered")
	}
}
