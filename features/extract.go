package features

import (
	"math"
	"strings"
	"time"
)

// catKind selects how a categorical feature reads the state.
type catKind uint8

const (
	catPlain     catKind = iota // vocabulary lookup of one field
	catSeniority                // seniority, else inferred from the title
	catState                    // lifecycle, "new" once the lead has any event
)

type catFeature struct {
	name  string
	field string
	voc   *vocab
	kind  catKind
}

func (s *Spec) buildNames() {
	for t := LeadCreated; t < numTypes; t++ {
		s.numNames = append(s.numNames, "n_"+t.String())
	}
	for _, c := range pageCats {
		s.numNames = append(s.numNames, "n_pv_"+c)
	}
	s.numNames = append(s.numNames, "sessions", "pages_per_visit")
	for _, h := range s.cfg.HalfLives {
		s.numNames = append(s.numNames, "eng_"+durName(h))
	}
	for _, g := range groupNames {
		s.numNames = append(s.numNames, "since_"+g+"_s")
	}
	s.numNames = append(s.numNames, "age_s")

	f := func(name string) string { return "f:" + name }
	s.cats = []catFeature{
		{"industry", f("industry"), vocIndustry, catPlain},
		{"company_size", f("company_size"), vocSize, catPlain},
		{"country", f("country"), vocCountry, catPlain},
		{"region", f("region"), vocRegion, catPlain},
		{"seniority", f("seniority"), vocSeniority, catSeniority},
		{"language", f("language"), vocLanguage, catPlain},
		{"source_first", s.src0.name, vocSource, catPlain},
		{"source_last", s.src1.name, vocSource, catPlain},
		{"utm_medium", f("utm_medium"), vocMedium, catPlain},
		{"budget", f("budget"), vocBudget, catPlain},
		{"authority", f("authority"), vocAuthority, catPlain},
		{"need", f("need"), vocNeed, catPlain},
		{"timeline", f("timeline"), vocTimeline, catPlain},
		{"consent", f("consent"), vocConsent, catPlain},
		{"state", s.state.name, vocState, catState},
		{"last_outcome", s.outcome.name, vocOutcome, catPlain},
	}
	ids := make(map[string]uint16, len(s.fields))
	for id, f := range s.fields {
		ids[f] = uint16(id)
	}
	for _, c := range s.cats {
		s.catNames = append(s.catNames, c.name)
		s.catIDs = append(s.catIDs, ids[c.field])
	}
	s.title = ids["f:title"]
}

// NumNames returns the names of the numeric features in Extract's order.
func (s *Spec) NumNames() []string { return slices0(s.numNames) }

// CatNames returns the names of the categorical features in Extract's order.
func (s *Spec) CatNames() []string { return slices0(s.catNames) }

// Sizes returns len(NumNames()) and len(CatNames()) without copying them:
// the sizes of the slices Extract fills, which hot paths allocate per call.
func (s *Spec) Sizes() (num, cat int) { return len(s.numNames), len(s.catNames) }

// Vocab returns the values categorical feature name can take besides ""
// (missing), Other last; nil for an unknown name. Training one-hot encodes them.
func (s *Spec) Vocab(name string) []string {
	for _, c := range s.cats {
		if c.name == name {
			return slices0(c.voc.values)
		}
	}
	return nil
}

// Canonical returns the value categorical feature name takes for an input
// value, as Extract gives it ("5001+" → "5001_plus", "Germany" → "de"); a
// value outside the vocabulary is returned normalised (never Other, which
// would match every unlisted input), and an unknown name leaves value as is.
func (s *Spec) Canonical(name, value string) string {
	for _, c := range s.cats {
		if c.name == name {
			n := norm(strings.TrimSpace(value))
			if v := c.voc.lookup(n); v != Other || n == Other {
				return v
			}
			return n
		}
	}
	return value
}

func slices0(s []string) []string { return append([]string(nil), s...) }

// Extract writes the feature vector of st at time now into nums and cat,
// which must be at least len(NumNames()) and len(CatNames()) long. It does
// not allocate, so serving and training can call it per row.
func (s *Spec) Extract(st State, now time.Time, nums []float64, cat []string) {
	nowMs := float64(now.UnixMilli())
	nums = nums[:len(s.numNames)]
	i := 0
	for t := LeadCreated; t < numTypes; t++ {
		nums[i] = get(st, s.count[t].name)
		i++
	}
	for _, f := range s.pv {
		nums[i] = get(st, f.name)
		i++
	}
	sess := get(st, s.sess.name)
	nums[i] = sess
	if sess > 0 {
		nums[i+1] = get(st, s.sview.name) / sess
	} else {
		nums[i+1] = 0
	}
	i += 2
	ref, okRef := num(st, s.decay.Ref)
	for k, f := range s.decay.Fields {
		nums[i] = 0
		if v, ok := num(st, f); ok && okRef {
			// The sum of w·2^(-(now-t)/h) over events, moved from ref to now.
			// A reference after now (producers' clock skew, Limits.MaxFuture)
			// counts as now, as the recency features do: decaying backwards
			// would weigh a future event above its weight, up to +Inf.
			nums[i] = v * math.Pow(2, -math.Max(nowMs-ref, 0)/s.decay.HalfMs[k])
		}
		i++
	}
	recCap := s.cfg.RecencyCap.Seconds()
	for _, f := range s.last {
		nums[i] = recCap
		if t, ok := num(st, f.name); ok {
			nums[i] = clamp((nowMs-t)/1000, 0, recCap)
		}
		i++
	}
	nums[i] = 0
	if t, ok := num(st, s.first.name); ok {
		nums[i] = clamp((nowMs-t)/1000, 0, s.cfg.AgeCap.Seconds())
	}

	cat = cat[:len(s.cats)]
	for j := range s.cats {
		c := &s.cats[j]
		v := c.voc.lookup(st[c.field])
		switch {
		case c.kind == catSeniority && v == "":
			v = inferSeniority(st["f:title"])
		case c.kind == catState && v == "":
			if _, ok := st[s.last[gAny].name]; ok {
				v = "new"
			}
		}
		cat[j] = v
	}
}

// Named returns the feature vector as name → value, for the HTTP API.
func (s *Spec) Named(st State, now time.Time) map[string]any {
	num := make([]float64, len(s.numNames))
	cat := make([]string, len(s.cats))
	s.Extract(st, now, num, cat)
	out := make(map[string]any, len(num)+len(cat))
	for i, n := range s.numNames {
		out[n] = num[i]
	}
	for i, n := range s.catNames {
		out[n] = cat[i]
	}
	return out
}

// TriggerAt returns the time of the lead's latest high-intent event.
func (s *Spec) TriggerAt(st State) (time.Time, bool) {
	t, ok := num(st, s.last[gIntent].name)
	if !ok {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(t)).UTC(), true
}

// Lifecycle returns the lead's lifecycle state: a value of Vocab("state"),
// "new" for a lead with events but no status, "" for an unknown lead.
func (s *Spec) Lifecycle(st State) string {
	v := vocState.lookup(st[s.state.name])
	if _, ok := st[s.last[gAny].name]; ok && v == "" {
		v = "new"
	}
	return v
}

// Attempts returns how many call attempts the lead has had.
func (s *Spec) Attempts(st State) int { return int(get(st, s.count[CallAttempted].name)) }

func get(st State, f string) float64 { v, _ := num(st, f); return v }

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(v, hi)) }

// seniorityWords map title words to a seniority; the first match in this
// order wins, so "Vice President" is vp and "President" is c_level.
var seniorityWords = [...]struct{ word, level string }{
	{"vp", "vp"}, {"svp", "vp"}, {"evp", "vp"}, {"avp", "vp"}, {"vice", "vp"},
	{"chief", "c_level"}, {"ceo", "c_level"}, {"cto", "c_level"}, {"cfo", "c_level"},
	{"coo", "c_level"}, {"cmo", "c_level"}, {"cio", "c_level"}, {"cro", "c_level"},
	{"ciso", "c_level"}, {"founder", "c_level"}, {"cofounder", "c_level"},
	{"owner", "c_level"}, {"president", "c_level"},
	{"director", "director"}, {"head", "director"},
	{"manager", "manager"}, {"lead", "manager"}, {"supervisor", "manager"},
}

// inferSeniority reads a seniority from a free-text title, word by word
// (so "Director" does not match "cto"), without allocating. A hyphen
// separates words, as norm treats it for the seniority prop: "Vice-President"
// is "Vice President" and "Co-Founder" is "Co Founder".
func inferSeniority(title string) string {
	if title == "" {
		return ""
	}
	best := len(seniorityWords)
	for rest := title; rest != ""; {
		i := strings.IndexFunc(rest, isWordByte)
		if i < 0 {
			break
		}
		rest = rest[i:]
		j := strings.IndexFunc(rest, func(r rune) bool { return !isWordByte(r) })
		if j < 0 {
			j = len(rest)
		}
		w := rest[:j]
		rest = rest[j:]
		for k := 0; k < best; k++ {
			if strings.EqualFold(w, seniorityWords[k].word) {
				best = k
				break
			}
		}
	}
	if best < len(seniorityWords) {
		return seniorityWords[best].level
	}
	return "individual"
}

func isWordByte(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}
