package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestConcurrentPullsNeverShareALead: 100 reps pull at once from the same
// pools until the queue is empty; nobody gets a lead twice or another rep's
// lead, and together they drain exactly the queue.
func TestConcurrentPullsNeverShareALead(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil)
	pools := []string{"a", "b", "c"}
	const n = 3000
	for i := range n {
		upsert(t, q, Lead{ID: leadID(i), Pool: pools[i%3], P: float64(i%97+1) / 100,
			TriggerAt: t0.Add(-time.Duration(i) * time.Second)}, t0)
	}
	var (
		mu  sync.Mutex
		got = map[string]string{} // lead -> rep
		wg  sync.WaitGroup
	)
	errs := make(chan error, 100)
	for g := range 100 {
		wg.Go(func() {
			sdr := fmt.Sprintf("rep-%03d", g)
			for i := 0; ; i++ {
				now := t0.Add(time.Duration(i) * time.Millisecond)
				c, err := q.Next(context.Background(), sdr, pools, now)
				if errors.Is(err, ErrEmpty) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				prev, dup := got[c.LeadID]
				got[c.LeadID] = sdr
				mu.Unlock()
				if dup {
					errs <- fmt.Errorf("%s handed to %s and %s", c.LeadID, prev, sdr)
					return
				}
				// Resolve the claim so the rep (cap 1) can pull again.
				if _, err := q.Outcome(context.Background(), Report{LeadID: c.LeadID, ClaimID: c.ID, SDRID: sdr, Outcome: OutcomeMeetingBooked}, now); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("drained %d distinct leads, queued %d", len(got), n)
	}
}

// TestConcurrentClaimsWithoutResolving: reps with a large cap race on a small
// queue while holding every claim; each lead is claimed exactly once.
func TestConcurrentClaimsWithoutResolving(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, func(c *Config) { c.RepCap = 1000 })
	const n = 500
	for i := range n {
		upsert(t, q, Lead{ID: leadID(i), Pool: "x", P: 0.5, TriggerAt: t0.Add(-time.Duration(i) * time.Minute)}, t0)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for g := range 100 {
		wg.Go(func() {
			for {
				c, err := q.Next(context.Background(), fmt.Sprint("r", g), []string{"x"}, t0.Add(time.Second))
				if err != nil {
					return
				}
				mu.Lock()
				seen[c.LeadID]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("claimed %d distinct leads of %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Fatalf("%s claimed %d times", id, k)
		}
	}
}

func TestLeaseExpiryRecycles(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil)
	ctx := context.Background()
	upsert(t, q, Lead{ID: "L", Pool: "p", P: 0.4, TriggerAt: t0}, t0)
	c := next(t, q, "ann", []string{"p"}, t0)
	if want := t0.Add(10 * time.Minute); !c.LeaseExpiresAt.Equal(want) {
		t.Fatalf("lease ends %s, want %s", c.LeaseExpiresAt, want)
	}
	// Extending pushes the end; nobody else can take the lead meanwhile.
	exp, err := q.Extend(ctx, c.ID, "ann", t0.Add(9*time.Minute))
	if err != nil || !exp.Equal(t0.Add(19*time.Minute)) {
		t.Fatalf("extend: %s, %v", exp, err)
	}
	_, err = q.Next(ctx, "bob", []string{"p"}, t0.Add(15*time.Minute))
	wantErr(t, err, ErrEmpty)
	// After the lease ends the lead is back, for anyone.
	at := t0.Add(19*time.Minute + time.Second)
	c2 := next(t, q, "bob", []string{"p"}, at)
	if c2.LeadID != "L" || c2.ID == c.ID || c2.FirstAttempt {
		t.Fatalf("recycled claim %+v", c2)
	}
	// The expired claim is dead for every operation.
	_, err = q.Extend(ctx, c.ID, "ann", at)
	wantErr(t, err, ErrStaleClaim)
	_, err = q.Outcome(ctx, Report{LeadID: "L", ClaimID: c.ID, SDRID: "ann", Outcome: OutcomeNoAnswer}, at)
	wantErr(t, err, ErrStaleClaim)
	// Counted against ann, and ann's cap is free again.
	rs, err := q.Rep(ctx, "ann", []string{"p"}, at)
	if err != nil || rs.Expired != 1 || rs.Open != 0 {
		t.Fatalf("ann: %+v, %v", rs, err)
	}
	if st := state(t, q, "p", "L", at); st.Recycled != 1 || st.SDRID != "bob" || st.State != StateClaimed {
		t.Fatalf("state after recycling: %+v", st)
	}
	// Expiry is found lazily by whichever call touches the pool first: here Peek.
	at = at.Add(11 * time.Minute)
	items, err := q.Peek(ctx, []string{"p"}, 10, at)
	if err != nil || len(items) != 1 || items[0].LeadID != "L" {
		t.Fatalf("peek after bob's lease ended: %+v, %v", items, err)
	}
}

// TestStaleClaimsChangeNothing: wrong, foreign, forged, used or expired claim
// ids are refused and leave the lead exactly as it was.
func TestStaleClaimsChangeNothing(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil)
	ctx := context.Background()
	upsert(t, q, Lead{ID: "L", Pool: "p", P: 0.4, TriggerAt: t0}, t0)
	upsert(t, q, Lead{ID: "M", Pool: "p", P: 0.1, TriggerAt: t0}, t0)
	c := next(t, q, "ann", []string{"p"}, t0)
	now := t0.Add(time.Minute)
	before := state(t, q, "p", "L", now)

	forged := claimToken("p") + "." + randomSuffix() + ".L"
	for _, tc := range []struct{ name, lead, claim, sdr string }{
		{"foreign rep", "L", c.ID, "bob"},
		{"forged id", "L", forged, "ann"},
		{"other pool", "L", claimToken("q") + "." + randomSuffix() + ".L", "ann"},
		{"malformed", "L", "garbage", "ann"},
		{"other lead", "M", c.ID, "ann"},
	} {
		_, err := q.Outcome(ctx, Report{LeadID: tc.lead, ClaimID: tc.claim, SDRID: tc.sdr, Outcome: OutcomeMeetingBooked}, now)
		wantErr(t, err, ErrStaleClaim)
		if tc.name != "other lead" { // extend and release do not name a lead
			_, err = q.Extend(ctx, tc.claim, tc.sdr, now)
			wantErr(t, err, ErrStaleClaim)
			wantErr(t, q.Release(ctx, tc.claim, tc.sdr, now), ErrStaleClaim)
		}
		if after := state(t, q, "p", "L", now); after != before {
			t.Fatalf("%s changed the lead:\n%+v\n%+v", tc.name, before, after)
		}
	}
	// The rightful owner still can; then the used claim is stale too.
	if _, err := q.Outcome(ctx, Report{LeadID: "L", ClaimID: c.ID, SDRID: "ann", Outcome: OutcomeNoAnswer}, now); err != nil {
		t.Fatal(err)
	}
	before = state(t, q, "p", "L", now)
	_, err := q.Outcome(ctx, Report{LeadID: "L", ClaimID: c.ID, SDRID: "ann", Outcome: OutcomeMeetingBooked}, now)
	wantErr(t, err, ErrStaleClaim)
	if after := state(t, q, "p", "L", now); after != before {
		t.Fatalf("a used claim changed the lead:\n%+v\n%+v", before, after)
	}
}

func TestRepCap(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{1, 3} {
		t.Run(fmt.Sprint("cap", limit), func(t *testing.T) {
			t.Parallel()
			q, _ := newQueue(t, func(c *Config) { c.RepCap = limit })
			ctx := context.Background()
			for i := range 10 {
				upsert(t, q, Lead{ID: leadID(i), Pool: "p", P: 0.5, TriggerAt: t0}, t0)
			}
			var claims []Claim
			for range limit {
				claims = append(claims, next(t, q, "ann", []string{"p"}, t0))
			}
			_, err := q.Next(ctx, "ann", []string{"p"}, t0)
			wantErr(t, err, ErrRepAtCap)
			next(t, q, "bob", []string{"p"}, t0) // the cap is per rep
			if err := q.Release(ctx, claims[0].ID, "ann", t0); err != nil {
				t.Fatal(err)
			}
			c := next(t, q, "ann", []string{"p"}, t0)
			if c.LeadID != claims[0].LeadID {
				t.Errorf("after release got %s, want the released %s back (best, same priority)", c.LeadID, claims[0].LeadID)
			}
			_, err = q.Next(ctx, "ann", []string{"p"}, t0)
			wantErr(t, err, ErrRepAtCap)
		})
	}
}

func TestRepDailyCap(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, func(c *Config) { c.RepDailyCap = 2 })
	for i := range 5 {
		upsert(t, q, Lead{ID: leadID(i), Pool: "p", P: 0.5, TriggerAt: t0}, t0)
	}
	for range 2 {
		c := next(t, q, "ann", []string{"p"}, t0)
		if _, err := q.Outcome(t.Context(), Report{LeadID: c.LeadID, ClaimID: c.ID, SDRID: "ann", Outcome: OutcomeMeetingBooked}, t0); err != nil {
			t.Fatal(err)
		}
	}
	_, err := q.Next(t.Context(), "ann", []string{"p"}, t0)
	wantErr(t, err, ErrRepDailyCap)
	next(t, q, "ann", []string{"p"}, t0.Add(24*time.Hour))
}
