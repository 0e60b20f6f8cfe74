package training

import (
	"cmp"
	"math"
	"slices"

	"github.com/leadq/leadq/model"
)

// fitPlatt fits p = σ(a·m + b) to margins m and labels y by Newton's method
// on the log loss, with Platt's (1999) smoothed targets (n₊+1)/(n₊+2) and
// 1/(n₋+2) so that a separable calibration split cannot push a to infinity.
func fitPlatt(m []float64, y []bool) model.Calibration {
	var npos, nneg float64
	for _, v := range y {
		if v {
			npos++
		} else {
			nneg++
		}
	}
	hi, lo := (npos+1)/(npos+2), 1/(nneg+2)
	t := func(i int) float64 {
		if y[i] {
			return hi
		}
		return lo
	}
	loss := func(a, b float64) float64 {
		var l float64
		for i, x := range m {
			z := a*x + b
			// log(1+e^z) - t·z, written to stay finite for large |z|
			l += softplus(z) - t(i)*z
		}
		return l
	}
	a, b := 1.0, math.Log((npos+1)/(nneg+1))
	cur := loss(a, b)
	for range 100 {
		var ga, gb, haa, hab, hbb float64
		for i, x := range m {
			p := sigmoid(a*x + b)
			d := p - t(i)
			ga += d * x
			gb += d
			w := max(p*(1-p), 1e-12)
			haa += w * x * x
			hab += w * x
			hbb += w
		}
		det := haa*hbb - hab*hab
		if !(det > 0) || math.Abs(ga)+math.Abs(gb) < 1e-9*float64(len(m)) {
			break
		}
		da := (hbb*ga - hab*gb) / det
		db := (haa*gb - hab*ga) / det
		// Halve the Newton step until the loss does not increase; stop once
		// a step no longer buys anything measurable.
		accepted := false
		for step := 1.0; step > 1e-6; step /= 2 {
			if l := loss(a-step*da, b-step*db); l <= cur {
				a, b = a-step*da, b-step*db
				accepted, cur = cur-l > 1e-12*cur, l
				break
			}
		}
		if !accepted {
			break
		}
	}
	return model.Calibration{Method: model.CalPlatt, A: a, B: b}
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func softplus(z float64) float64 {
	if z > 30 {
		return z
	}
	return math.Log1p(math.Exp(z))
}

// fitIsotonic fits a monotone step function by pool-adjacent-violators and
// returns it as points (mean margin of each block, block rate): Apply then
// interpolates between block centres, so the served probability stays
// strictly increasing in the margin between blocks and the ranking (AUC)
// survives calibration. Each block's rate is shrunk towards the overall rate
// by one pseudo-observation: raw PAV puts a rate of exactly 0 on the lowest
// block, and one positive landing there later costs an unbounded log loss.
func fitIsotonic(m []float64, y []bool) model.Calibration {
	idx := make([]int, len(m))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(m[a], m[b]) })
	var pts []pavBlock
	var npos float64
	for k := 0; k < len(idx); {
		// Equal margins must share one value: pool them from the start.
		b := pavBlock{}
		j := k
		for ; j < len(idx) && m[idx[j]] == m[idx[k]]; j++ {
			b.sumX += m[idx[j]]
			if y[idx[j]] {
				b.sumY++
			}
			b.n++
		}
		npos += b.sumY
		pts, k = append(pts, b), j
	}
	blocks := pav(pts)
	rate := npos / float64(len(m))
	for i := range blocks {
		blocks[i].sumY += rate
		blocks[i].w++
	}
	// Shrinking moves small blocks more than large ones, which can break
	// monotonicity again: pool once more.
	blocks = pav(blocks)
	c := model.Calibration{Method: model.CalIsotonic}
	for _, b := range blocks {
		c.X = append(c.X, b.sumX/b.n)
		c.Y = append(c.Y, b.sumY/b.w)
	}
	return c
}

// pavBlock is a run of margins pooled to one rate sumY/w; n counts its rows
// (for the mean margin) and w its weight, n plus any pseudo-observations.
type pavBlock struct{ sumX, sumY, n, w float64 }

// pav pools adjacent blocks until their rates are strictly increasing.
func pav(in []pavBlock) []pavBlock {
	var out []pavBlock
	for _, b := range in {
		if b.w == 0 {
			b.w = b.n
		}
		out = append(out, b)
		for len(out) > 1 {
			p, q := out[len(out)-2], out[len(out)-1]
			if p.sumY/p.w < q.sumY/q.w {
				break
			}
			out = append(out[:len(out)-2], pavBlock{p.sumX + q.sumX, p.sumY + q.sumY, p.n + q.n, p.w + q.w})
		}
	}
	return out
}

// fitCalibration fits the requested method ("platt", "isotonic", or
// "auto"). Auto picks the one with the lower 5-fold cross-validated log loss
// on the calibration split: compared in-sample, isotonic would always win.
func fitCalibration(m []float64, y []bool, method string) (model.Calibration, map[string]float64) {
	switch method {
	case model.CalPlatt:
		return fitPlatt(m, y), nil
	case model.CalIsotonic:
		return fitIsotonic(m, y), nil
	}
	const folds = 5
	cv := map[string]float64{}
	fits := map[string]func([]float64, []bool) model.Calibration{
		model.CalPlatt: fitPlatt, model.CalIsotonic: fitIsotonic,
	}
	for name, fit := range fits {
		var ll float64
		for f := range folds {
			var trM, teM []float64
			var trY, teY []bool
			for i := range m {
				if i%folds == f {
					teM, teY = append(teM, m[i]), append(teY, y[i])
				} else {
					trM, trY = append(trM, m[i]), append(trY, y[i])
				}
			}
			c := fit(trM, trY)
			for i, x := range teM {
				ll += logLossOne(c.Apply(x), teY[i])
			}
		}
		cv[name] = ll / float64(len(m))
	}
	best := model.CalPlatt
	if cv[model.CalIsotonic] < cv[model.CalPlatt] {
		best = model.CalIsotonic
	}
	return fits[best](m, y), cv
}
