package main

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/leadq/leadq/features"
)

// The synthetic leads: firmographics drawn from plausible B2B mixes, a latent
// interest z that drives how much a lead engages, and a known logistic ground
// truth over what generated the lead. The model sees only the features the
// spec extracts from the folded events, so it has a real signal to learn and
// a ceiling (the oracle AUC of the true probabilities) to be measured against.

type weighted struct {
	v   string
	w   float64 // sampling weight
	eff float64 // effect on the true log-odds
}

func pick(r *rand.Rand, xs []weighted) weighted {
	var tot float64
	for _, x := range xs {
		tot += x.w
	}
	u := r.Float64() * tot
	for _, x := range xs {
		if u -= x.w; u < 0 {
			return x
		}
	}
	return xs[len(xs)-1]
}

var (
	sources = []weighted{
		{"website", 25, 0.6}, {"referral", 8, 0.9}, {"organic_search", 15, 0.3}, {"paid_search", 15, 0},
		{"paid_social", 8, -0.3}, {"email", 10, -0.6}, {"event", 5, 0.2}, {"webinar", 4, 0.2},
		{"partner", 4, 0.4}, {"purchased_list", 6, -1.2}, {"chat", 3, 0.5},
	}
	seniorities = []weighted{
		{"c_level", 8, 0.5}, {"vp", 10, 0.4}, {"director", 20, 0.3}, {"manager", 30, 0}, {"individual", 32, -0.5},
	}
	sizes = []weighted{
		{"1-10", 15, -0.6}, {"11-50", 20, -0.2}, {"51-200", 22, 0.1}, {"201-500", 15, 0.3},
		{"501-1000", 10, 0.3}, {"1001-5000", 10, 0.2}, {"5001+", 8, 0},
	}
	budgets   = []weighted{{"", 55, 0}, {"approved", 12, 0.6}, {"planned", 18, 0.2}, {"none", 15, -0.5}}
	timelines = []weighted{{"", 55, 0}, {"now", 8, 0.5}, {"lt_3m", 15, 0.3}, {"6_12m", 12, 0}, {"gt_12m", 10, -0.4}}
	needs     = []weighted{{"", 60, 0}, {"high", 12, 0.4}, {"medium", 18, 0.1}, {"low", 10, -0.3}}
	// country, region, language, time zone
	geos = []struct{ country, region, lang, tz string }{
		{"US", "na", "en", "America/New_York"}, {"US", "na", "en", "America/Chicago"},
		{"US", "na", "en", "America/Los_Angeles"}, {"CA", "na", "en", "America/Toronto"},
		{"GB", "emea", "en", "Europe/London"}, {"DE", "emea", "de", "Europe/Berlin"},
		{"FR", "emea", "fr", "Europe/Paris"}, {"NL", "emea", "nl", "Europe/Amsterdam"},
		{"ES", "emea", "es", "Europe/Madrid"}, {"AU", "apac", "en", "Australia/Sydney"},
		{"JP", "apac", "ja", "Asia/Tokyo"}, {"IN", "apac", "en", "Asia/Kolkata"},
		{"BR", "latam", "pt", "America/Sao_Paulo"}, {"MX", "latam", "es", "America/Mexico_City"},
	}
	industries = []string{"Software", "IT Services", "Financial Services", "Insurance", "Healthcare",
		"Manufacturing", "Retail", "Education", "Telecom", "Professional Services", "Media", "Energy"}
	titles = map[string][]string{
		"c_level": {"CEO", "CTO", "Chief Revenue Officer", "Founder"}, "vp": {"VP Sales", "VP Engineering", "Vice President Marketing"},
		"director": {"Director of IT", "Head of Growth", "Sales Director"}, "manager": {"Marketing Manager", "Team Lead", "IT Manager"},
		"individual": {"Analyst", "Engineer", "Sales Representative", "Consultant"},
	}
	paths = []string{"/pricing", "/product/overview", "/docs/api", "/blog/post", "/careers", "/features", "/plans"}
)

// profile is the firmographic part of a lead and its true-log-odds share.
type profile struct {
	props features.Props
	eff   float64
}

func newProfile(r *rand.Rand) profile {
	var p profile
	src, sen, size := pick(r, sources), pick(r, seniorities), pick(r, sizes)
	bud, tl, need := pick(r, budgets), pick(r, timelines), pick(r, needs)
	g := geos[r.IntN(len(geos))]
	p.eff = src.eff + sen.eff + size.eff + bud.eff + tl.eff + need.eff
	tt := titles[sen.v]
	p.props = features.Props{
		Company: "Co " + strconv.Itoa(r.IntN(200000)), Industry: industries[r.IntN(len(industries))],
		CompanySize: size.v, Country: g.country, Region: g.region, Title: tt[r.IntN(len(tt))],
		Language: g.lang, Timezone: g.tz, Source: src.v, Budget: bud.v, Timeline: tl.v, Need: need.v,
	}
	if r.IntN(3) == 0 { // a third of the forms ask for seniority; the rest infer it from the title
		p.props.Seniority = sen.v
	}
	switch src.v {
	case "paid_search":
		p.props.UTMMedium = "cpc"
	case "paid_social":
		p.props.UTMMedium = "social"
	case "email":
		p.props.UTMMedium = "email"
	}
	if r.IntN(4) > 0 {
		p.props.Consent = "yes"
	} else {
		p.props.Consent = "no"
	}
	return p
}

// richLead returns the events of a lead surfaced at `at` (its history: a
// creation, engagement driven by latent interest, and a high-intent trigger
// just before at) and its true probability of converting.
func richLead(r *rand.Rand, id string, at time.Time) ([]features.Event, float64) {
	p := newProfile(r)
	z := r.NormFloat64()
	first := at.Add(-time.Duration((1 + r.Float64()*20*24) * float64(time.Hour)))
	span := at.Sub(first)
	evs := []features.Event{{EventID: id + "-0", LeadID: id, Type: features.LeadCreated, TS: first, Props: p.props}}
	add := func(t features.Type, ts time.Time, props features.Props) {
		evs = append(evs, features.Event{EventID: id + "-" + strconv.Itoa(len(evs)), LeadID: id, Type: t, TS: ts, Props: props})
	}
	nEng := poisson(r, math.Exp(0.9+0.6*z))
	pricing := 0
	for range nEng {
		ts := first.Add(time.Duration(r.Float64() * float64(span)))
		switch u := r.Float64(); {
		case u < 0.55:
			path := paths[r.IntN(len(paths))]
			if path == "/pricing" || path == "/plans" {
				pricing++
			}
			add(features.PageViewed, ts, features.Props{Path: path, SessionID: "s" + strconv.Itoa(r.IntN(4))})
		case u < 0.75:
			add(features.EmailOpened, ts, features.Props{})
		case u < 0.85:
			add(features.EmailClicked, ts, features.Props{})
		case u < 0.93:
			add(features.ContentDownloaded, ts, features.Props{})
		case u < 0.97:
			add(features.WebinarRegistered, ts, features.Props{})
		default:
			add(features.WebinarAttended, ts, features.Props{})
		}
	}
	demo := r.Float64() < sigmoid(z-1.2)
	trig := at.Add(-time.Duration(r.Float64() * float64(30*time.Minute)))
	if demo {
		add(features.DemoRequested, trig, features.Props{})
	} else {
		add(features.FormSubmitted, trig, features.Props{Source: p.props.Source})
	}
	logit := -2.6 + p.eff + 0.5*z + 0.25*float64(min(pricing, 4))
	if demo {
		logit += 0.6
	}
	return evs, sigmoid(logit)
}

// thinLead returns the two events of a lead for the rescore load: its
// creation with full firmographics, and a form submission (the trigger) at trig.
func thinLead(r *rand.Rand, id string, trig time.Time) [2]features.Event {
	p := newProfile(r)
	created := trig.Add(-time.Duration(r.Float64() * float64(time.Hour)))
	return [2]features.Event{
		{EventID: id + "-0", LeadID: id, Type: features.LeadCreated, TS: created, Props: p.props},
		{EventID: id + "-1", LeadID: id, Type: features.FormSubmitted, TS: trig, Props: features.Props{Source: p.props.Source}},
	}
}

func poisson(r *rand.Rand, mean float64) int {
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
