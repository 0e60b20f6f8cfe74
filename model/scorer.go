package model

import (
	"fmt"
	"math"
	"sort"
)

// Scorer is an Artifact compiled into flat arrays: it scores one row with no
// allocation and is safe for concurrent use (it is never mutated).
type Scorer struct {
	version string
	kind    string
	schema  Schema
	bias    float64 // weight of the constant column
	avg     float64 // margin of the average training lead: Explain's reference point
	nums    []numCol
	cats    []catCol
	forest  *flatForest // non-nil for KindForest: nums and cats are unused
	cal     Calibration
}

type numCol struct {
	enc     NumEncoding
	w       float64
	binW    []float64 // weight per bin, empty without bins
	binBase float64   // share-weighted mean of binW: Explain's "average lead"
}

type catCol struct {
	index map[string]int32
	w     []float64
	names []string // "column=value", built once so Explain does not allocate
	other string   // "column=(other)" for values not in the vocabulary
	base  float64  // share-weighted mean of w
}

// Compile validates an artifact and builds its Scorer.
func Compile(a *Artifact) (*Scorer, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	s := &Scorer{
		version: a.Version,
		kind:    a.Kind,
		schema:  Schema{Num: append([]string(nil), a.Schema.Num...), Cat: append([]string(nil), a.Schema.Cat...)},
		cal: Calibration{Method: a.Calibration.Method, A: a.Calibration.A, B: a.Calibration.B,
			X: append([]float64(nil), a.Calibration.X...), Y: append([]float64(nil), a.Calibration.Y...)},
	}
	if a.Kind == KindForest {
		s.forest = compileForest(a.Forest)
		return s, nil
	}
	s.bias = a.Weights[0]
	s.avg = s.bias
	for _, e := range a.Encoder.Num {
		c := numCol{enc: e, w: a.Weights[e.Index]}
		c.enc.Edges = append([]float64(nil), e.Edges...)
		if len(e.Edges) > 0 {
			c.binW = append([]float64(nil), a.Weights[e.BinOffset:e.BinOffset+len(e.Edges)+1]...)
			for k, w := range c.binW {
				c.binBase += e.BinShare[k] * w
			}
		}
		s.avg += c.w*c.enc.Shift + c.binBase // z = 0 at the mean
		s.nums = append(s.nums, c)
	}
	for _, e := range a.Encoder.Cat {
		c := catCol{index: make(map[string]int32, len(e.Values)), other: e.Name + "=(other)"}
		for k, v := range e.Values {
			c.index[v] = int32(k)
			c.w = append(c.w, a.Weights[e.Offset+k])
			c.names = append(c.names, e.Name+"="+v)
			c.base += e.Share[k] * a.Weights[e.Offset+k]
		}
		s.avg += c.base
		s.cats = append(s.cats, c)
	}
	return s, nil
}

// Version is the artifact version every score carries ("prior" for the prior).
func (s *Scorer) Version() string { return s.version }

// Kind is the artifact kind, e.g. KindLogReg or KindPrior.
func (s *Scorer) Kind() string { return s.kind }

// Schema names the inputs Score expects, in order.
func (s *Scorer) Schema() Schema { return s.schema }

// Score returns the calibrated conversion probability of one row; num and
// cat follow Schema() (NaN is a missing number, an unseen string an unknown
// category).
func (s *Scorer) Score(num []float64, cat []string) float64 {
	return s.Calibrate(s.Margin(num, cat))
}

// Margin returns the raw score the calibration maps to a probability. For a
// forest it is the mean leaf share of positives over the trees. For logistic
// regression it is the linear score w·x, the quantity golearn thresholds at
// 0. Terms are added in ascending weight index, as liblinear adds them, and
// each product is rounded before the add (float64(...) forbids a fused
// multiply-add) so that its sign matches golearn's prediction bit for bit.
func (s *Scorer) Margin(num []float64, cat []string) float64 {
	if len(num) != len(s.schema.Num) || len(cat) != len(s.schema.Cat) {
		panic(fmt.Sprintf("model: Score got %d numeric and %d categorical inputs, schema has %d and %d",
			len(num), len(cat), len(s.schema.Num), len(s.schema.Cat)))
	}
	if s.forest != nil {
		return s.forest.margin(num, cat)
	}
	m := float64(s.bias * 1)
	for i := range s.nums {
		c := &s.nums[i]
		m += float64(c.w * c.enc.Encode(num[i]))
	}
	for i := range s.nums {
		if c := &s.nums[i]; len(c.binW) > 0 {
			m += float64(c.binW[c.enc.Bin(num[i])] * 1)
		}
	}
	for i := range s.cats {
		c := &s.cats[i]
		if k, ok := c.index[cat[i]]; ok {
			m += float64(c.w[k] * 1)
		}
	}
	return m
}

// Votes returns how many trees of a forest vote positive for the row, and
// how many trees there are: golearn's prediction is the majority. It is
// (0, 0) for any other kind.
func (s *Scorer) Votes(num []float64, cat []string) (positive, trees int) {
	if s.forest == nil {
		return 0, 0
	}
	return s.forest.votes(num, cat), len(s.forest.roots)
}

// Calibrate maps a margin to a probability with the artifact's calibration.
func (s *Scorer) Calibrate(m float64) float64 {
	return s.cal.Apply(m)
}

// Apply maps a raw margin to a probability.
func (c *Calibration) Apply(m float64) float64 {
	if c.Method == CalIsotonic {
		xs, ys := c.X, c.Y
		if m <= xs[0] {
			return ys[0]
		}
		n := len(xs)
		if m >= xs[n-1] {
			return ys[n-1]
		}
		i := sort.SearchFloat64s(xs, m) // xs[i-1] < m ≤ xs[i]
		x0, x1 := xs[i-1], xs[i]
		if x1 == x0 {
			return ys[i]
		}
		return ys[i-1] + (ys[i]-ys[i-1])*(m-x0)/(x1-x0)
	}
	return 1 / (1 + math.Exp(-(c.A*m + c.B)))
}
