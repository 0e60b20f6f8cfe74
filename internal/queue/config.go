package queue

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Profile is the ranking and cadence policy of a pool.
type Profile struct {
	Curve Curve // contact value by age since the latest trigger
	// AttemptFactors[k] is a(k), the priority multiplier after k unanswered
	// attempts; past the end the last factor applies.
	AttemptFactors []float64
	MaxAttempts    int      // unanswered attempts after which a lead goes to nurture
	Budgets        []Budget // optional larger (or smaller) attempt budgets by probability
	// RetrySpacing[k-1] is the wait after the k-th unanswered attempt; past
	// the end the last spacing applies.
	RetrySpacing []time.Duration
	// Hours, if set, keeps leads with a known timezone out of the queue
	// outside their local calling hours; nil means call at any hour.
	Hours *CallingHours
}

// CallingHours is when a lead may be called, in the lead's local time.
type CallingHours struct {
	Start, End time.Duration  // time of day; Start < End ≤ 24h (no overnight windows)
	Days       []time.Weekday // days with calling hours; empty means every day
}

// DefaultCallingHours is 08:00–20:00 local time, Monday to Friday.
func DefaultCallingHours() *CallingHours {
	return &CallingHours{Start: 8 * time.Hour, End: 20 * time.Hour,
		Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}}
}

// mask encodes the days as bits, Monday = bit 0, as lua/common.lua's hours reads them.
func (h *CallingHours) mask() int {
	if len(h.Days) == 0 {
		return 0x7f
	}
	m := 0
	for _, d := range h.Days {
		m |= 1 << ((int(d) + 6) % 7)
	}
	return m
}

// Budget gives leads with probability at least MinP their own MaxAttempts,
// so the best leads are both called first and chased longest.
type Budget struct {
	MinP        float64
	MaxAttempts int
}

// Config is the queue's policy; DefaultConfig gives the published defaults.
type Config struct {
	Prefix  string             // prefix of every Redis key, e.g. "lq:"
	Tag     string             // if set, every key shares the hash tag {Tag} (see doc.go)
	Epoch   time.Time          // origin of stored scores; never change it once data exists
	Profile                    // default policy of every pool
	Pools   map[string]Profile // per-pool policies that replace the default
	Lease   time.Duration      // how long a claim is exclusively a rep's
	RepCap  int                // open claims a rep may hold at once
	// RepDailyCap limits claims per rep per UTC day; 0 means no limit.
	RepDailyCap int
	Nurture     time.Duration // how long an exhausted or not-ready lead is nurtured
	SLA         time.Duration // speed-to-lead target: first attempt within SLA of the trigger
	Reasons     []string      // allowed closed-loop reasons of non-converting outcomes
	// LeadData, when set, makes Next return the hash at LeadData.Prefix + lead
	// id + LeadData.Suffix (the lead's feature state) from the pull script
	// itself, saving the caller a round trip. That key is outside the
	// pool's hash tag, so it needs standalone Redis and an empty Tag.
	LeadData *KeyPattern
	// RejectFor is how long a rep's "rejected" keeps that lead from them
	// (then it may come back, like any lead); RejectCap is how many of a
	// rep's latest rejections per pool are kept, oldest forgotten first. A
	// pull that passes over rejected leads examines at most RejectCap of them
	// per pool, so the cap bounds what a rep's rejections cost Redis.
	RejectFor time.Duration
	RejectCap int
}

// KeyPattern names one Redis key per lead: Prefix + lead id + Suffix.
type KeyPattern struct{ Prefix, Suffix string }

// DefaultEpoch is the default origin of stored scores, chosen near the
// service's life so λ·(t − epoch) stays small and keeps float precision.
var DefaultEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// DefaultConfig returns the defaults from DESIGN.md and the published figures.
func DefaultConfig() Config {
	return Config{
		Prefix: "lq:",
		Epoch:  DefaultEpoch,
		Profile: Profile{
			Curve:          DefaultCurve(),
			AttemptFactors: []float64{1, 0.8, 0.6, 0.45, 0.35, 0.25},
			MaxAttempts:    6, // "about 6 call attempts is the useful number"
			RetrySpacing:   []time.Duration{15 * time.Minute, time.Hour, 4 * time.Hour, 24 * time.Hour, 48 * time.Hour},
		},
		Lease:   10 * time.Minute,
		RepCap:  1,
		Nurture: 21 * 24 * time.Hour,
		SLA:     5 * time.Minute,
		// A week outlasts the five-minute window and the first retries; a
		// rep rejecting more than 200 leads of one pool a week is rare, and
		// 200 skipped leads cost a pull well under a millisecond.
		RejectFor: 7 * 24 * time.Hour,
		RejectCap: 200,
		Reasons:   []string{"no_need", "no_budget", "timing_next_quarter", "lost_to_competitor", "wrong_contact", "other"},
	}
}

// Validate checks every setting and names the first bad field.
func (c Config) Validate() error {
	if strings.ContainsAny(c.Tag, "{}") {
		return fmt.Errorf("Tag %q: must not contain braces", c.Tag)
	}
	if c.LeadData != nil && c.Tag != "" {
		return errors.New("LeadData: needs an empty Tag (its keys lie outside the tag's slot)")
	}
	if c.Epoch.IsZero() {
		return errors.New("Epoch: must be set")
	}
	if err := c.Profile.validate(); err != nil {
		return fmt.Errorf("Profile.%w", err)
	}
	for name, p := range c.Pools {
		if err := validPool(name); err != nil {
			return fmt.Errorf("Pools: %w", err)
		}
		if err := p.validate(); err != nil {
			return fmt.Errorf("Pools[%q].%w", name, err)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Lease", c.Lease}, {"Nurture", c.Nurture}, {"SLA", c.SLA}, {"RejectFor", c.RejectFor}} {
		if d.v <= 0 {
			return fmt.Errorf("%s: must be positive, got %s", d.name, d.v)
		}
	}
	if c.RepCap < 1 {
		return fmt.Errorf("RepCap: must be at least 1, got %d", c.RepCap)
	}
	if c.RejectCap < 1 || c.RejectCap > 100000 {
		return fmt.Errorf("RejectCap: must be 1–100000, got %d", c.RejectCap)
	}
	if c.RepDailyCap < 0 {
		return fmt.Errorf("RepDailyCap: must be 0 (no limit) or positive, got %d", c.RepDailyCap)
	}
	for i, r := range c.Reasons {
		if r == "" || strings.ContainsAny(r, "|{} ") {
			return fmt.Errorf("Reasons[%d] %q: must be a non-empty word", i, r)
		}
	}
	return nil
}

func (p Profile) validate() error {
	if err := p.Curve.Validate(); err != nil {
		return fmt.Errorf("Curve: %w", err)
	}
	if len(p.AttemptFactors) == 0 {
		return errors.New("AttemptFactors: at least one factor")
	}
	for i, a := range p.AttemptFactors {
		if !(a > 0 && a <= 1) {
			return fmt.Errorf("AttemptFactors[%d]: %g not in (0, 1]", i, a)
		}
	}
	if p.MaxAttempts < 1 {
		return fmt.Errorf("MaxAttempts: must be at least 1, got %d", p.MaxAttempts)
	}
	for i, b := range p.Budgets {
		if !(b.MinP > 0 && b.MinP <= 1) || b.MaxAttempts < 1 {
			return fmt.Errorf("Budgets[%d]: MinP %g must be in (0, 1] and MaxAttempts %d at least 1", i, b.MinP, b.MaxAttempts)
		}
	}
	if h := p.Hours; h != nil {
		if h.Start < 0 || h.End <= h.Start || h.End > 24*time.Hour {
			return fmt.Errorf("Hours: need 0 ≤ Start < End ≤ 24h, got %s–%s", h.Start, h.End)
		}
		for i, d := range h.Days {
			if d < time.Sunday || d > time.Saturday {
				return fmt.Errorf("Hours.Days[%d]: %d is not a weekday", i, d)
			}
		}
	}
	if len(p.RetrySpacing) == 0 {
		return errors.New("RetrySpacing: at least one spacing")
	}
	for i, d := range p.RetrySpacing {
		if d <= 0 {
			return fmt.Errorf("RetrySpacing[%d]: must be positive, got %s", i, d)
		}
	}
	return nil
}

// profile returns the policy of a pool.
func (c Config) profile(pool string) Profile {
	if p, ok := c.Pools[pool]; ok {
		return p
	}
	return c.Profile
}

// AttemptFactor returns a(k) for k unanswered attempts.
func (p Profile) AttemptFactor(k int) float64 {
	return p.AttemptFactors[min(max(k, 0), len(p.AttemptFactors)-1)]
}

// Attempts returns the attempt budget of a lead with probability prob.
func (p Profile) Attempts(prob float64) int {
	best, n := -1.0, p.MaxAttempts
	for _, b := range p.Budgets {
		if prob >= b.MinP && b.MinP > best {
			best, n = b.MinP, b.MaxAttempts
		}
	}
	return n
}

// Priority returns p × c(age) × a(attempts), the formula the queue orders by.
func (p Profile) Priority(prob float64, age time.Duration, attempts int) float64 {
	return prob * p.Curve.Value(age) * p.AttemptFactor(attempts)
}

// validPool rejects names that would break hash tags or claim ids.
func validPool(name string) error {
	if name == "" || len(name) > 200 || strings.ContainsAny(name, "{}[]") {
		return fmt.Errorf("pool %q: must be 1–200 bytes without braces or brackets", name)
	}
	return nil
}

// minP keeps log p finite: a lead the model scores 0 still has a place, last.
const minP = 1e-12

// validP checks a calibrated probability.
func validP(p float64) error {
	if math.IsNaN(p) || p < 0 || p > 1 {
		return fmt.Errorf("%w: probability %g not in [0, 1]", ErrInvalid, p)
	}
	return nil
}
