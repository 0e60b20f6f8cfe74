package model

import (
	"math"
	"testing"
)

// Reason.Impact is documented as the change in log-odds against an average
// training lead, and the forest's impacts add up to exactly that
// (TestForestExplainAddsUp). A calibrated logistic regression's must too:
// a trained model's Platt slope is never 1.
// A decreasing calibration (Platt slope below 0) turns what raises the
// margin into what lowers the probability: the reasons swap sides.
func TestLogRegExplainAddsUpToCalibratedLogOdds(t *testing.T) {
	for _, slope := range []float64{2, -2} {
		explainAddsUp(t, slope)
	}
}

func explainAddsUp(t *testing.T, slope float64) {
	t.Helper()
	a := testArtifact()
	a.Calibration = Calibration{Method: CalPlatt, A: slope, B: -0.5}
	s, err := Compile(a)
	if err != nil {
		t.Fatal(err)
	}
	logit := func(p float64) float64 { return math.Log(p / (1 - p)) }
	// The average training lead: every numeric at its mean (z = 0, so the
	// encoded input is Shift), every bin and category at its share.
	avg := a.Weights[0] + 0.5*4 + 0.25*4 + (0.5*0 + 0.25*0.1 + 0.25*0.3) + (0.5*1 + 0.5*-1) + 0.2
	num, cat := []float64{50, 3}, []string{"web", "fr"}
	rs := s.Explain(num, cat, nil)
	var sum float64
	for _, r := range rs {
		sum += r.Impact
	}
	want := logit(s.Score(num, cat)) - logit(a.Calibration.Apply(avg))
	if len(rs) != 4 || math.Abs(sum-want) > 1e-9 {
		t.Fatalf("slope %v: impacts %+v add up to %v, want the calibrated log-odds change %v", slope, rs, sum, want)
	}
	// Positive reasons first, largest first, then the negative ones, most negative first.
	n := 0
	for n < len(rs) && rs[n].Impact > 0 {
		if n > 0 && rs[n].Impact > rs[n-1].Impact {
			t.Fatalf("slope %v: positive reasons out of order: %+v", slope, rs)
		}
		n++
	}
	for i := n; i < len(rs); i++ {
		if rs[i].Impact >= 0 || (i > n && rs[i].Impact < rs[i-1].Impact) {
			t.Fatalf("slope %v: negative reasons out of order: %+v", slope, rs)
		}
	}
}
