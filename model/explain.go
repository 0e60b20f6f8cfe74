package model

import "math"

// Reason is one input's contribution to a score.
type Reason struct {
	// Feature is the column name, with "=value" for a categorical column
	// ("job=student"; "job=(other)" for a value the model never saw).
	Feature string `json:"feature"`
	// Value is the raw numeric input (the fill value if it was missing), or 1
	// for a categorical column.
	Value float64 `json:"value"`
	// Impact is the change in log-odds against an average training lead:
	// positive raises the probability, negative lowers it. For a forest it
	// is the input's share of the leaf-share change along the row's paths
	// (summed over splits, averaged over trees), scaled to log-odds.
	Impact float64 `json:"impact"`
}

// TopReasons is how many positive and how many negative reasons Explain gives.
const TopReasons = 3

// Explain appends to dst the up to 3 largest positive contributions, largest
// first, then the up to 3 largest negative ones, most negative first. It does
// not allocate when dst has room for 6.
func (s *Scorer) Explain(num []float64, cat []string, dst []Reason) []Reason {
	if s.forest != nil {
		return s.forest.explain(&s.cal, num, cat, dst)
	}
	// Contributions are in margin units and add up to margin − avg. Like a
	// forest's, they are then scaled to calibrated log-odds, so that they add
	// up to the row's log-odds minus the average lead's (the calibration's
	// slope is not 1, and isotonic calibration is not even linear). The
	// scale is one number for the row, so the top reasons are picked in
	// margin units, and the margin is their sum: one pass over the inputs.
	var pos, neg top3
	sum := 0.0
	for i := range s.nums {
		c := &s.nums[i]
		x := num[i]
		if math.IsNaN(x) {
			x = c.enc.Fill
		}
		// The shift is an artefact of golearn's positivity rule, so the
		// impact is measured from the training mean, where z = 0.
		impact := c.w * (c.enc.Encode(x) - c.enc.Shift)
		if len(c.binW) > 0 {
			impact += c.binW[c.enc.Bin(x)] - c.binBase
		}
		sum += impact
		r := Reason{Feature: c.enc.Name, Value: x, Impact: impact}
		pos.add(r, impact)
		neg.add(r, -impact)
	}
	for i := range s.cats {
		c := &s.cats[i]
		r := Reason{Feature: c.other, Value: 1, Impact: -c.base}
		if k, ok := c.index[cat[i]]; ok {
			r.Feature, r.Impact = c.names[k], c.w[k]-c.base
		}
		sum += r.Impact
		pos.add(r, r.Impact)
		neg.add(r, -r.Impact)
	}
	scale := logOddsPerMargin(&s.cal, s.avg, s.avg+sum)
	switch {
	case scale == 0: // a flat stretch of the calibration: nothing moves the probability
		return dst
	case scale < 0: // a decreasing calibration turns raisers into lowerers
		pos, neg = neg, pos
	}
	for i := range pos.n {
		pos.r[i].Impact *= scale
	}
	for i := range neg.n {
		neg.r[i].Impact *= scale
	}
	dst = append(dst, pos.r[:pos.n]...)
	return append(dst, neg.r[:neg.n]...)
}

// top3 keeps the three reasons with the largest strictly positive key,
// sorted by key descending, in a fixed array so Explain stays on the stack.
type top3 struct {
	r [TopReasons]Reason
	k [TopReasons]float64
	n int
}

func (t *top3) add(r Reason, key float64) {
	if !(key > 0) {
		return
	}
	i := t.n
	if i == TopReasons {
		if key <= t.k[i-1] {
			return
		}
		i--
	} else {
		t.n++
	}
	for ; i > 0 && t.k[i-1] < key; i-- {
		t.r[i], t.k[i] = t.r[i-1], t.k[i-1]
	}
	t.r[i], t.k[i] = r, key
}
