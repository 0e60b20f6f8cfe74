package training

import (
	"cmp"
	"math"
	"slices"

	"github.com/leadq/leadq/model"
)

// probClip keeps log loss finite for a confident wrong prediction; the same
// bound as scikit-learn's, so figures compare.
const probClip = 1e-15

// Evaluate computes every metric of the model card from probabilities p
// and labels y: ROC AUC, log loss, Brier score, a 10-bin calibration table
// with its ECE, and lift and recall in the top decile.
func Evaluate(p []float64, y []bool) model.Metrics {
	m := model.Metrics{N: len(p)}
	for _, v := range y {
		if v {
			m.Positives++
		}
	}
	if len(p) == 0 {
		return m
	}
	m.AUC = AUC(p, y)
	m.Table, m.ECE = CalibrationTable(p, y, 10)
	m.TopDecile = TopDecile(p, y)
	for i, q := range p {
		m.LogLoss += logLossOne(q, y[i])
		t := 0.0
		if y[i] {
			t = 1
		}
		m.Brier += (q - t) * (q - t)
	}
	m.LogLoss /= float64(len(p))
	m.Brier /= float64(len(p))
	return m
}

func logLossOne(p float64, y bool) float64 {
	p = min(max(p, probClip), 1-probClip)
	if y {
		return -math.Log(p)
	}
	return -math.Log(1 - p)
}

// AUC is the area under the ROC curve: the probability that a random
// positive scores above a random negative, ties counting one half (the
// Mann-Whitney statistic with mid-ranks). It is 0.5 when a class is absent.
func AUC(score []float64, y []bool) float64 {
	idx := sortedIdx(score, false)
	var rankSum, npos float64
	for k := 0; k < len(idx); {
		j := k
		for j < len(idx) && score[idx[j]] == score[idx[k]] {
			j++
		}
		mid := float64(k+j+1) / 2 // mean of 1-based ranks k+1..j
		for _, i := range idx[k:j] {
			if y[i] {
				rankSum += mid
				npos++
			}
		}
		k = j
	}
	nneg := float64(len(score)) - npos
	if npos == 0 || nneg == 0 {
		return 0.5
	}
	return (rankSum - npos*(npos+1)/2) / (npos * nneg)
}

// CalibrationTable groups probabilities into n equal-width bins of [0, 1]
// (the last one closed) and returns them with the expected calibration
// error: the row-weighted mean of |mean probability - observed rate|.
func CalibrationTable(p []float64, y []bool, n int) ([]model.CalBin, float64) {
	bins := make([]model.CalBin, n)
	for k := range bins {
		bins[k].Lo, bins[k].Hi = float64(k)/float64(n), float64(k+1)/float64(n)
	}
	for i, q := range p {
		k := min(max(int(q*float64(n)), 0), n-1)
		bins[k].N++
		bins[k].MeanProb += q
		if y[i] {
			bins[k].Observed++
		}
	}
	var ece float64
	for k := range bins {
		b := &bins[k]
		if b.N == 0 {
			continue
		}
		b.MeanProb /= float64(b.N)
		b.Observed /= float64(b.N)
		ece += float64(b.N) / float64(len(p)) * math.Abs(b.MeanProb-b.Observed)
	}
	return bins, ece
}

// TopDecile describes the ceil(n/10) highest-scored rows. Rows tied with the
// last one admitted count by their tied group's positive rate, so the figure
// does not depend on how ties happen to be ordered.
func TopDecile(score []float64, y []bool) model.Decile {
	var total float64
	for _, v := range y {
		if v {
			total++
		}
	}
	k := (len(score) + 9) / 10
	d := model.Decile{N: k}
	if k == 0 || total == 0 {
		return d
	}
	idx := sortedIdx(score, true)
	cut := score[idx[k-1]]
	var above, tiedN, tiedPos float64
	for _, i := range idx {
		switch {
		case score[i] > cut:
			above++
			if y[i] {
				d.Positives++
			}
		case score[i] == cut:
			tiedN++
			if y[i] {
				tiedPos++
			}
		}
	}
	d.Positives += (float64(k) - above) * tiedPos / tiedN
	d.Lift = (d.Positives / float64(k)) / (total / float64(len(score)))
	d.Recall = d.Positives / total
	return d
}

func sortedIdx(score []float64, desc bool) []int {
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		if desc {
			return cmp.Compare(score[b], score[a])
		}
		return cmp.Compare(score[a], score[b])
	})
	return idx
}
