package features

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SpecConfig parameterises a Spec. Zero fields take the defaults of DefaultSpecConfig.
// Changing anything here changes features: give it a new Version.
type SpecConfig struct {
	Version       string           // feature-spec version recorded with every model, e.g. "fs-1"
	HighIntent    []Type           // types whose latest time is the queue's trigger time
	HalfLives     []time.Duration  // half-lives of the decayed engagement sums
	Weights       map[Type]float64 // engagement weight per type; absent types weigh 0
	PricingWeight float64          // weight of a pricing page view (other views use Weights)
	RecencyCap    time.Duration    // "seconds since" features saturate here; never seen = cap
	AgeCap        time.Duration    // age_s saturates here
}

// DefaultSpecConfig returns the configuration of spec fs-1.
func DefaultSpecConfig() SpecConfig {
	return SpecConfig{
		Version:    "fs-1",
		HighIntent: []Type{FormSubmitted, DemoRequested, ContactSales, CallbackRequested, EmailReplied},
		HalfLives:  []time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour},
		Weights: map[Type]float64{
			LeadCreated: 1, FormSubmitted: 5, DemoRequested: 10, ContactSales: 10,
			CallbackRequested: 8, PageViewed: 1, ContentDownloaded: 3, WebinarRegistered: 2,
			WebinarAttended: 4, EmailOpened: 0.5, EmailClicked: 2, EmailReplied: 6,
		},
		PricingWeight: 3,
		RecencyCap:    30 * 24 * time.Hour,
		AgeCap:        365 * 24 * time.Hour,
	}
}

// Activity groups with their own "last seen" time.
const (
	gAny = iota
	gIntent
	gWeb
	gContent
	gEmail
	gCall
	numGroups
)

var groupNames = [numGroups]string{"any", "intent", "web", "content", "email", "call"}

// groupOf puts each type in at most one group besides any and intent.
var groupOf = [numTypes]int{
	PageViewed: gWeb, ContentDownloaded: gContent, WebinarRegistered: gContent,
	WebinarAttended: gContent, EmailOpened: gEmail, EmailClicked: gEmail, EmailReplied: gEmail,
	CallAttempted: gCall, CallOutcome: gCall,
}

// Recognised page categories of page_viewed.path.
var pageCats = [...]string{"pricing", "product", "docs", "careers"}

// field is one hash field of the lead state and, for registers and decayed
// sums, its companion time field (name + "@"), which always has id+1.
type field struct {
	name, ref string
	id        uint16
}

// firmo is a string prop kept last-write-wins in the state.
type firmo struct {
	f    field
	norm bool // normalise for a vocabulary; free text stays as sent
}

// Spec is a compiled feature spec: how events update a lead's state and how
// the state becomes a feature vector. It is immutable and safe to share.
type Spec struct {
	Version string

	cfg      SpecConfig
	fields   []string        // every static field by id
	quoted   []string        // fields as JSON strings, for the store's payloads
	text     map[string]bool // static field → holds text (a register's value), else a number
	count    [numTypes]field
	pv       [len(pageCats)]field
	sess     field // distinct sessions (visits)
	sview    field // page views that carry a session id
	last     [numGroups]field
	first    field
	decay    DecayGroup
	decayID  uint16 // id of decay.Fields[0]; the sums and then the reference follow
	weight   [numTypes]float64
	intent   [numTypes]bool
	firmos   []firmo
	src0     field // first-touch source
	src1     field // last-touch source
	state    field
	outcome  field
	numNames []string
	catNames []string
	cats     []catFeature
	catIDs   []uint16  // field id of each of cats
	title    uint16    // id of f:title, which seniority falls back on
	fresh    sync.Pool // *freshState of ExtractNew
}

// DefaultSpec returns spec fs-1, built from DefaultSpecConfig.
func DefaultSpec() *Spec {
	s, err := NewSpec(DefaultSpecConfig())
	if err != nil {
		panic(err) // the default config is a constant; a failure is a programming error
	}
	return s
}

// NewSpec validates c and compiles it.
func NewSpec(c SpecConfig) (*Spec, error) {
	d := DefaultSpecConfig()
	if c.Version == "" {
		c.Version = d.Version
	}
	if c.HighIntent == nil {
		c.HighIntent = d.HighIntent
	}
	if c.HalfLives == nil {
		c.HalfLives = d.HalfLives
	}
	if c.Weights == nil {
		c.Weights = d.Weights
	}
	if c.PricingWeight == 0 {
		c.PricingWeight = d.PricingWeight
	}
	if c.RecencyCap <= 0 {
		c.RecencyCap = d.RecencyCap
	}
	if c.AgeCap <= 0 {
		c.AgeCap = d.AgeCap
	}
	s := &Spec{Version: c.Version, cfg: c}
	for _, t := range c.HighIntent {
		if t == TypeUnknown || t >= numTypes {
			return nil, fmt.Errorf("features: spec %s: high-intent type %d is not an event type", c.Version, t)
		}
		s.intent[t] = true
	}
	for t, w := range c.Weights {
		if t == TypeUnknown || t >= numTypes {
			return nil, fmt.Errorf("features: spec %s: weight for invalid type %d", c.Version, t)
		}
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("features: spec %s: weight of %s is not finite", c.Version, t)
		}
		s.weight[t] = w
	}
	if math.IsNaN(c.PricingWeight) || math.IsInf(c.PricingWeight, 0) {
		return nil, fmt.Errorf("features: spec %s: pricing weight is not finite", c.Version)
	}
	for t := LeadCreated; t < numTypes; t++ {
		s.count[t] = s.add("n:"+t.String(), false)
	}
	for i, c := range pageCats {
		s.pv[i] = s.add("n:pv:"+c, false)
	}
	s.sess, s.sview = s.add("n:sess", false), s.add("n:sview", false)
	for g := range s.last {
		s.last[g] = s.add("t:"+groupNames[g], false)
	}
	s.first = s.add("t0:any", false)
	seen := map[string]bool{}
	s.decayID = uint16(len(s.fields))
	for _, h := range c.HalfLives {
		n := durName(h)
		// Decay arithmetic is in whole milliseconds (HalfMs): a half-life
		// below 1 ms would be 0 and every decay a division by zero (NaN).
		if h < time.Millisecond || h%time.Millisecond != 0 || seen[n] {
			return nil, fmt.Errorf("features: spec %s: half-life %v is not a positive whole number of milliseconds or repeats", c.Version, h)
		}
		seen[n] = true
		s.decay.Fields = append(s.decay.Fields, s.add("d:"+n, false).name)
		s.decay.HalfMs = append(s.decay.HalfMs, float64(h.Milliseconds()))
	}
	if len(s.decay.Fields) == 0 {
		return nil, fmt.Errorf("features: spec %s: no half-lives", c.Version)
	}
	s.decay.Ref = s.add("d@", false).name
	for _, f := range firmoProps {
		s.firmos = append(s.firmos, firmo{f: s.add("f:"+f.name, true), norm: f.norm})
	}
	s.src0, s.src1 = s.add("src0", true), s.add("src1", true)
	s.state, s.outcome = s.add("state", true), s.add("outcome", true)
	s.buildNames()
	s.fresh.New = func() any { return newFreshState(s) }
	return s, nil
}

func (s *Spec) add(name string, pair bool) field {
	f := field{name: name, id: uint16(len(s.fields))}
	if s.text == nil {
		s.text = map[string]bool{}
	}
	s.fields = append(s.fields, name)
	s.quoted = append(s.quoted, strconv.Quote(name))
	s.text[name] = pair
	if pair {
		f.ref = name + "@"
		s.fields = append(s.fields, f.ref)
		s.quoted = append(s.quoted, strconv.Quote(f.ref))
		s.text[f.ref] = false
	}
	return f
}

// durName gives half-lives short names: 1h, 1d, 7d, 30m, 90s, 1500ms.
func durName(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
}

// firmoProps are the string props kept last-write-wins, in firmoValue's
// order; norm marks those normalised for a vocabulary (free text stays as sent).
var firmoProps = []struct {
	name string
	norm bool
}{
	{"company", false}, {"industry", true}, {"company_size", true}, {"country", true},
	{"region", true}, {"title", false}, {"seniority", true}, {"language", true},
	{"timezone", false}, {"utm_source", true}, {"utm_medium", true}, {"utm_campaign", false},
	{"budget", true}, {"authority", true}, {"need", true}, {"timeline", true}, {"consent", false},
}

// firmoValue returns firmoProps[i] of p. A switch rather than a table of
// funcs: an indirect call would make the event escape and Compile allocate.
func firmoValue(p *Props, i int) string {
	switch i {
	case 0:
		return p.Company
	case 1:
		return p.Industry
	case 2:
		if p.CompanySize == "" {
			return sizeBand(p.Employees)
		}
		return p.CompanySize
	case 3:
		return p.Country
	case 4:
		return p.Region
	case 5:
		return p.Title
	case 6:
		return p.Seniority
	case 7:
		return p.Language
	case 8:
		return p.Timezone
	case 9:
		return p.UTMSource
	case 10:
		return p.UTMMedium
	case 11:
		return p.UTMCampaign
	case 12:
		return p.Budget
	case 13:
		return p.Authority
	case 14:
		return p.Need
	case 15:
		return p.Timeline
	case 16:
		return p.Consent
	}
	return ""
}

// Config returns the configuration s was built from.
func (s *Spec) Config() SpecConfig { return s.cfg }

// Compile appends to dst the state updates of e and returns the extended
// slice. It allocates only to normalise firmographic strings.
func (s *Spec) Compile(e Event, dst []Op) []Op {
	ty := e.Type
	if ty == TypeUnknown || ty >= numTypes {
		return dst
	}
	t := e.TS.UnixMilli()
	p := &e.Props
	dst = append(dst, Op{Kind: OpIncr, Field: s.count[ty].name, T: t, N: 1, id: s.count[ty].id},
		s.timeOp(OpMax, s.last[gAny], t), s.timeOp(OpMin, s.first, t))
	if g := groupOf[ty]; g != gAny {
		dst = append(dst, s.timeOp(OpMax, s.last[g], t))
	}
	if s.intent[ty] {
		dst = append(dst, s.timeOp(OpMax, s.last[gIntent], t))
	}
	w := s.weight[ty]
	if ty == PageViewed {
		if c := pathCat(p.Path); c >= 0 {
			dst = append(dst, Op{Kind: OpIncr, Field: s.pv[c].name, T: t, N: 1, id: s.pv[c].id})
			if pageCats[c] == "pricing" {
				w = s.cfg.PricingWeight
			}
		}
		// Visits are distinct session ids. Views without one count as views
		// only: a marker field per such view would grow the hash without bound.
		if p.SessionID != "" {
			dst = append(dst, Op{Kind: OpIncr, Field: s.sview.name, T: t, N: 1, id: s.sview.id},
				Op{Kind: OpDistinct, Field: s.sess.name, T: t, K: hash64(hashSeed, p.SessionID), id: s.sess.id})
		}
	}
	if w != 0 {
		dst = append(dst, Op{Kind: OpDecay, Field: s.decay.Fields[0], Ref: s.decay.Ref, T: t, N: w,
			Decay: &s.decay, id: s.decayID})
	}
	if src := touchSource(p); src != "" {
		dst = append(dst, s.setOp(OpOlder, s.src0, t, src), s.setOp(OpNewer, s.src1, t, src))
	}
	for i := range s.firmos {
		f := &s.firmos[i]
		v := firmoValue(p, i)
		if v == "" {
			continue
		}
		if f.norm {
			v = norm(v)
		}
		dst = append(dst, s.setOp(OpNewer, f.f, t, v))
	}
	switch ty {
	case StatusChanged:
		dst = append(dst, s.setOp(OpNewer, s.state, t, norm(p.Status)))
	case CallOutcome:
		dst = append(dst, s.setOp(OpNewer, s.outcome, t, norm(p.Outcome)))
	}
	return dst
}

func (s *Spec) timeOp(k OpKind, f field, t int64) Op {
	return Op{Kind: k, Field: f.name, T: t, id: f.id}
}

func (s *Spec) setOp(k OpKind, f field, t int64, v string) Op {
	return Op{Kind: k, Field: f.name, Ref: f.ref, T: t, S: v, id: f.id}
}

// touchSource is the attribution of an event: its source, else the UTM
// medium, else the UTM source, normalised for the source vocabulary.
func touchSource(p *Props) string {
	for _, v := range [...]string{p.Source, p.UTMMedium, p.UTMSource} {
		if v != "" {
			return norm(v)
		}
	}
	return ""
}

// pathCat returns the index in pageCats of the page a path (or URL) shows, or -1.
func pathCat(path string) int {
	if i := strings.Index(path, "://"); i >= 0 {
		path = path[i+3:]
		if j := strings.IndexByte(path, '/'); j >= 0 {
			path = path[j:]
		} else {
			return -1
		}
	}
	path = strings.TrimLeft(path, "/")
	if i := strings.IndexAny(path, "/?#."); i >= 0 {
		path = path[:i]
	}
	for _, m := range pageSegments {
		if strings.EqualFold(path, m.seg) {
			return m.cat
		}
	}
	return -1
}

// pageSegments maps a path's first segment to its index in pageCats.
var pageSegments = [...]struct {
	seg string
	cat int
}{{"pricing", 0}, {"plans", 0}, {"product", 1}, {"products", 1}, {"features", 1},
	{"platform", 1}, {"docs", 2}, {"documentation", 2}, {"developers", 2}, {"api", 2},
	{"careers", 3}, {"jobs", 3}}

const hashSeed = 14695981039346656037

// hash64 continues an FNV-1a hash h over s; it names the per-session marker
// fields compactly and without building strings.
func hash64(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
