package model

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leadq/leadq/features"
)

// ErrUnservable reports an artifact whose inputs share no column with the
// feature spec: every lead would get the same score, so it is never swapped in.
var ErrUnservable = errors.New("model: artifact does not fit the feature spec")

// Binding maps a feature vector in the spec's order (features.Spec NumNames
// and CatNames) onto an artifact's Schema, by column name, so that a model
// trained on a subset or a reordering of the spec still scores correctly.
type Binding struct {
	num, cat []int // per schema column, the spec index it reads, or -1
	identity bool  // schema == spec: Apply is a no-op and is skipped
	missing  []string
}

// NewBinding binds the spec's columns (specNum, specCat) to schema. A schema
// column the spec lacks reads NaN (numeric) or "" (categorical), so the
// encoder's fill value or the unknown category applies.
func NewBinding(specNum, specCat []string, schema Schema) *Binding {
	b := &Binding{
		num:      make([]int, len(schema.Num)),
		cat:      make([]int, len(schema.Cat)),
		identity: slices.Equal(specNum, schema.Num) && slices.Equal(specCat, schema.Cat),
	}
	bind := func(dst []int, names, spec []string) {
		for i, n := range names {
			dst[i] = slices.Index(spec, n)
			if dst[i] < 0 {
				b.missing = append(b.missing, n)
			}
		}
	}
	bind(b.num, schema.Num, specNum)
	bind(b.cat, schema.Cat, specCat)
	return b
}

// Missing lists the schema columns the spec does not provide.
func (b *Binding) Missing() []string { return slices.Clone(b.missing) }

// Bound counts the schema columns the spec provides.
func (b *Binding) Bound() int { return len(b.num) + len(b.cat) - len(b.missing) }

// Identity reports whether the schema is exactly the spec, in order.
func (b *Binding) Identity() bool { return b.identity }

// Apply writes the schema-ordered inputs of one spec-ordered row into dstNum
// and dstCat, which must have the schema's lengths.
func (b *Binding) Apply(num []float64, cat []string, dstNum []float64, dstCat []string) {
	for i, j := range b.num {
		if j < 0 {
			dstNum[i] = math.NaN()
		} else {
			dstNum[i] = num[j]
		}
	}
	for i, j := range b.cat {
		if j < 0 {
			dstCat[i] = ""
		} else {
			dstCat[i] = cat[j]
		}
	}
}

// Served is one model as it is being served: everything a score needs,
// swapped as a unit so that a score never mixes two versions.
type Served struct {
	Scorer  *Scorer
	Binding *Binding
	Version string
	Card    *Card // nil for the prior
}

// Live holds the model every request scores with. Readers load one atomic
// pointer, so serving never waits on training or on a swap; Set replaces the
// model for every later score. It is safe for concurrent use.
type Live struct {
	spec     *features.Spec
	numNames []string
	catNames []string
	cur      atomic.Pointer[Served]
	pool     sync.Pool // *scratch: spares Score its per-call vectors
}

// scratch holds one call's vectors: spec-ordered, then schema-ordered.
type scratch struct {
	num  []float64
	cat  []string
	mNum []float64
	mCat []string
}

// put returns sc to the pool without the strings of the row it scored: a
// what-if score's strings point into its request's buffer (api), which Fiber
// reuses, and a pooled scratch must keep none.
func (l *Live) put(sc *scratch) {
	clear(sc.cat)
	clear(sc.mCat)
	l.pool.Put(sc)
}

// NewLive returns a Live serving the cold-start prior (version "prior").
func NewLive(spec *features.Spec) *Live {
	l := &Live{spec: spec, numNames: spec.NumNames(), catNames: spec.CatNames()}
	l.pool.New = func() any {
		return &scratch{num: make([]float64, len(l.numNames)), cat: make([]string, len(l.catNames))}
	}
	if err := l.Set(Prior(), nil); err != nil {
		// The prior reads source_first, which the spec has always had.
		panic(fmt.Sprintf("model: the prior does not fit the feature spec: %v", err))
	}
	return l
}

// Compile compiles and binds an artifact for this Live without serving it,
// so that a caller can check a model before swapping it in.
func (l *Live) Compile(a *Artifact, c *Card) (*Served, error) {
	s, err := Compile(a)
	if err != nil {
		return nil, err
	}
	b := NewBinding(l.numNames, l.catNames, a.Schema)
	if b.Bound() == 0 && len(a.Schema.Num)+len(a.Schema.Cat) > 0 {
		return nil, fmt.Errorf("%w: %s has none of its %d columns in spec %s", ErrUnservable,
			a.Version, len(a.Schema.Num)+len(a.Schema.Cat), l.spec.Version)
	}
	return &Served{Scorer: s, Binding: b, Version: a.Version, Card: c}, nil
}

// Set compiles a and serves it from now on, atomically for every caller.
// On error the served model is unchanged.
func (l *Live) Set(a *Artifact, c *Card) error {
	s, err := l.Compile(a, c)
	if err != nil {
		return err
	}
	l.Swap(s)
	return nil
}

// Swap serves s from now on and returns the model it replaced.
func (l *Live) Swap(s *Served) *Served { return l.cur.Swap(s) }

// Current returns the model being served.
func (l *Live) Current() *Served { return l.cur.Load() }

// Version returns the version of the model being served.
func (l *Live) Version() string { return l.cur.Load().Version }

// Spec returns the feature spec scores are extracted with.
func (l *Live) Spec() *features.Spec { return l.spec }

// Score extracts st's feature vector at now and returns its calibrated
// conversion probability and the version of the model that produced it.
func (l *Live) Score(st features.State, now time.Time) (float64, string) {
	sc := l.pool.Get().(*scratch)
	l.spec.Extract(st, now, sc.num, sc.cat)
	p, v := l.scoreVector(l.cur.Load(), sc, nil)
	l.put(sc)
	return p, v
}

// ScoreVector scores a row already extracted in the spec's order.
func (l *Live) ScoreVector(num []float64, cat []string) (float64, string) {
	m := l.cur.Load()
	if m.Binding.identity {
		return m.Scorer.Score(num, cat), m.Version
	}
	sc := l.pool.Get().(*scratch)
	copy(sc.num, num)
	copy(sc.cat, cat)
	p, v := l.scoreVector(m, sc, nil)
	l.put(sc)
	return p, v
}

// Explain is Score plus the top 3 positive and top 3 negative reasons,
// appended to dst, all from the same model version. It does not allocate
// when dst has room for 6 reasons.
func (l *Live) Explain(st features.State, now time.Time, dst []Reason) (float64, []Reason, string) {
	sc := l.pool.Get().(*scratch)
	l.spec.Extract(st, now, sc.num, sc.cat)
	p, v := l.scoreVector(l.cur.Load(), sc, &dst)
	l.put(sc)
	return p, dst, v
}

// ExplainVector is Explain for a row already extracted in the spec's order.
func (l *Live) ExplainVector(num []float64, cat []string, dst []Reason) (float64, []Reason, string) {
	sc := l.pool.Get().(*scratch)
	copy(sc.num, num)
	copy(sc.cat, cat)
	p, v := l.scoreVector(l.cur.Load(), sc, &dst)
	l.put(sc)
	return p, dst, v
}

// scoreVector scores sc's spec-ordered row with m, and explains it into
// *reasons when reasons is not nil.
func (l *Live) scoreVector(m *Served, sc *scratch, reasons *[]Reason) (float64, string) {
	num, cat := sc.num, sc.cat
	if !m.Binding.identity {
		nn, nc := len(m.Binding.num), len(m.Binding.cat)
		if cap(sc.mNum) < nn {
			sc.mNum = make([]float64, nn) // once per pooled scratch and model shape
		}
		if cap(sc.mCat) < nc {
			sc.mCat = make([]string, nc)
		}
		num, cat = sc.mNum[:nn], sc.mCat[:nc]
		m.Binding.Apply(sc.num, sc.cat, num, cat)
	}
	p := m.Scorer.Score(num, cat)
	if reasons != nil {
		*reasons = m.Scorer.Explain(num, cat, *reasons)
	}
	return p, m.Version
}
