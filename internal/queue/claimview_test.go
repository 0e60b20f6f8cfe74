package queue

import (
	"strings"
	"testing"
	"time"
)

// TestClaimCarriesItsState checks that what Next returns about the claimed
// lead (the API answers from it without reading the lead again) agrees with
// Get just after: first and later claims, within and past the SLA.
func TestClaimCarriesItsState(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, func(c *Config) { c.SLA = 5 * time.Minute })
	ctx := t.Context()
	upsert(t, q, Lead{ID: "fresh", Pool: "p", P: 0.9, TriggerAt: t0}, t0)
	upsert(t, q, Lead{ID: "late", Pool: "p", P: 0.2, TriggerAt: t0}, t0)
	check := func(name string, c Claim, now time.Time) {
		t.Helper()
		st := state(t, q, "p", c.LeadID, now)
		if st.State != StateClaimed || st.Attempts != c.Attempts || !st.FirstAttemptAt.Equal(c.FirstAttemptAt) ||
			!st.SLADueAt.Equal(c.SLADueAt) || st.SLABreached != c.SLABreached || !st.TriggerAt.Equal(c.TriggerAt) {
			t.Errorf("%s: claim says attempts %d, first attempt %s, due %s, breached %v, trigger %s; Get says %+v",
				name, c.Attempts, c.FirstAttemptAt, c.SLADueAt, c.SLABreached, c.TriggerAt, st)
		}
	}
	now := t0.Add(time.Minute)
	c := next(t, q, "ann", []string{"p"}, now)
	if c.LeadID != "fresh" || !c.FirstAttempt || !c.FirstAttemptAt.Equal(now) || c.SLABreached {
		t.Fatalf("first claim: %+v", c)
	}
	check("first claim", c, now)
	if _, err := q.Outcome(ctx, Report{LeadID: c.LeadID, ClaimID: c.ID, SDRID: "ann", Outcome: OutcomeNoAnswer}, now); err != nil {
		t.Fatal(err)
	}

	// "late" was not attempted within its SLA: flagged when claimed.
	now = t0.Add(10 * time.Minute)
	c = next(t, q, "bob", []string{"p"}, now)
	if c.LeadID != "late" || !c.SLABreached || !c.FirstAttempt {
		t.Fatalf("late claim: %+v", c)
	}
	check("breached first claim", c, now)

	// A retry of "fresh": not the first attempt, which is kept from before.
	now = t0.Add(2 * time.Hour)
	c = next(t, q, "ann", []string{"p"}, now)
	if c.LeadID != "fresh" || c.FirstAttempt || !c.FirstAttemptAt.Equal(t0.Add(time.Minute)) || c.Attempts != 1 {
		t.Fatalf("retry: %+v", c)
	}
	check("retry", c, now)
}

// TestNextReturnsLeadData checks Config.LeadData: the pull script returns
// the claimed lead's hash (empty when there is none), and nothing without it.
func TestNextReturnsLeadData(t *testing.T) {
	t.Parallel()
	var prefix string
	q, rdb := newQueue(t, func(c *Config) {
		prefix = c.Prefix
		c.LeadData = &KeyPattern{Prefix: c.Prefix + "lead:{", Suffix: "}"}
	})
	ctx := t.Context()
	if err := rdb.HSet(ctx, prefix+"lead:{A}", "source", "web", "n", "3").Err(); err != nil {
		t.Fatal(err)
	}
	upsert(t, q, Lead{ID: "A", Pool: "p", P: 0.9, TriggerAt: t0}, t0)
	upsert(t, q, Lead{ID: "B", Pool: "p", P: 0.1, TriggerAt: t0}, t0)
	c := next(t, q, "ann", []string{"p"}, t0)
	if c.LeadID != "A" || len(c.Data) != 2 || c.Data["source"] != "web" || c.Data["n"] != "3" {
		t.Fatalf("claim of A: %s with data %v", c.LeadID, c.Data)
	}
	c = next(t, q, "bob", []string{"p"}, t0)
	if c.LeadID != "B" || c.Data == nil || len(c.Data) != 0 {
		t.Fatalf("claim of B (no data key): %s with data %v", c.LeadID, c.Data)
	}

	plain, _ := newQueue(t, nil)
	upsert(t, plain, Lead{ID: "A", Pool: "p", P: 0.9, TriggerAt: t0}, t0)
	if c := next(t, plain, "ann", []string{"p"}, t0); c.Data != nil {
		t.Fatalf("without LeadData: data %v", c.Data)
	}
	cfg := DefaultConfig()
	cfg.Tag, cfg.LeadData = "all", &KeyPattern{}
	if _, err := New(rdb, cfg); err == nil || !strings.Contains(err.Error(), "LeadData") {
		t.Fatalf("LeadData with a Tag: %v", err)
	}
}
