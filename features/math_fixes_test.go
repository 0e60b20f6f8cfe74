package features

import (
	"math"
	"slices"
	"testing"
	"time"
)

// TestDecayFutureEvent: Decode accepts events up to 5 minutes ahead of
// the consumer's clock (Limits.MaxFuture), so a lead's decay reference d@ may
// be later than the now it is scored at. Bringing the sums "to now" must then
// not grow them past the weights themselves: a single demo request (weight
// 10) may not be worth more than 10, and must never be +Inf.
func TestDecayFutureEvent(t *testing.T) {
	c := DefaultSpecConfig()
	c.HalfLives = []time.Duration{time.Hour, 100 * time.Millisecond}
	s, err := NewSpec(c)
	if err != nil {
		t.Fatal(err)
	}
	ev := Event{EventID: "e", LeadID: "L", Type: DemoRequested, TS: testNow.Add(4 * time.Minute)} // within MaxFuture
	nn, nc := s.Sizes()
	for _, path := range []string{"Fold+Extract", "ExtractNew"} {
		num, cat := make([]float64, nn), make([]string, nc)
		if path == "ExtractNew" {
			s.ExtractNew([]Event{ev}, testNow, num, cat)
		} else {
			s.Extract(foldEvents(s, []Event{ev}), testNow, num, cat)
		}
		for _, name := range []string{"eng_1h", "eng_" + durName(100*time.Millisecond)} {
			v := num[slices.Index(s.NumNames(), name)]
			if math.IsInf(v, 0) || math.IsNaN(v) || v > 10 {
				t.Errorf("%s: %s = %v for one event of weight 10 stamped after now", path, name, v)
			}
		}
	}
}

// TestSubMillisecondHalfLife: the decayed sums work in whole
// milliseconds (HalfMs = h.Milliseconds()), so a half-life below 1 ms is a
// half-life of 0 and every decay divides by zero. NewSpec must refuse it
// rather than let NaN into the state and the model's vector.
func TestSubMillisecondHalfLife(t *testing.T) {
	c := DefaultSpecConfig()
	c.HalfLives = []time.Duration{time.Hour, 500 * time.Microsecond}
	s, err := NewSpec(c)
	if err != nil {
		return // refused: fine
	}
	evs := []Event{
		{EventID: "a", LeadID: "L", Type: DemoRequested, TS: testNow},
		{EventID: "b", LeadID: "L", Type: FormSubmitted, TS: testNow},
	}
	nn, nc := s.Sizes()
	num, cat := make([]float64, nn), make([]string, nc)
	st := foldEvents(s, evs)
	s.Extract(st, testNow, num, cat)
	for i, name := range s.NumNames() {
		if math.IsNaN(num[i]) || math.IsInf(num[i], 0) {
			t.Errorf("NewSpec accepted half-life 500µs; %s = %v (state %v)", name, num[i], st)
		}
	}
}

// TestSeniorityHyphen: a title's seniority must not depend on whether
// its words are joined by a space or a hyphen; the seniority prop itself is
// normalised that way (norm("Vice-President") = "vice_president" → vp).
func TestSeniorityHyphen(t *testing.T) {
	for title, want := range map[string]string{
		"Vice President": "vp", "Vice-President": "vp", "Senior Vice-President, Sales": "vp",
		"VP-Sales": "vp", "Co-Founder": "c_level", "Co-Founder & CEO": "c_level", "Cofounder": "c_level",
		"Sales-Manager": "manager",
	} {
		if got := inferSeniority(title); got != want {
			t.Errorf("inferSeniority(%q) = %q, want %q", title, got, want)
		}
	}
	s := DefaultSpec()
	if a, b := s.Canonical("seniority", "Vice-President"), inferSeniority("Vice-President"); a != b {
		t.Errorf("seniority prop %q gives %q, the same title gives %q", "Vice-President", a, b)
	}
}
