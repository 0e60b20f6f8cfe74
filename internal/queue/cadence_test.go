package queue

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"
)

// claimOne queues one fresh lead and claims it.
func claimOne(t *testing.T, q *Queue, id string, p float64, now time.Time) Claim {
	t.Helper()
	upsert(t, q, Lead{ID: id, Pool: "p", P: p, TriggerAt: now, Source: "web"}, now)
	c := next(t, q, "ann", []string{"p"}, now)
	if c.LeadID != id {
		t.Fatalf("claimed %s, want %s", c.LeadID, id)
	}
	return c
}

func report(t *testing.T, q *Queue, c Claim, outcome string, now time.Time) Result {
	t.Helper()
	res, err := q.Outcome(context.Background(), Report{LeadID: c.LeadID, ClaimID: c.ID, SDRID: c.SDRID, Outcome: outcome}, now)
	if err != nil {
		t.Fatalf("%s: %v", outcome, err)
	}
	return res
}

func TestOutcomeTransitions(t *testing.T) {
	t.Parallel()
	now := t0.Add(time.Minute)
	for _, tc := range []struct {
		outcome  string
		state    string
		next     time.Duration // NextAttemptAt − now; 0 = none
		attempts int
	}{
		{OutcomeNoAnswer, StateScheduled, 15 * time.Minute, 1},
		{OutcomeVoicemail, StateScheduled, 15 * time.Minute, 1},
		{OutcomeBusy, StateScheduled, 15 * time.Minute, 1},
		{OutcomeBadNumber, StateClosed, 0, 1},
		{OutcomeDisqualified, StateClosed, 0, 0},
		{OutcomeNotInterested, StateNurture, 0, 0},
		{OutcomeMeetingBooked, StateMeeting, 0, 0},
		{OutcomeRejected, StateQueued, 0, 0},
		{OutcomeReturned, StateQueued, 0, 0},
	} {
		t.Run(tc.outcome, func(t *testing.T) {
			t.Parallel()
			q, _ := newQueue(t, nil)
			res := report(t, q, claimOne(t, q, "L", 0.3, t0), tc.outcome, now)
			var next time.Time
			if tc.next > 0 {
				next = now.Add(tc.next)
			}
			if res.State != tc.state || !res.NextAttemptAt.Equal(next) || res.Attempts != tc.attempts {
				t.Fatalf("got %+v, want state %s next %s attempts %d", res, tc.state, next, tc.attempts)
			}
			st := state(t, q, "p", "L", now)
			if st.State != tc.state || st.LastOutcome != tc.outcome || st.Attempts != tc.attempts {
				t.Fatalf("stored %+v", st)
			}
			if tc.state == StateNurture && !st.NurtureUntil.Equal(now.Add(21*24*time.Hour)) {
				t.Fatalf("nurture until %s", st.NurtureUntil)
			}
			// Only queued leads can be pulled right away.
			_, err := q.Next(context.Background(), "bob", []string{"p"}, now)
			if tc.state == StateQueued {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				wantErr(t, err, ErrEmpty)
			}
		})
	}
}

// TestCadenceToNurtureAndReheat walks a lead through six unanswered attempts
// at the configured spacing into nurture, then re-heats it.
func TestCadenceToNurtureAndReheat(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil)
	ctx := context.Background()
	spacing := q.cfg.RetrySpacing
	now := t0
	c := claimOne(t, q, "L", 0.5, now)
	for k := 1; k <= 6; k++ {
		res := report(t, q, c, OutcomeNoAnswer, now)
		if k == 6 {
			if res.State != StateNurture || !res.NextAttemptAt.IsZero() {
				t.Fatalf("after 6 attempts: %+v", res)
			}
			break
		}
		want := now.Add(spacing[min(k, len(spacing))-1])
		if res.State != StateScheduled || !res.NextAttemptAt.Equal(want) || res.Attempts != k {
			t.Fatalf("attempt %d: %+v, want next at %s", k, res, want)
		}
		_, err := q.Next(ctx, "ann", []string{"p"}, want.Add(-time.Second))
		wantErr(t, err, ErrEmpty)
		now = want
		c = next(t, q, "ann", []string{"p"}, now)
		if c.LeadID != "L" || c.AttemptFactor != q.cfg.AttemptFactor(k) || c.FirstAttempt {
			t.Fatalf("retry %d: %+v", k, c)
		}
	}
	_, err := q.Next(ctx, "ann", []string{"p"}, now.Add(2*24*time.Hour))
	wantErr(t, err, ErrEmpty)

	// A new high-intent trigger brings it back into the window, cadence reset.
	now = now.Add(3 * 24 * time.Hour)
	pl := upsert(t, q, Lead{ID: "L", Pool: "p", P: 0.5, TriggerAt: now}, now)
	if pl.State != StateQueued || pl.Segment != 0 || pl.Priority != 0.5 {
		t.Fatalf("re-heat: %+v", pl)
	}
	c = next(t, q, "ann", []string{"p"}, now.Add(time.Minute))
	if c.Attempts != 0 || !c.FirstAttempt || c.ContactFactor != 1 {
		t.Fatalf("after re-heat: %+v", c)
	}
}

func TestAttemptBudgetByProbability(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, func(c *Config) { c.Budgets = []Budget{{MinP: 0.5, MaxAttempts: 8}} })
	for _, tc := range []struct {
		id   string
		p    float64
		want int
	}{{"hi", 0.6, 8}, {"lo", 0.2, 6}} {
		now := t0
		c := claimOne(t, q, tc.id, tc.p, now)
		for k := 1; ; k++ {
			res := report(t, q, c, OutcomeBusy, now)
			if res.State == StateNurture {
				if k != tc.want {
					t.Fatalf("%s (p=%g): nurture after %d attempts, want %d", tc.id, tc.p, k, tc.want)
				}
				break
			}
			now = res.NextAttemptAt
			c = next(t, q, "ann", []string{"p"}, now)
		}
	}
}

func TestCallbackWakesAtAgeZero(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil)
	c := claimOne(t, q, "L", 0.3, t0)
	cb := t0.Add(26 * time.Hour)
	res, err := q.Outcome(context.Background(), Report{LeadID: "L", ClaimID: c.ID, SDRID: "ann", Outcome: OutcomeCallback, CallbackAt: cb}, t0.Add(time.Minute))
	if err != nil || res.State != StateScheduled || !res.NextAttemptAt.Equal(cb) {
		t.Fatalf("callback: %+v, %v", res, err)
	}
	_, err = q.Next(context.Background(), "ann", []string{"p"}, cb.Add(-time.Second))
	wantErr(t, err, ErrEmpty)
	c = next(t, q, "ann", []string{"p"}, cb)
	if c.AgeSeconds != 0 || c.Priority != 0.3 || !c.FirstAttempt {
		t.Fatalf("at the callback time: %+v", c)
	}
}

func TestReasonsCounted(t *testing.T) {
	t.Parallel()
	q, rdb := newQueue(t, nil)
	ctx := context.Background()
	c := claimOne(t, q, "L", 0.3, t0)
	_, err := q.Outcome(ctx, Report{LeadID: "L", ClaimID: c.ID, SDRID: "ann", Outcome: OutcomeNotInterested, Reason: "made_up"}, t0)
	wantErr(t, err, ErrInvalid)
	_, err = q.Outcome(ctx, Report{LeadID: "L", ClaimID: c.ID, SDRID: "ann", Outcome: "shrug"}, t0)
	wantErr(t, err, ErrInvalid)
	if _, err := q.Outcome(ctx, Report{LeadID: "L", ClaimID: c.ID, SDRID: "ann", Outcome: OutcomeNotInterested, Reason: "no_budget", Note: "next year"}, t0); err != nil {
		t.Fatal(err)
	}
	counts, err := rdb.HGetAll(ctx, q.poolKey("p")+"rsn").Result()
	if err != nil || counts["no_budget"] != "1" || counts["web|no_budget"] != "1" {
		t.Fatalf("reason counts %v, %v", counts, err)
	}
	if st := state(t, q, "p", "L", t0); st.Reason != "no_budget" {
		t.Fatalf("stored reason %q", st.Reason)
	}
	log, err := rdb.XRange(ctx, q.poolKey("p")+"log", "-", "+").Result()
	if err != nil || len(log) != 1 || log[0].Values["reason"] != "no_budget" || log[0].Values["note"] != "next year" ||
		log[0].Values["outcome"] != OutcomeNotInterested || log[0].Values["p"] != "0.3" {
		t.Fatalf("outcome log %+v, %v", log, err)
	}
}

func TestSpeedToLeadSLA(t *testing.T) {
	t.Parallel()
	q, rdb := newQueue(t, nil)
	ctx := context.Background()
	upsert(t, q, Lead{ID: "fast", Pool: "p", P: 0.9, TriggerAt: t0}, t0)
	upsert(t, q, Lead{ID: "slow", Pool: "p", P: 0.1, TriggerAt: t0}, t0)
	c := next(t, q, "ann", []string{"p"}, t0.Add(2*time.Minute))
	if c.LeadID != "fast" || !c.FirstAttempt {
		t.Fatalf("first claim: %+v", c)
	}
	if _, err := q.Tick(ctx, []string{"p"}, t0.Add(6*time.Minute)); err != nil {
		t.Fatal(err)
	}
	fast, slow := state(t, q, "p", "fast", t0.Add(6*time.Minute)), state(t, q, "p", "slow", t0.Add(6*time.Minute))
	if fast.SLABreached || !fast.FirstAttemptAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("fast: %+v", fast)
	}
	if !slow.SLABreached || !slow.FirstAttemptAt.IsZero() || !slow.SLADueAt.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("slow: %+v", slow)
	}
	ev, err := rdb.XRange(ctx, q.poolKey("p")+"ev", "-", "+").Result()
	if err != nil || len(ev) != 1 || ev[0].Values["type"] != "sla_breached" || ev[0].Values["lead_id"] != "slow" {
		t.Fatalf("events %+v, %v", ev, err)
	}
	items, err := q.Peek(ctx, []string{"p"}, 5, t0.Add(6*time.Minute))
	if err != nil || len(items) != 1 || !items[0].SLABreached {
		t.Fatalf("peek flags the breach: %+v, %v", items, err)
	}
}

func TestAgingOutAndRescore(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil)
	ctx := context.Background()
	upsert(t, q, Lead{ID: "old", Pool: "p", P: 0.9, TriggerAt: t0}, t0)
	upsert(t, q, Lead{ID: "new", Pool: "p", P: 0.2, TriggerAt: t0}, t0)
	// A new score (same trigger) re-ranks at once.
	upsert(t, q, Lead{ID: "new", Pool: "p", P: 0.95, TriggerAt: t0}, t0)
	items, err := q.Peek(ctx, []string{"p"}, 5, t0.Add(time.Hour))
	if err != nil || len(items) != 2 || items[0].LeadID != "new" || items[0].Segment != 2 {
		t.Fatalf("after re-score: %+v, %v", items, err)
	}
	want := 0.95 * q.cfg.Curve.Value(time.Hour)
	if math.Abs(items[0].Priority-want) > 1e-12 {
		t.Fatalf("priority %g, want %g", items[0].Priority, want)
	}
	// At the curve's horizon both leave the active queue for nurture.
	end := t0.Add(q.cfg.Curve.Horizon())
	_, err = q.Next(ctx, "ann", []string{"p"}, end)
	wantErr(t, err, ErrEmpty)
	if st := state(t, q, "p", "old", end); st.State != StateNurture {
		t.Fatalf("at the horizon: %+v", st)
	}
}

func TestRemoveAndMovePools(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil)
	ctx := context.Background()
	upsert(t, q, Lead{ID: "L", Pool: "a", P: 0.5, TriggerAt: t0}, t0)
	c := next(t, q, "ann", []string{"a"}, t0)
	if err := q.Remove(ctx, "a", "L", t0); err != nil {
		t.Fatal(err)
	}
	wantErr(t, q.Remove(ctx, "a", "L", t0), ErrNotFound)
	_, err := q.Outcome(ctx, Report{LeadID: "L", ClaimID: c.ID, SDRID: "ann", Outcome: OutcomeBusy}, t0)
	wantErr(t, err, ErrStaleClaim)
	upsert(t, q, Lead{ID: "L", Pool: "b", P: 0.5, TriggerAt: t0}, t0)
	// Removing ended ann's claim, so her cap is free for the lead's new pool.
	if c := next(t, q, "ann", []string{"a", "b"}, t0); c.Pool != "b" {
		t.Fatalf("claimed %+v", c)
	}
	_, err = q.Get(ctx, "a", "L", t0)
	wantErr(t, err, ErrNotFound)
}

func TestInvalidArguments(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil)
	ctx := context.Background()
	for _, l := range []Lead{
		{ID: "", Pool: "p", P: 0.5, TriggerAt: t0},
		{ID: "x", Pool: "", P: 0.5, TriggerAt: t0},
		{ID: "x", Pool: "p{", P: 0.5, TriggerAt: t0},
		{ID: "x", Pool: "p", P: 1.5, TriggerAt: t0},
		{ID: "x", Pool: "p", P: math.NaN(), TriggerAt: t0},
		{ID: "x", Pool: "p", P: 0.5},
	} {
		_, err := q.Upsert(ctx, l, t0)
		wantErr(t, err, ErrInvalid)
	}
	_, err := q.Next(ctx, "", []string{"p"}, t0)
	wantErr(t, err, ErrInvalid)
	_, err = q.Next(ctx, "ann", nil, t0)
	wantErr(t, err, ErrInvalid)
	_, err = q.Next(ctx, "ann", []string{"p", "p"}, t0)
	wantErr(t, err, ErrInvalid)
	_, err = q.Peek(ctx, []string{"p"}, 0, t0)
	wantErr(t, err, ErrInvalid)
	// A zero probability is allowed and ranks last.
	upsert(t, q, Lead{ID: "zero", Pool: "p", P: 0, TriggerAt: t0}, t0)
	upsert(t, q, Lead{ID: "tiny", Pool: "p", P: 1e-6, TriggerAt: t0}, t0)
	if items, err := q.Peek(ctx, []string{"p"}, 5, t0); err != nil || len(items) != 2 || items[1].LeadID != "zero" {
		t.Fatalf("peek: %+v, %v", items, err)
	}
}

// nineToFive sets calling hours of 09:00–17:00, Monday to Friday.
func nineToFive(c *Config) {
	c.Hours = &CallingHours{Start: 9 * time.Hour, End: 17 * time.Hour,
		Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}}
}

func TestCallingHours(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nineToFive)
	ctx := context.Background()
	// t0 is Friday 2026-11-20 09:00 UTC: 04:00 in New York (UTC−5), 10:00 in Berlin.
	ny := upsert(t, q, Lead{ID: "ny", Pool: "p", P: 0.9, TriggerAt: t0, Timezone: "America/New_York"}, t0)
	berlin := upsert(t, q, Lead{ID: "berlin", Pool: "p", P: 0.5, TriggerAt: t0, Timezone: "Europe/Berlin"}, t0)
	upsert(t, q, Lead{ID: "nowhere", Pool: "p", P: 0.1, TriggerAt: t0, Timezone: "Not/AZone"}, t0)
	if ny.State != StateScheduled || berlin.State != StateQueued {
		t.Fatalf("ny %+v, berlin %+v", ny, berlin)
	}
	if st := state(t, q, "p", "ny", t0); !st.NotBefore.Equal(time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)) {
		t.Fatalf("ny waits until %s, want 09:00 New York", st.NotBefore)
	}
	peek := func(at time.Time) []string {
		t.Helper()
		items, err := q.Peek(ctx, []string{"p"}, 10, at)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range items {
			ids = append(ids, it.LeadID)
		}
		return ids
	}
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{t0, "[berlin nowhere]"},
		{time.Date(2026, 11, 20, 13, 59, 0, 0, time.UTC), "[berlin nowhere]"},
		{time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC), "[ny berlin nowhere]"}, // 09:00 New York
		{time.Date(2026, 11, 20, 16, 0, 0, 0, time.UTC), "[ny nowhere]"},        // 17:00 Berlin
		{time.Date(2026, 11, 20, 22, 0, 0, 0, time.UTC), "[nowhere]"},           // 17:00 New York
		{time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC), "[nowhere]"},           // Sunday
		{time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC), "[berlin nowhere]"},     // Monday 09:00 Berlin
	} {
		if got := fmt.Sprint(peek(tc.at)); got != tc.want {
			t.Errorf("at %s: %s, want %s", tc.at.Format(time.RFC3339), got, tc.want)
		}
	}
}

func TestReheatKeepsTerminalStates(t *testing.T) {
	t.Parallel()
	q, rdb := newQueue(t, nil)
	ctx := context.Background()
	report(t, q, claimOne(t, q, "won", 0.5, t0), OutcomeMeetingBooked, t0.Add(time.Minute))
	report(t, q, claimOne(t, q, "dq", 0.5, t0), OutcomeDisqualified, t0.Add(time.Minute))
	later := t0.Add(time.Hour)
	for _, id := range []string{"won", "dq"} {
		if pl := upsert(t, q, Lead{ID: id, Pool: "p", P: 0.9, TriggerAt: later}, later); pl.State == StateQueued {
			t.Fatalf("%s re-opened by a new trigger: %+v", id, pl)
		}
	}
	if _, err := q.Tick(ctx, []string{"p"}, later.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.XLen(ctx, q.poolKey("p")+"ev").Result(); n != 0 {
		t.Fatalf("%d SLA events for leads out of the queue", n)
	}
	if st := state(t, q, "p", "won", later); st.State != StateMeeting || st.P != 0.9 {
		t.Fatalf("won: %+v", st)
	}
}

func TestCallbackWithoutTimeWaitsOneSpacing(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil)
	c := claimOne(t, q, "L", 0.3, t0)
	res := report(t, q, c, OutcomeCallback, t0)
	if want := t0.Add(q.cfg.RetrySpacing[0]); res.State != StateScheduled || !res.NextAttemptAt.Equal(want) {
		t.Fatalf("got %+v, want scheduled at %s", res, want)
	}
}

// TestSLAClockStartsAtCallingHours: a lead that arrives outside its calling
// hours is not late before anyone may call it: its SLA clock starts at the
// next opening, for the deadline, the breach, the dashboard and the claim.
func TestSLAClockStartsAtCallingHours(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nineToFive)
	ctx := context.Background()
	// t0 is Friday 09:00 UTC, 04:00 in New York: the opening is 14:00 UTC.
	open := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	upsert(t, q, Lead{ID: "ny", Pool: "p", P: 0.9, TriggerAt: t0, Timezone: "America/New_York"}, t0)
	upsert(t, q, Lead{ID: "late", Pool: "p", P: 0.5, TriggerAt: t0, Timezone: "America/New_York"}, t0)
	if st := state(t, q, "p", "ny", t0); !st.SLADueAt.Equal(open.Add(q.cfg.SLA)) {
		t.Fatalf("SLA due %s, want the opening %s + SLA", st.SLADueAt, open)
	}
	// Hours after the trigger but before the opening: not late, not untouched yet.
	before := open.Add(-time.Minute)
	if _, err := q.Tick(ctx, []string{"p"}, before); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, q, before, "p")[0]; s.Today.Breaches != 0 || s.Untouched != 0 || s.UntouchedPastSLA != 0 {
		t.Fatalf("before the opening: breaches %d, untouched %d (past SLA %d)", s.Today.Breaches, s.Untouched, s.UntouchedPastSLA)
	}
	if evs, err := q.ReadEvents(ctx, "p", "r", 10); err != nil || len(evs) != 0 {
		t.Fatalf("before the opening: %d sla_breached events (%v)", len(evs), err)
	}
	// Claimed a minute after the opening: within the SLA.
	c := next(t, q, "ann", []string{"p"}, open.Add(time.Minute))
	if c.LeadID != "ny" || !c.FirstAttempt || c.SLABreached || !c.SLADueAt.Equal(open.Add(q.cfg.SLA)) {
		t.Fatalf("claim %+v", c)
	}
	// The other lead is not called: it breaches at the opening + SLA.
	after := open.Add(q.cfg.SLA + time.Second)
	if _, err := q.Tick(ctx, []string{"p"}, after); err != nil {
		t.Fatal(err)
	}
	s := stats(t, q, after, "p")[0]
	if s.Today.WithinSLA != 1 || s.Today.Breaches != 1 || s.Untouched != 1 || s.UntouchedPastSLA != 1 || !s.OldestUntouchedAt.Equal(open) {
		t.Fatalf("after the deadline: within SLA %d, breaches %d, untouched %d (past SLA %d, oldest %s)",
			s.Today.WithinSLA, s.Today.Breaches, s.Untouched, s.UntouchedPastSLA, s.OldestUntouchedAt)
	}
	if st := state(t, q, "p", "late", after); !st.SLABreached {
		t.Fatalf("unclaimed lead past its deadline: %+v", st)
	}
}
