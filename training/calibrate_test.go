package training

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/leadq/leadq/model"
)

// synthMargins draws margins whose true probability is σ(a·m + b).
func synthMargins(n int, a, b float64, seed uint64) ([]float64, []bool, []float64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	m, y, p := make([]float64, n), make([]bool, n), make([]float64, n)
	for i := range m {
		m[i] = rng.NormFloat64() * 2
		p[i] = sigmoid(a*m[i] + b)
		y[i] = rng.Float64() < p[i]
	}
	return m, y, p
}

func TestPlattRecoversKnownParameters(t *testing.T) {
	t.Parallel()
	m, y, _ := synthMargins(20000, 1.5, -2, 1)
	c := fitPlatt(m, y)
	if c.Method != model.CalPlatt || math.Abs(c.A-1.5) > 0.1 || math.Abs(c.B+2) > 0.1 {
		t.Errorf("Platt = %+v, want a≈1.5 b≈-2", c)
	}
}

func TestCalibrationOnKnownProbabilities(t *testing.T) {
	t.Parallel()
	// Fit on one sample, measure on another: both methods must reproduce
	// the true probabilities closely and have a small ECE.
	mFit, yFit, _ := synthMargins(20000, 0.8, -1.5, 2)
	mTest, yTest, pTest := synthMargins(20000, 0.8, -1.5, 3)
	for _, method := range []string{model.CalPlatt, model.CalIsotonic, "auto"} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			c, _ := fitCalibration(mFit, yFit, method)
			p := make([]float64, len(mTest))
			var maxErr float64
			for i, v := range mTest {
				p[i] = c.Apply(v)
				maxErr = max(maxErr, math.Abs(p[i]-pTest[i]))
			}
			_, ece := CalibrationTable(p, yTest, 10)
			if ece > 0.02 {
				t.Errorf("ECE = %.4f, want ≤ 0.02", ece)
			}
			if maxErr > 0.1 {
				t.Errorf("largest error against the true probability %.3f, want ≤ 0.1", maxErr)
			}
		})
	}
}

func TestIsotonicIsMonotoneAndBounded(t *testing.T) {
	t.Parallel()
	// A separable split: raw PAV would output exactly 0 and 1.
	m := []float64{-3, -2, -1, 1, 2, 3, 3}
	y := []bool{false, false, false, true, true, true, true}
	c := fitIsotonic(m, y)
	if err := (&model.Artifact{Version: "v", Weights: []float64{0}, Calibration: c}).Validate(); err != nil {
		t.Fatal(err)
	}
	for i := range c.Y {
		if c.Y[i] <= 0 || c.Y[i] >= 1 || (i > 0 && c.Y[i] <= c.Y[i-1]) {
			t.Errorf("Y = %v: want strictly increasing inside (0, 1)", c.Y)
		}
	}
	if lo, hi := c.Apply(-10), c.Apply(10); !(lo < 0.2 && hi > 0.8) {
		t.Errorf("Apply(-10) = %v, Apply(10) = %v", lo, hi)
	}
}

func TestPAVPoolsViolators(t *testing.T) {
	t.Parallel()
	// Rates 0, 1, 0, 1 by one row each → blocks {0}, {1,0 → ½}, {1}.
	in := []pavBlock{{0, 0, 1, 0}, {1, 1, 1, 0}, {2, 0, 1, 0}, {3, 1, 1, 0}}
	got := pav(in)
	if len(got) != 3 || got[1].sumY/got[1].w != 0.5 || got[1].sumX != 3 {
		t.Errorf("pav = %+v", got)
	}
}
