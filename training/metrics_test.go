package training

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestAUCHandComputed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		score []float64
		y     []bool
		want  float64
	}{
		{"perfect", []float64{0.1, 0.2, 0.8, 0.9}, []bool{false, false, true, true}, 1},
		{"reversed", []float64{0.9, 0.8, 0.2, 0.1}, []bool{false, false, true, true}, 0},
		// pairs (pos, neg): (0.8,0.1)✓ (0.8,0.4)✓ (0.8,0.9)✗ (0.3,0.1)✓ (0.3,0.4)✗ (0.3,0.9)✗ → 3/6
		{"mixed", []float64{0.1, 0.4, 0.9, 0.8, 0.3}, []bool{false, false, false, true, true}, 0.5},
		// pos 0.5 vs neg 0.5 is a tie (½), pos 0.5 vs neg 0.2 a win, pos 0.7 wins both: (1.5+2)/4
		{"ties", []float64{0.2, 0.5, 0.5, 0.7}, []bool{false, false, true, true}, 0.875},
		{"all tied", []float64{1, 1, 1, 1}, []bool{false, true, false, true}, 0.5},
		{"one class", []float64{0.1, 0.9}, []bool{true, true}, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := AUC(tt.score, tt.y); !near(got, tt.want) {
				t.Errorf("AUC = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEvaluateHandComputed(t *testing.T) {
	t.Parallel()
	p := []float64{0.9, 0.2, 0.6, 0.05}
	y := []bool{true, false, false, false}
	m := Evaluate(p, y)
	wantLL := -(math.Log(0.9) + math.Log(0.8) + math.Log(0.4) + math.Log(0.95)) / 4
	wantBrier := (0.01 + 0.04 + 0.36 + 0.0025) / 4
	if m.N != 4 || m.Positives != 1 || !near(m.AUC, 1) || !near(m.LogLoss, wantLL) || !near(m.Brier, wantBrier) {
		t.Errorf("Evaluate = %+v; want n 4, pos 1, auc 1, log loss %v, brier %v", m, wantLL, wantBrier)
	}
	// Bins: [0,.1): 0.05 (obs 0); [.2,.3): 0.2 (obs 0); [.6,.7): 0.6 (obs 0);
	// [.9,1]: 0.9 (obs 1). ECE = (0.05 + 0.2 + 0.6 + 0.1) / 4.
	if !near(m.ECE, 0.95/4) {
		t.Errorf("ECE = %v, want %v", m.ECE, 0.95/4)
	}
	for k, wantN := range []int{1, 0, 1, 0, 0, 0, 1, 0, 0, 1} {
		if m.Table[k].N != wantN {
			t.Errorf("bin %d has %d rows, want %d", k, m.Table[k].N, wantN)
		}
	}
	if b := m.Table[9]; !near(b.Lo, 0.9) || !near(b.Hi, 1) || !near(b.MeanProb, 0.9) || !near(b.Observed, 1) {
		t.Errorf("top bin = %+v", b)
	}
	// Top decile of 4 rows is ceil(0.4) = 1 row: the positive. Base rate ¼.
	if d := m.TopDecile; d.N != 1 || !near(d.Positives, 1) || !near(d.Lift, 4) || !near(d.Recall, 1) {
		t.Errorf("top decile = %+v, want 1 row, lift 4, recall 1", d)
	}
}

func TestCalibrationTableEdges(t *testing.T) {
	t.Parallel()
	// 1.0 belongs to the last bin, 0.1 to the second.
	bins, ece := CalibrationTable([]float64{1, 0.1, 0}, []bool{true, false, false}, 10)
	if bins[9].N != 1 || bins[1].N != 1 || bins[0].N != 1 {
		t.Errorf("bins = %+v", bins)
	}
	if !near(ece, 0.1/3) {
		t.Errorf("ECE = %v, want %v", ece, 0.1/3)
	}
}

func TestTopDecileTies(t *testing.T) {
	t.Parallel()
	// 20 rows, decile = 2 rows. One row scores 0.9 (positive); four rows tie
	// at 0.5, two of them positive: the second slot is worth ½ a positive.
	score := make([]float64, 20)
	y := make([]bool, 20)
	score[0], y[0] = 0.9, true
	for i := 1; i <= 4; i++ {
		score[i], y[i] = 0.5, i <= 2
	}
	d := TopDecile(score, y)
	// 3 positives of 20; decile holds 1.5 → rate 0.75 vs 0.15 → lift 5.
	if d.N != 2 || !near(d.Positives, 1.5) || !near(d.Lift, 5) || !near(d.Recall, 0.5) {
		t.Errorf("TopDecile = %+v, want 2 rows, 1.5 positives, lift 5, recall 0.5", d)
	}
}
