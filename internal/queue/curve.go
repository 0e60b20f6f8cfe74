package queue

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Knot is one point (age, value) of a contact-value curve.
type Knot struct {
	Age   time.Duration // time since the lead's latest high-intent trigger
	Value float64       // relative value of a call at that age, in (0, 1]
}

// Curve is the contact-value curve c(Δ): exponential between knots, so it is
// continuous, and its last knot is the horizon where a lead leaves the queue.
type Curve struct {
	Knots []Knot // first knot must be (0, 1); ages strictly increase; values never increase
}

// Segment is one exponential piece of a Curve: c(Δ) = Value·exp(−Rate·(Δ−Start)) on [Start, End).
type Segment struct {
	Start, End time.Duration
	Value      float64 // c(Start)
	Rate       float64 // decay per second, ≥ 0
}

// Published ratios the default curve is built from (DESIGN.md, "Why speed matters").
const (
	qualifyFallBy30m = 21.0 // MIT/InsideSales: 30 minutes instead of 5 cuts qualification odds 21x
	fallBy2h         = 7.0  // HBR: within an hour ~7x likelier than one hour later
	fallBy24h        = 60.0 // HBR: within an hour >60x likelier than after 24 hours
	// slowFallTo21d is our assumption, not a published figure: a further 5x
	// over days 1–21, so an old lead never outranks a fresh one of similar p.
	slowFallTo21d = 5.0
)

// DefaultCurve returns the curve from the published figures: flat to 5 min,
// 1/21 at 30 min, 7x lower at 2 h, 60x below the one-hour value at 24 h, a
// further 5x fall to day 21, where the lead leaves the queue for nurture.
func DefaultCurve() Curve {
	c30m := 1 / qualifyFallBy30m
	c2h := c30m / fallBy2h
	// "first-hour value" is read as c(1 h), interpolated on the 30 min–2 h piece.
	c1h := c30m * math.Pow(c2h/c30m, 30.0/90.0)
	c24h := c1h / fallBy24h
	return Curve{Knots: []Knot{
		{0, 1},
		{5 * time.Minute, 1},
		{30 * time.Minute, c30m},
		{2 * time.Hour, c2h},
		{24 * time.Hour, c24h},
		{21 * 24 * time.Hour, c24h / slowFallTo21d},
	}}
}

// Validate checks the knots and names the first bad one.
func (c Curve) Validate() error {
	if len(c.Knots) < 2 {
		return errors.New("needs at least two knots")
	}
	if c.Knots[0].Age != 0 || c.Knots[0].Value != 1 {
		return errors.New("knot 0 must be (0, 1): c(0) = 1")
	}
	for i := 1; i < len(c.Knots); i++ {
		k, prev := c.Knots[i], c.Knots[i-1]
		if k.Age <= prev.Age {
			return fmt.Errorf("knot %d: age %s must exceed %s", i, k.Age, prev.Age)
		}
		if !(k.Value > 0) || k.Value > prev.Value || math.IsInf(k.Value, 0) {
			return fmt.Errorf("knot %d: value %g must be positive and at most %g", i, k.Value, prev.Value)
		}
	}
	return nil
}

// Horizon is the age at which a lead leaves the active queue.
func (c Curve) Horizon() time.Duration { return c.Knots[len(c.Knots)-1].Age }

// Segments returns the exponential pieces, one per pair of neighbouring knots.
func (c Curve) Segments() []Segment {
	segs := make([]Segment, len(c.Knots)-1)
	for i := range segs {
		a, b := c.Knots[i], c.Knots[i+1]
		segs[i] = Segment{
			Start: a.Age, End: b.Age, Value: a.Value,
			Rate: math.Log(a.Value/b.Value) / (b.Age - a.Age).Seconds(),
		}
	}
	return segs
}

// Segment returns the index of the piece that holds age; ages before 0 count
// as 0, and ages at or past the horizon return len(Segments()).
func (c Curve) Segment(age time.Duration) int {
	k := 0
	for k+1 < len(c.Knots) && c.Knots[k+1].Age <= age {
		k++
	}
	return k
}

// Value returns c(age): 1 for ages before 0, 0 at or past the horizon.
func (c Curve) Value(age time.Duration) float64 {
	if age < 0 {
		return 1
	}
	k := c.Segment(age)
	if k >= len(c.Knots)-1 {
		return 0
	}
	a, b := c.Knots[k], c.Knots[k+1]
	// Same as Segments()[k], without building the slice.
	rate := math.Log(a.Value/b.Value) / (b.Age - a.Age).Seconds()
	return a.Value * math.Exp(-rate*(age-a.Age).Seconds())
}
