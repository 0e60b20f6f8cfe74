package queue

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"
)

// model is the brute-force reference: every lead's fields, kept by the test
// independently of Redis, ranked by the formula itself.
type model struct {
	prof   Profile
	leads  map[string]*mlead
	leaseD time.Duration
}

type mlead struct {
	id, pool  string
	tz        string
	loc       *time.Location // nil: local time unknown, callable at any hour
	p         float64
	t, nb     time.Time
	attempts  int
	leaseEnds time.Time // zero unless claimed
	out       bool      // nurtured for a spent attempt budget: out until a re-heat
}

// eligible mirrors the queue's rules: not claimed (or lease over), not
// snoozed, younger than the horizon, attempts left in the budget of its p.
func (m *model) eligible(l *mlead, now time.Time) bool {
	return !l.out && !now.Before(l.leaseEnds) && !now.Before(l.nb) && m.open(l, now) &&
		now.Sub(l.t) < m.prof.Curve.Horizon() && l.attempts < m.prof.Attempts(l.p)
}

// place records that the queue placed l at now (a new lead due now, or a
// queued one re-placed): a spent budget sends it to nurture for good.
func (m *model) place(l *mlead, now time.Time) {
	if !now.Before(l.nb) && l.attempts >= m.prof.Attempts(l.p) {
		l.out = true
	}
}

// newP draws l's next probability at now. The queue judges a budget when
// it places a lead, which for a waiting lead (claimed, snoozed, outside its
// hours) happens later, with whatever p it has then; the model keeps no
// such history, so a waiting lead's new p keeps its budget. A queued lead's
// is re-placed at once (m.place) and a nurtured one's does not matter.
func (m *model) newP(r *rand.Rand, l *mlead, now time.Time) float64 {
	queued := m.eligible(l, now)
	for {
		p := logUniform(r, 1e-3, 1)
		if queued || l.out || m.prof.Attempts(p) == m.prof.Attempts(l.p) {
			return p
		}
	}
}

// open says whether now is inside the lead's local calling hours.
func (m *model) open(l *mlead, now time.Time) bool {
	h := m.prof.Hours
	if l.loc == nil || h == nil {
		return true
	}
	local := now.In(l.loc)
	tod := local.Sub(time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, l.loc))
	return slices.Contains(h.Days, local.Weekday()) && tod >= h.Start && tod < h.End
}

func (m *model) priority(l *mlead, now time.Time) float64 {
	return m.prof.Priority(l.p, now.Sub(l.t), l.attempts)
}

// ranked returns the eligible leads of pools, best first.
func (m *model) ranked(pools map[string]bool, now time.Time) []*mlead {
	var out []*mlead
	for _, l := range m.leads {
		if pools[l.pool] && m.eligible(l, now) {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool { return m.priority(out[i], now) > m.priority(out[j], now) })
	return out
}

// logUniform draws from [lo, hi] evenly in log scale, so minutes and weeks
// are both well represented.
func logUniform(r *rand.Rand, lo, hi float64) float64 {
	return math.Exp(math.Log(lo) + r.Float64()*(math.Log(hi)-math.Log(lo)))
}

const relTol = 1e-9 // float noise allowed between the log-space keys and the formula

// TestExactOrder compares the served order with a brute-force sort of
// p × c(now − t) × a(k) at many random, increasing instants, while leads are
// claimed, recycled by expired leases, re-heated and re-scored one by one
// (Upsert) and in batches (Rescore, whose new p can spend a lead's attempt
// budget), and leads with a timezone come and go with their local calling hours.
func TestExactOrder(t *testing.T) {
	t.Parallel()
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			exactOrder(t, seed)
		})
	}
}

func exactOrder(t *testing.T, seed uint64) {
	q, _ := newQueue(t, func(c *Config) {
		c.RepCap = 1 << 20
		c.Hours = DefaultCallingHours()
		c.MaxAttempts = 3
		c.Budgets = []Budget{{MinP: 0.1, MaxAttempts: 7}, {MinP: 0.01, MaxAttempts: 5}}
	})
	zones := []string{"", "", "UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney"}
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, 2))
	m := &model{prof: q.cfg.Profile, leads: map[string]*mlead{}, leaseD: q.cfg.Lease}
	pools := []string{"emea", "amer"}
	all := map[string]bool{"emea": true, "amer": true}
	const n = 3000
	now := t0
	// newLead makes a lead new to the queue; the budget of its attempts
	// depends on its p: 3 below 0.01, 5 below 0.1, else 7.
	newLead := func(i int, now time.Time) (*mlead, Lead) {
		l := &mlead{
			id: leadID(i), pool: pools[r.IntN(2)], p: logUniform(r, 1e-3, 1),
			t:        now.Add(-time.Duration(logUniform(r, 1, 25*86400) * 1e9)),
			attempts: r.IntN(8),
		}
		if r.IntN(10) == 0 {
			l.nb = now.Add(time.Duration(r.Float64() * 2 * 86400 * 1e9))
		}
		l.tz = zones[r.IntN(len(zones))]
		l.loc = location(l.tz)
		m.leads[l.id] = l
		m.place(l, now)
		return l, Lead{ID: l.id, Pool: l.pool, P: l.p, TriggerAt: l.t, Attempts: l.attempts, NotBefore: l.nb, Timezone: l.tz}
	}
	for i := range n {
		_, lead := newLead(i, now)
		upsert(t, q, lead, now)
	}

	checkPeek := func(now time.Time) {
		t.Helper()
		got, err := q.Peek(ctx, pools, MaxPeek, now)
		if err != nil {
			t.Fatal(err)
		}
		want := m.ranked(all, now)
		if len(got) != len(want) {
			served := map[string]bool{}
			for _, it := range got {
				served[it.LeadID] = true
			}
			for _, l := range want {
				if !served[l.id] {
					t.Logf("missing %+v: %+v", *l, state(t, q, l.pool, l.id, now))
				}
			}
			t.Fatalf("%s: peek served %d leads, %d are eligible", now, len(got), len(want))
		}
		seen := map[string]bool{}
		for i, it := range got {
			l := m.leads[it.LeadID]
			if l == nil || !m.eligible(l, now) || seen[it.LeadID] {
				t.Fatalf("%s: peek served %s at %d: not eligible or twice", now, it.LeadID, i)
			}
			seen[it.LeadID] = true
			p := m.priority(l, now)
			if math.Abs(it.Priority-p) > relTol*p {
				t.Fatalf("%s: %s priority %g, formula %g", now, it.LeadID, it.Priority, p)
			}
			if i > 0 {
				prev := m.priority(m.leads[got[i-1].LeadID], now)
				if p > prev*(1+relTol) {
					t.Fatalf("%s: order broken at %d: %s (%g) after %s (%g)", now, i, it.LeadID, p, got[i-1].LeadID, prev)
				}
			}
		}
	}
	// checkNext claims from the given pools and proves the lead was the best.
	checkNext := func(sdr string, ps []string, now time.Time) {
		t.Helper()
		set := map[string]bool{}
		for _, p := range ps {
			set[p] = true
		}
		var best *mlead
		for _, l := range m.leads {
			if set[l.pool] && m.eligible(l, now) && (best == nil || m.priority(l, now) > m.priority(best, now)) {
				best = l
			}
		}
		c, err := q.Next(ctx, sdr, ps, now)
		if best == nil {
			wantErr(t, err, ErrEmpty)
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		l := m.leads[c.LeadID]
		if l == nil || !m.eligible(l, now) || !set[l.pool] {
			t.Fatalf("%s: next served ineligible %s", now, c.LeadID)
		}
		if m.priority(l, now) < m.priority(best, now)*(1-relTol) {
			t.Fatalf("%s: next served %s (%g), best is %s (%g)", now, c.LeadID, m.priority(l, now), best.id, m.priority(best, now))
		}
		l.leaseEnds = c.LeaseExpiresAt
	}

	// rescoreBatch re-scores a random batch through Rescore: known leads in
	// every state, a few re-heated, a few queued ones moved to another time
	// zone, and a few just placed.
	fast, rescored, added := 0, 0, 0
	rescoreBatch := func(now time.Time) {
		t.Helper()
		var batch []Lead
		for range 300 {
			l := m.leads[leadID(r.IntN(n))]
			queued := m.eligible(l, now)
			switch {
			case r.IntN(20) == 0 && now.Add(-time.Minute).After(l.t):
				l.t, l.attempts, l.nb, l.out = now.Add(-time.Minute), 0, time.Time{}, false
				l.p = logUniform(r, 1e-3, 1)
			case r.IntN(20) == 0 && queued:
				l.tz = zones[2+r.IntN(len(zones)-2)]
				l.loc = location(l.tz)
				l.p = m.newP(r, l, now)
			default:
				l.p = m.newP(r, l, now)
			}
			if queued {
				m.place(l, now) // re-placed now: a spent budget nurtures it
			}
			batch = append(batch, Lead{ID: l.id, Pool: l.pool, P: l.p, TriggerAt: l.t, Timezone: l.tz})
		}
		// New leads reach the queue by Upsert (Rescore leaves a lead its
		// pool does not hold alone), then go through Rescore with the rest.
		var fresh []Lead
		for range 3 {
			_, lead := newLead(n+added, now)
			added++
			fresh = append(fresh, lead)
		}
		if err := q.UpsertBatch(ctx, fresh, now); err != nil {
			t.Fatal(err)
		}
		batch = append(batch, fresh...)
		k, gone, err := q.rescore(ctx, batch, now)
		if err != nil {
			t.Fatal(err)
		}
		if gone != 0 {
			t.Fatalf("rescore found %d leads gone from their pools; none was removed", gone)
		}
		fast += k
		rescored += len(batch)
	}

	const steps = 100
	for step := range steps {
		now = now.Add(time.Duration(logUniform(r, 1, 6*3600) * 1e9))
		checkPeek(now)
		for j := range 5 {
			ps := pools
			if j == 4 {
				ps = pools[step%2 : step%2+1]
			}
			checkNext("rep", ps, now)
		}
		// Re-heat or re-score a few leads, claimed ones included.
		for range 5 {
			l := m.leads[leadID(r.IntN(n))]
			queued := m.eligible(l, now)
			// Triggers never move backwards: an older one only re-scores.
			if nt := now.Add(-time.Duration(r.Float64() * 600 * 1e9)); r.IntN(2) == 0 && nt.After(l.t) {
				l.t, l.attempts, l.nb, l.out = nt, 0, time.Time{}, false
				l.p = logUniform(r, 1e-3, 1)
			} else {
				l.p = m.newP(r, l, now)
			}
			if queued {
				m.place(l, now)
			}
			upsert(t, q, Lead{ID: l.id, Pool: l.pool, P: l.p, TriggerAt: l.t}, now)
		}
		if step%3 == 1 {
			rescoreBatch(now)
		}
	}
	if fast == 0 || fast == rescored {
		t.Fatalf("Rescore took the fast path for %d of %d leads: want both paths exercised", fast, rescored)
	}
	// Finally drain everything eligible through Next: every pull is the best left.
	now = now.Add(time.Hour)
	left := len(m.ranked(all, now))
	for range left {
		checkNext("drain", pools, now)
	}
	checkNext("drain", pools, now) // and then the queue is empty
	t.Logf("checked %d instants up to %s and drained %d leads in order; Rescore took %d leads, %d by the fast path",
		steps, now.Sub(t0).Round(time.Minute), left, rescored, fast)
}
