package features

import (
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestFoldOrderIndependent is the spec's central invariant: one lead's
// events folded in any order give the same features, decayed sums included.
func TestFoldOrderIndependent(t *testing.T) {
	t.Parallel()
	s := DefaultSpec()
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 7))
		evs := genEvents(r, "L"+strconv.FormatUint(seed, 10), 1+r.IntN(80))
		want := foldEvents(s, evs)
		for range 5 {
			shuffled := slices.Clone(evs)
			r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			got := foldEvents(s, shuffled)
			assertSameFeatures(t, s, want, got, testNow, 1e-9)
			assertSameState(t, want, got, 1e-9)
		}
		if t.Failed() {
			t.Fatalf("seed %d: order changed the features", seed)
		}
	}
}

// assertSameState compares two states field by field, numbers within tol.
func assertSameState(tb testing.TB, want, got State, tol float64) {
	tb.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		w, g := want[k], got[k]
		if w == g {
			continue
		}
		wf, err1 := strconv.ParseFloat(w, 64)
		gf, err2 := strconv.ParseFloat(g, 64)
		if err1 != nil || err2 != nil || !near(wf, gf, tol) {
			tb.Errorf("field %s: want %q, got %q", k, w, g)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			tb.Errorf("unexpected field %s = %q", k, got[k])
		}
	}
}

// TestFoldAppliedOnce: redelivered events, duplicates inside a batch and a
// replay of everything change nothing.
func TestFoldAppliedOnce(t *testing.T) {
	t.Parallel()
	s := DefaultSpec()
	for seed := range uint64(100) {
		r := rand.New(rand.NewPCG(seed, 11))
		evs := genEvents(r, "L", 1+r.IntN(60))
		batch := make([]Applied, len(evs))
		for i, e := range evs {
			batch[i] = Applied{Event: e, Partition: 3, Offset: int64(100 + i)}
		}
		once := State{}
		if !s.FoldApplied(once, batch) {
			t.Fatal("first apply reported no change")
		}
		// Redelivery in overlapping chunks, with duplicates inside each chunk.
		again := State{}
		for lo := 0; lo < len(batch); {
			hi := min(len(batch), lo+1+r.IntN(10))
			chunk := slices.Clone(batch[max(0, lo-r.IntN(5)):hi])
			chunk = append(chunk, chunk[r.IntN(len(chunk))])
			r.Shuffle(len(chunk), func(i, j int) { chunk[i], chunk[j] = chunk[j], chunk[i] })
			s.FoldApplied(again, chunk)
			lo = hi
		}
		if !maps.Equal(once, again) {
			t.Fatalf("seed %d: redelivery changed the state", seed)
		}
		before := maps.Clone(once)
		if s.FoldApplied(once, batch) {
			t.Fatal("replay reported a change")
		}
		if !maps.Equal(before, once) {
			t.Fatalf("seed %d: replay changed the state", seed)
		}
		if got := StateOffsets(once); got[3] != int64(100+len(evs)-1) {
			t.Fatalf("offsets = %v", got)
		}
	}
}

// TestDecayLateEvent checks the decayed sum against its definition
// sum(w·2^(-(now-t)/h)) when events arrive newest first.
func TestDecayLateEvent(t *testing.T) {
	t.Parallel()
	s := DefaultSpec()
	ages := []time.Duration{time.Minute, 3 * time.Hour, 30 * time.Minute, 50 * time.Hour, 0}
	var evs []Event
	for i, a := range ages {
		evs = append(evs, Event{EventID: strconv.Itoa(i), LeadID: "L", Type: DemoRequested, TS: testNow.Add(-a)})
	}
	st := foldEvents(s, evs)
	num := make([]float64, len(s.NumNames()))
	s.Extract(st, testNow, num, make([]string, len(s.CatNames())))
	for k, h := range s.Config().HalfLives {
		want := 0.0
		for _, a := range ages {
			want += 10 * math.Exp2(-a.Hours()/h.Hours())
		}
		got := num[slices.Index(s.NumNames(), "eng_"+durName(h))]
		if !near(got, want, 1e-12) {
			t.Errorf("half-life %v (#%d): got %v, want %v", h, k, got, want)
		}
	}
}

func TestHelpers(t *testing.T) {
	t.Parallel()
	s := DefaultSpec()
	trig := testNow.Add(-90 * time.Second)
	evs := []Event{
		{EventID: "a", LeadID: "L", Type: LeadCreated, TS: testNow.Add(-time.Hour),
			Props: Props{Title: "Vice President, Sales", Source: "Web Form", Industry: "Financial Services"}},
		{EventID: "b", LeadID: "L", Type: ContactSales, TS: trig},
		{EventID: "c", LeadID: "L", Type: FormSubmitted, TS: trig.Add(-time.Minute)},
		{EventID: "d", LeadID: "L", Type: CallAttempted, TS: testNow},
		{EventID: "e", LeadID: "L", Type: CallAttempted, TS: testNow},
		{EventID: "f", LeadID: "L", Type: PageViewed, TS: testNow, Props: Props{Path: "/Pricing", SessionID: "x"}},
		{EventID: "g", LeadID: "L", Type: PageViewed, TS: testNow, Props: Props{Path: "/docs", SessionID: "x"}},
		{EventID: "h", LeadID: "L", Type: PageViewed, TS: testNow},
	}
	st := foldEvents(s, evs)
	if got, ok := s.TriggerAt(st); !ok || !got.Equal(trig) {
		t.Errorf("TriggerAt = %v, %v; want %v", got, ok, trig)
	}
	if got := s.Lifecycle(st); got != "new" {
		t.Errorf("Lifecycle = %q, want new", got)
	}
	if got := s.Attempts(st); got != 2 {
		t.Errorf("Attempts = %d, want 2", got)
	}
	named := s.Named(st, testNow)
	for name, want := range map[string]any{
		"seniority": "vp", "source_first": "website", "industry": "financial_services",
		"n_pv_pricing": 1.0, "n_pv_docs": 1.0, "sessions": 1.0, "pages_per_visit": 2.0, "n_page_viewed": 3.0,
		"since_intent_s": 90.0, "since_call_s": 0.0, "since_email_s": 30 * 86400.0, "age_s": 3600.0,
		"state": "new", "country": "",
	} {
		if named[name] != want {
			t.Errorf("%s = %v, want %v", name, named[name], want)
		}
	}
	if len(named) != len(s.NumNames())+len(s.CatNames()) {
		t.Errorf("Named has %d entries, want %d", len(named), len(s.NumNames())+len(s.CatNames()))
	}
	if got := s.Lifecycle(State{}); got != "" {
		t.Errorf("Lifecycle of an unknown lead = %q", got)
	}
}

func TestInferSeniority(t *testing.T) {
	t.Parallel()
	for title, want := range map[string]string{
		"Director of IT": "director", "CTO": "c_level", "Vice President": "vp", "President": "c_level",
		"Co-Founder & CEO": "c_level", "Sales Manager": "manager", "Software Engineer": "individual",
		"Head of Growth": "director", "": "",
	} {
		if got := inferSeniority(title); got != want {
			t.Errorf("inferSeniority(%q) = %q, want %q", title, got, want)
		}
	}
}

func TestPathCat(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]int{
		"/pricing": 0, "/Pricing/enterprise": 0, "https://x.io/plans?a": 0, "/docs/api": 2,
		"/careers": 3, "/product.html": 1, "/blog/pricing": -1, "": -1, "https://x.io": -1,
	} {
		if got := pathCat(path); got != want {
			t.Errorf("pathCat(%q) = %d, want %d", path, got, want)
		}
	}
}

func TestVocabularies(t *testing.T) {
	t.Parallel()
	s := DefaultSpec()
	for _, name := range s.CatNames() {
		v := s.Vocab(name)
		if len(v) < 2 || v[len(v)-1] != Other {
			t.Errorf("Vocab(%s) = %v", name, v)
		}
	}
	for in, want := range map[string]string{"en_us": "en", "de": "de", "tlh": "other", "": ""} {
		if got := vocLanguage.lookup(in); got != want {
			t.Errorf("language %q = %q, want %q", in, got, want)
		}
	}
	if got := norm("Financial  Services / Banking"); got != "financial_services_banking" {
		t.Errorf("norm = %q", got)
	}
}

func TestNewSpecRejects(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]SpecConfig{
		"bad intent type": {HighIntent: []Type{numTypes}},
		"zero half-life":  {HalfLives: []time.Duration{0}},
		"dup half-life":   {HalfLives: []time.Duration{time.Hour, 60 * time.Minute}},
		"bad weight":      {Weights: map[Type]float64{TypeUnknown: 1}},
	} {
		if _, err := NewSpec(c); err == nil {
			t.Errorf("%s: NewSpec accepted %+v", name, c)
		}
	}
}

func TestExtractAllocs(t *testing.T) {
	s := DefaultSpec()
	st := foldEvents(s, genEvents(rand.New(rand.NewPCG(1, 2)), "L", 200))
	num, cat := make([]float64, len(s.NumNames())), make([]string, len(s.CatNames()))
	if n := testing.AllocsPerRun(100, func() { s.Extract(st, testNow, num, cat) }); n != 0 {
		t.Errorf("Extract allocates %v times", n)
	}
	ev := Event{EventID: "e", LeadID: "L", Type: PageViewed, TS: testNow, Props: Props{Path: "/pricing"}}
	ops := make([]Op, 0, 64)
	if n := testing.AllocsPerRun(100, func() { ops = s.Compile(ev, ops[:0]) }); n != 0 {
		t.Errorf("Compile of a page view allocates %v times", n)
	}
}
