package queue

import (
	"context"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func stats(t *testing.T, q *Queue, now time.Time, pools ...string) []PoolStats {
	t.Helper()
	s, err := q.Stats(context.Background(), pools, now)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func outcome(t *testing.T, q *Queue, c Claim, o, reason string, now time.Time) {
	t.Helper()
	if _, err := q.Outcome(context.Background(), Report{LeadID: c.LeadID, ClaimID: c.ID, SDRID: c.SDRID, Outcome: o, Reason: reason}, now); err != nil {
		t.Fatalf("%s %s: %v", c.LeadID, o, err)
	}
}

// TestStatsScripted runs forms, claims and outcomes through the real queue
// and checks every figure a manager sees against what happened.
func TestStatsScripted(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil) // SLA 5 minutes
	for _, l := range []Lead{
		{ID: "a", P: 0.9, Source: "web"}, {ID: "b", P: 0.5, Source: "web"},
		{ID: "c", P: 0.3, Source: "ref"}, {ID: "d", P: 0.1},
	} {
		l.Pool, l.TriggerAt = "p", t0
		upsert(t, q, l, t0)
	}
	s := stats(t, q, t0, "p")[0]
	if s.Queued != 4 || s.Untouched != 4 || s.UntouchedPastSLA != 0 || !s.OldestUntouchedAt.Equal(t0) {
		t.Fatalf("after the forms: %+v", s)
	}
	a := next(t, q, "ann", []string{"p"}, t0.Add(time.Minute))   // 60 s: within the SLA
	b := next(t, q, "bob", []string{"p"}, t0.Add(8*time.Minute)) // SLA deadlines of b, c, d pass first
	if a.LeadID != "a" || b.LeadID != "b" {
		t.Fatalf("claimed %s, %s", a.LeadID, b.LeadID)
	}
	if s := stats(t, q, t0.Add(8*time.Minute), "p")[0]; s.Claimed != 2 || s.Queued != 2 || s.Untouched != 2 || s.UntouchedPastSLA != 2 {
		t.Fatalf("with two claims: %+v", s)
	}
	outcome(t, q, a, OutcomeMeetingBooked, "", t0.Add(9*time.Minute))
	outcome(t, q, b, OutcomeNoAnswer, "", t0.Add(9*time.Minute))
	c := next(t, q, "ann", []string{"p"}, t0.Add(9*time.Minute)) // 540 s
	outcome(t, q, c, OutcomeNotInterested, "no_need", t0.Add(10*time.Minute))

	now := t0.Add(10 * time.Minute)
	s = stats(t, q, now, "p")[0]
	want := PoolStats{Pool: "p", Queued: 1, Scheduled: 1, Nurture: 1, Meeting: 1, Untouched: 1, UntouchedPastSLA: 1, OldestUntouchedAt: t0}
	if s.Queued != want.Queued || s.Scheduled != want.Scheduled || s.Claimed != 0 || s.Nurture != want.Nurture ||
		s.Meeting != want.Meeting || s.Closed != 0 || s.Untouched != 1 || s.UntouchedPastSLA != 1 || !s.OldestUntouchedAt.Equal(t0) {
		t.Fatalf("states: %+v", s)
	}
	if s.Today.FirstAttempts != 3 || s.Today.WithinSLA != 1 || s.Today.Breaches != 3 {
		t.Fatalf("today: %+v", s.Today)
	}
	for _, b := range s.Today.Buckets {
		wantN := map[float64]int64{60: 1, 600: 2}[b.UpTo]
		if b.Count != wantN {
			t.Errorf("bucket ≤%g s: %d, want %d", b.UpTo, b.Count, wantN)
		}
	}
	// Rank 1.5 of 3 falls halfway into the (300, 600] bucket's first half: 300 + 300·0.5/2.
	if p50, ok := s.Today.Quantile(0.5); !ok || p50 != 375 {
		t.Errorf("p50 %g %v, want 375", p50, ok)
	}
	if s.Today.Within(5*time.Minute) != 1 || s.Week.FirstAttempts != 3 {
		t.Errorf("within 5 min %d, week %+v", s.Today.Within(5*time.Minute), s.Week)
	}
	wantFunnel := map[string]Funnel{
		"web": {Entered: 2, Attempted: 2, Connected: 1, Meetings: 1},
		"ref": {Entered: 1, Attempted: 1, Connected: 1},
		"":    {Entered: 1},
	}
	if len(s.Funnel) != len(wantFunnel) {
		t.Errorf("funnel %+v", s.Funnel)
	}
	for src, f := range wantFunnel {
		if s.Funnel[src] != f {
			t.Errorf("funnel %q: %+v, want %+v", src, s.Funnel[src], f)
		}
	}
	if s.Reasons["ref"]["no_need"] != 1 || len(s.Reasons) != 1 {
		t.Errorf("reasons %v", s.Reasons)
	}

	// A second meeting outcome for the same lead later must not count it twice.
	upsert(t, q, Lead{ID: "b", Pool: "p", P: 0.5, Source: "web", TriggerAt: t0.Add(30 * time.Minute)}, t0.Add(30*time.Minute))
	b = next(t, q, "bob", []string{"p"}, t0.Add(31*time.Minute))
	outcome(t, q, b, OutcomeMeetingBooked, "", t0.Add(32*time.Minute))
	if f := stats(t, q, t0.Add(32*time.Minute), "p")[0].Funnel["web"]; f != (Funnel{Entered: 2, Attempted: 2, Connected: 2, Meetings: 2}) {
		t.Errorf("after b's meeting: %+v", f)
	}
	if err := q.Remove(context.Background(), "p", "d", t0.Add(32*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, q, t0.Add(33*time.Minute), "p")[0]; s.Queued != 0 || s.Untouched != 0 || !s.OldestUntouchedAt.IsZero() || s.Meeting != 2 {
		t.Errorf("after removing d: %+v", s)
	}
}

// TestStatsDays checks the daily windows: yesterday is in the week, not today.
func TestStatsDays(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil)
	y := t0.Add(-24 * time.Hour)
	upsert(t, q, Lead{ID: "old", Pool: "p", P: 0.5, TriggerAt: y}, y)
	next(t, q, "ann", []string{"p"}, y.Add(20*time.Second))
	upsert(t, q, Lead{ID: "new", Pool: "p", P: 0.5, TriggerAt: t0}, t0)
	next(t, q, "bob", []string{"p"}, t0.Add(2*time.Hour)) // breached at t0+5m, attempted after 7200 s
	s := stats(t, q, t0.Add(2*time.Hour), "p")[0]
	if s.Today.FirstAttempts != 1 || s.Today.WithinSLA != 0 || s.Today.Breaches != 1 ||
		s.Week.FirstAttempts != 2 || s.Week.WithinSLA != 1 || s.Week.Buckets[0].Count != 1 {
		t.Fatalf("today %+v, week %+v", s.Today, s.Week)
	}
	if got := stats(t, q, t0.Add(8*24*time.Hour), "p")[0]; got.Week.FirstAttempts != 0 {
		t.Errorf("8 days later the week still holds %+v", got.Week)
	}
}

// TestStatsStateCountsMatchLeads drives random cadences, claims, lease
// expiries and removals, then compares the counters with the leads' states.
func TestStatsStateCountsMatchLeads(t *testing.T) {
	t.Parallel()
	for seed := range uint64(8) {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			t.Parallel()
			randomWalk(t, seed)
		})
	}
}

func randomWalk(t *testing.T, seed uint64) {
	q, _ := newQueue(t, func(c *Config) { c.RepCap = 3 })
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 2))
	now := t0
	ids := map[string]bool{}
	var open []Claim
	outcomes := []string{OutcomeNoAnswer, OutcomeBadNumber, OutcomeMeetingBooked, OutcomeNotInterested, OutcomeCallback, OutcomeRejected, OutcomeReturned, OutcomeDisqualified}
	for range 400 {
		now = now.Add(time.Duration(rng.IntN(60)) * time.Second)
		switch r := rng.IntN(10); {
		case r < 3:
			id := "L" + strconv.Itoa(rng.IntN(40))
			ids[id] = true
			upsert(t, q, Lead{ID: id, Pool: "p", P: rng.Float64(), TriggerAt: now.Add(-time.Duration(rng.IntN(600)) * time.Second), Source: "s"}, now)
		case r < 6:
			c, err := q.Next(ctx, "rep"+strconv.Itoa(rng.IntN(4)), []string{"p"}, now)
			if err == nil {
				open = append(open, c)
			}
		case r < 9 && len(open) > 0:
			i := rng.IntN(len(open))
			c := open[i]
			open = slices.Delete(open, i, i+1)
			_, _ = q.Outcome(ctx, Report{LeadID: c.LeadID, ClaimID: c.ID, SDRID: c.SDRID, Outcome: outcomes[rng.IntN(len(outcomes))]}, now)
		case r == 9 && len(ids) > 0:
			id := "L" + strconv.Itoa(rng.IntN(40))
			if q.Remove(ctx, "p", id, now) == nil {
				delete(ids, id)
			}
		}
	}
	if _, err := q.Tick(ctx, []string{"p"}, now); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	untouched := 0
	for id := range ids {
		st := state(t, q, "p", id, now)
		counts[st.State]++
		// Untouched: not claimed since the latest trigger, which has come; a
		// claimed lead re-triggered during its claim is untouched again.
		if st.FirstAttemptAt.IsZero() && !st.TriggerAt.After(now) && (st.State == StateQueued || st.State == StateScheduled || st.State == StateClaimed) {
			untouched++
		}
	}
	s := stats(t, q, now, "p")[0]
	got := map[string]int64{StateQueued: s.Queued, StateScheduled: s.Scheduled, StateClaimed: s.Claimed,
		StateNurture: s.Nurture, StateMeeting: s.Meeting, StateClosed: s.Closed}
	for st, n := range got {
		if n != counts[st] {
			t.Errorf("%s: counter %d, leads %d (all %v)", st, n, counts[st], counts)
		}
	}
	if s.Untouched != int64(untouched) {
		t.Errorf("untouched: counter %d, leads %d", s.Untouched, untouched)
	}
	if len(counts) < 4 {
		t.Errorf("the random walk reached only states %v: too weak a test", counts)
	}
	if testing.Verbose() {
		t.Logf("states %v, untouched %d", counts, untouched)
	}
}

func TestSpeedQuantile(t *testing.T) {
	t.Parallel()
	s := Speed{Buckets: emptyBuckets()}
	if _, ok := s.Quantile(0.5); ok {
		t.Fatal("a quantile of nothing")
	}
	s.Buckets[0].Count = 10                // ≤ 30 s
	s.Buckets[len(s.Buckets)-1].Count = 10 // > 259200 s
	for _, tc := range []struct{ q, want float64 }{{0.25, 15}, {0.5, 30}, {0.9, 259200}} {
		if got, _ := s.Quantile(tc.q); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("q%g = %g, want %g", tc.q, got, tc.want)
		}
	}
}

// TestSpeedBoundsMatchLua keeps the histogram bounds of stats.lua and stats.go equal.
func TestSpeedBoundsMatchLua(t *testing.T) {
	t.Parallel()
	m := regexp.MustCompile(`local speedb = \{([0-9, ]+)\}`).FindStringSubmatch(luaStats)
	if m == nil {
		t.Fatal("no speedb table in stats.lua")
	}
	var lua []float64
	for _, f := range strings.Split(m[1], ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			t.Fatal(err)
		}
		lua = append(lua, v)
	}
	if !slices.Equal(lua, SpeedBounds) {
		t.Fatalf("stats.lua %v, stats.go %v", lua, SpeedBounds)
	}
}
