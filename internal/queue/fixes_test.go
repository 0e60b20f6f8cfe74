package queue

import (
	"context"
	"testing"
	"time"
)

// TestNurtureReheatPastHorizonLeavesUntouched: a nurtured lead gets a
// later trigger that is itself already past the horizon (a late/replayed
// event). upsert re-heats it (arm adds it to 'un'), place nurtures it again,
// and setst's "old == s" early return skips the ZREM of 'un': the dashboard
// counts a nurtured lead as untouched (and past SLA) for the whole nurture.
func TestNurtureReheatPastHorizonLeavesUntouched(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil)
	now := t0.Add(60 * 24 * time.Hour)
	upsert(t, q, Lead{ID: "L", Pool: "p", P: 0.5, TriggerAt: now.Add(-30 * 24 * time.Hour)}, now)
	if s := stats(t, q, now, "p")[0]; s.Nurture != 1 || s.Untouched != 0 {
		t.Fatalf("after the first upsert: nurture %d untouched %d", s.Nurture, s.Untouched)
	}
	now = now.Add(time.Minute)
	pl := upsert(t, q, Lead{ID: "L", Pool: "p", P: 0.5, TriggerAt: now.Add(-25 * 24 * time.Hour)}, now)
	if pl.State != StateNurture {
		t.Fatalf("placement %+v, want nurture", pl)
	}
	s := stats(t, q, now, "p")[0]
	if s.Nurture != 1 || s.Untouched != 0 || s.UntouchedPastSLA != 0 {
		t.Fatalf("a nurtured lead counted as untouched: nurture %d untouched %d past SLA %d (oldest %s)",
			s.Nurture, s.Untouched, s.UntouchedPastSLA, s.OldestUntouchedAt)
	}
}

// TestTriggerDuringScheduledCallbackReheats: callback_requested stores
// the agreed (future) time as the lead's trigger t; a real high-intent
// trigger that arrives before that time (a demo request today, callback
// agreed for next week) is "older" than t, so upsert's t > stored t test
// drops it: the lead stays scheduled for days instead of re-heating.
func TestTriggerDuringScheduledCallbackReheats(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil)
	c := claimOne(t, q, "L", 0.5, t0)
	cb := t0.Add(7 * 24 * time.Hour)
	res, err := q.Outcome(context.Background(), Report{LeadID: "L", ClaimID: c.ID, SDRID: "ann", Outcome: OutcomeCallback, CallbackAt: cb}, t0.Add(time.Minute))
	if err != nil || res.State != StateScheduled {
		t.Fatalf("callback: %+v, %v", res, err)
	}
	// A day later the lead requests a demo: a new high-intent trigger.
	now := t0.Add(24 * time.Hour)
	pl := upsert(t, q, Lead{ID: "L", Pool: "p", P: 0.5, TriggerAt: now}, now)
	if pl.State != StateQueued {
		st := state(t, q, "p", "L", now)
		t.Fatalf("new trigger during a scheduled callback: placement %+v; lead %s, trigger %s, not before %s",
			pl, st.State, st.TriggerAt, st.NotBefore)
	}
}

// TestSLABoundaryCountsBothWays: a lead first claimed exactly at
// trigger + SLA is counted both as breached (migrate treats a deadline <=
// now as passed) and as a first attempt within the SLA (claimed: age <= SLA).
func TestSLABoundaryCountsBothWays(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil)
	upsert(t, q, Lead{ID: "L", Pool: "p", P: 0.5, TriggerAt: t0}, t0)
	at := t0.Add(q.cfg.SLA)
	c := next(t, q, "ann", []string{"p"}, at)
	s := stats(t, q, at, "p")[0]
	if s.Today.Breaches+s.Today.WithinSLA != 1 {
		t.Fatalf("one first attempt at trigger+SLA: breaches %d, within SLA %d (claim breached=%v)",
			s.Today.Breaches, s.Today.WithinSLA, c.SLABreached)
	}
}

// TestRemoveAfterLeaseExpiredChargesRep: the lease ran out before the
// lead was removed (moved to another pool), but remove.lua applies no due
// events (it gets no now and runs no migrate), so whether the expired lease
// is counted against the rep depends on whether a Tick happened to run
// between the expiry and the Remove.
func TestRemoveAfterLeaseExpiredChargesRep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	run := func(tick bool) int64 {
		q, _ := newQueue(t, nil)
		claimOne(t, q, "L", 0.5, t0)
		late := t0.Add(q.cfg.Lease + time.Minute)
		if tick {
			if _, err := q.Tick(ctx, []string{"p"}, late); err != nil {
				t.Fatal(err)
			}
		}
		if err := q.Remove(ctx, "p", "L", late); err != nil {
			t.Fatal(err)
		}
		rs, err := q.Rep(ctx, "ann", []string{"p"}, late)
		if err != nil {
			t.Fatal(err)
		}
		return rs.Expired
	}
	withTick, without := run(true), run(false)
	if withTick != without {
		t.Fatalf("expired leases charged to the rep: %d with a tick before Remove, %d without", withTick, without)
	}
}

// TestAttemptAfterRetriggerIsNoBreach: a lead re-triggered while a rep
// holds it (upsert clears 'fa' and arms a new SLA deadline) and then called
// one minute after the trigger (outcome no_answer) still gets an
// sla_breached event at trigger+SLA: the call the rep reported is never
// taken as the first attempt after the trigger.
func TestAttemptAfterRetriggerIsNoBreach(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, _ := newQueue(t, nil)
	c := claimOne(t, q, "L", 0.5, t0)
	trig := t0.Add(time.Minute)
	upsert(t, q, Lead{ID: "L", Pool: "p", P: 0.5, TriggerAt: trig}, trig) // form while claimed
	report(t, q, c, OutcomeNoAnswer, trig.Add(time.Minute))               // called 1 min after it
	later := trig.Add(q.cfg.SLA + time.Second)
	if _, err := q.Tick(ctx, []string{"p"}, later); err != nil {
		t.Fatal(err)
	}
	evs, err := q.ReadEvents(ctx, "p", "r", 10)
	if err != nil {
		t.Fatal(err)
	}
	st := state(t, q, "p", "L", later)
	if len(evs) != 0 || st.SLABreached {
		t.Fatalf("attempted 1 min after its trigger, yet %d sla_breached event(s), breached=%v", len(evs), st.SLABreached)
	}
}
