package features

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// testNow is the fixed "now" of the tests: features depend on it.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// genEvent returns a random valid event of lead. Times are coarse (whole
// seconds over ten days) so that equal timestamps, the hard case for
// last-write-wins registers, happen often.
func genEvent(r *rand.Rand, lead string, i int) Event {
	return genEventOf(r, lead, i, Type(1+r.IntN(int(numTypes)-1)))
}

// webMix weighs types like a B2B tracking stream: mostly page views and
// email opens, few lead records, forms and calls (per mille).
var webMix = []struct {
	t Type
	w int
}{
	{PageViewed, 450}, {EmailOpened, 200}, {EmailClicked, 80}, {ContentDownloaded, 40},
	{WebinarRegistered, 20}, {WebinarAttended, 10}, {FormSubmitted, 30}, {DemoRequested, 10},
	{ContactSales, 10}, {CallbackRequested, 5}, {EmailReplied, 10}, {EmailBounced, 10},
	{Unsubscribed, 5}, {CallAttempted, 50}, {CallOutcome, 40}, {StatusChanged, 10},
	{LeadCreated, 10}, {LeadUpdated, 10},
}

// genWebEvent returns a random valid event of lead drawn from webMix.
func genWebEvent(r *rand.Rand, lead string, i int) Event {
	n := r.IntN(1000)
	for _, m := range webMix {
		if n < m.w {
			return genEventOf(r, lead, i, m.t)
		}
		n -= m.w
	}
	return genEventOf(r, lead, i, PageViewed)
}

// genEventOf returns a random valid event of lead and type ty.
func genEventOf(r *rand.Rand, lead string, i int, ty Type) Event {
	e := Event{
		EventID: fmt.Sprintf("%s-e%d-%d", lead, i, r.Uint32()),
		LeadID:  lead,
		Type:    ty,
		TS:      testNow.Add(-time.Duration(r.IntN(20*86400/10)) * 5 * time.Second),
	}
	pick := func(vs ...string) string { return vs[r.IntN(len(vs))] }
	p := &e.Props
	switch e.Type {
	case LeadCreated, LeadUpdated, FormSubmitted:
		p.Company = pick("", "Acme", "Globex", "Initech")
		p.Industry = pick("", "Software", "banking", "Retail", "Underwater Basket Weaving")
		p.CompanySize = pick("", "51-200", "5001+", "11-50")
		if p.CompanySize == "" && r.IntN(2) == 0 {
			p.Employees = float64(r.IntN(20000))
		}
		p.Country = pick("", "US", "de", "United Kingdom", "XX")
		p.Title = pick("", "VP Sales", "Director of IT", "Engineer", "Chief Executive Officer")
		p.Language = pick("", "en-US", "de", "fr_FR", "tlh")
		p.Budget = pick("", "yes", "planned", "no")
		p.Timeline = pick("", "now", "this quarter", "next year")
		p.Consent = pick("", "yes", "no")
		p.Source = pick("", "website", "Referral", "cpc", "purchased list")
		p.UTMMedium = pick("", "cpc", "email")
	case PageViewed:
		p.Path = pick("/", "/pricing", "/pricing/enterprise", "/docs/api", "/careers", "https://x.io/product?a=1", "/blog")
		p.SessionID = pick("", "s1", "s2", "s3", "s4")
	case CallOutcome:
		p.Outcome = pick("connected", "no_answer", "Voicemail", "meeting_booked", "weird")
	case StatusChanged:
		p.Status = pick("mql", "sql", "accepted", "nurture", "converted")
	}
	if r.IntN(8) == 0 {
		p.Source = pick("website", "event", "partner")
	}
	return e
}

// genEvents returns n random events of lead.
func genEvents(r *rand.Rand, lead string, n int) []Event {
	out := make([]Event, n)
	for i := range out {
		out[i] = genEvent(r, lead, i)
	}
	return out
}

// foldEvents folds events into a fresh state in the given order.
func foldEvents(s *Spec, evs []Event) State {
	st := State{}
	var ops []Op
	for _, e := range evs {
		ops = s.Compile(e, ops[:0])
		Fold(st, ops)
	}
	return st
}

// assertSameFeatures fails unless a and b give the same feature vector at now,
// numbers within relative tolerance tol.
func assertSameFeatures(tb testing.TB, s *Spec, a, b State, now time.Time, tol float64) {
	tb.Helper()
	na, nb := make([]float64, len(s.NumNames())), make([]float64, len(s.NumNames()))
	ca, cb := make([]string, len(s.CatNames())), make([]string, len(s.CatNames()))
	s.Extract(a, now, na, ca)
	s.Extract(b, now, nb, cb)
	for i, name := range s.NumNames() {
		if !near(na[i], nb[i], tol) {
			tb.Errorf("feature %s: %.17g vs %.17g", name, na[i], nb[i])
		}
	}
	for i, name := range s.CatNames() {
		if ca[i] != cb[i] {
			tb.Errorf("feature %s: %q vs %q", name, ca[i], cb[i])
		}
	}
}

func near(a, b, tol float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= tol*math.Max(math.Abs(a), math.Abs(b))
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }
