package training

import (
	"context"
	"time"

	"github.com/leadq/leadq/model"
)

// candidate is one fitted (bins, C) combination.
type candidate struct {
	index int // among the logistic-regression entries of card.Candidates
	bins  int
	c     float64
	enc   model.Encoder
	lr    *logReg
	auc   float64
}

// selectModel fits every (bins, C) combination on the fitting rows and keeps
// the one with the best AUC on the calibration split, recording each on the
// card. AUC is what decides promotion too; calibration fixes the scale later.
func selectModel(ctx context.Context, ds *Dataset, fitRows, calRows []int, o Options, card *model.Card, progress Progress) (*candidate, error) {
	var best *candidate
	first := len(card.Candidates)
	total, done := len(o.Bins)*len(o.Cs), 0
	progress("fit", 0)
	for _, bins := range o.Bins {
		enc := fitEncoder(ds, fitRows, encoderOptions{clip: o.Clip, bins: bins, maxVocab: o.MaxVocab, minCount: o.MinCount})
		xFit, yFit := encodeRows(ds, fitRows, &enc)
		xCal, yCal := encodeRows(ds, calRows, &enc)
		calY := make([]bool, len(yCal))
		for i, v := range yCal {
			calY[i] = v == 1
		}
		for _, c := range o.Cs {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			t0 := time.Now()
			lr, err := fitLogReg(xFit, yFit, c, o.Eps)
			if err != nil {
				return nil, err
			}
			m := make([]float64, len(xCal))
			for k, x := range xCal {
				m[k] = dot(lr.w, x)
			}
			cand := &candidate{index: len(card.Candidates) - first, bins: bins, c: c, enc: enc, lr: lr, auc: AUC(m, calY)}
			card.Candidates = append(card.Candidates, model.Candidate{
				Kind: model.KindLogReg, C: c, Bins: bins, AUC: cand.auc,
				LogLoss: plattLogLoss(m, calY), Seconds: time.Since(t0).Seconds(),
			})
			if best == nil || cand.auc > best.auc {
				best = cand
			}
			done++
			progress("fit", float64(done)/float64(total))
		}
	}
	return best, nil
}

// plattLogLoss is the log loss of margins m once Platt-scaled on the same
// rows: how well a model would do after calibration, comparable across kinds.
func plattLogLoss(m []float64, y []bool) float64 {
	platt := fitPlatt(m, y)
	var ll float64
	for k, v := range m {
		ll += logLossOne(platt.Apply(v), y[k])
	}
	return ll / float64(len(m))
}

func dot(w, x []float64) float64 {
	var s float64
	for i, v := range x {
		s += w[i] * v
	}
	return s
}
