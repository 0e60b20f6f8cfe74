package training

import (
	"cmp"
	"math"
	"slices"

	"github.com/leadq/leadq/model"
)

// encoderOptions shape the encoder fitted on the training rows.
type encoderOptions struct {
	clip     float64 // standardised values are clamped to ±clip
	bins     int     // quantile bins per numeric column, 0 for none
	maxVocab int     // most frequent categories kept per column
	minCount int     // rarer categories score as unknown
}

// fitEncoder learns standardisation, bins and vocabularies from rows only,
// and lays out the weight vector: constant, numeric, bins, categories. The
// Scorer adds terms in that order, as liblinear does.
func fitEncoder(ds *Dataset, rows []int, o encoderOptions) model.Encoder {
	var enc model.Encoder
	next := 1
	vals := make([]float64, 0, len(rows))
	for j, name := range ds.Schema.Num {
		vals = vals[:0]
		for _, i := range rows {
			if v := ds.Num[j][i]; !math.IsNaN(v) {
				vals = append(vals, v)
			}
		}
		e := model.NumEncoding{Name: name, Index: next, Std: 1, Clip: o.clip, Shift: o.clip + 1}
		next++
		if len(vals) > 0 {
			e.Mean, e.Std = meanStd(vals)
			if !(e.Std > 0) {
				e.Std = 1 // a constant column: any scale will do
			}
		}
		e.Fill = e.Mean
		enc.Num = append(enc.Num, e)
		if o.bins > 1 && len(vals) > 0 { // a column missing on every row has no quantiles
			slices.Sort(vals)
			enc.Num[j].Edges = quantileEdges(vals, o.bins)
		}
	}
	// Bins let a linear model bend: the bank data's pdays=999 ("never
	// contacted") and its age and rate effects are far from linear.
	for j := range enc.Num {
		e := &enc.Num[j]
		if len(e.Edges) == 0 {
			continue
		}
		e.BinOffset = next
		next += len(e.Edges) + 1
		e.BinShare = make([]float64, len(e.Edges)+1)
		for _, i := range rows {
			e.BinShare[e.Bin(ds.Num[j][i])] += 1 / float64(len(rows))
		}
	}
	for j, name := range ds.Schema.Cat {
		e := fitVocab(name, ds.Cat[j], rows, o)
		e.Offset = next
		next += len(e.Values)
		enc.Cat = append(enc.Cat, e)
	}
	return enc
}

func meanStd(v []float64) (mean, std float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v)))
}

// quantileEdges returns ascending distinct edges that cut sorted into about
// n equally populated bins; a value equal to an edge falls in the upper bin.
// Columns with few distinct values get fewer bins.
func quantileEdges(sorted []float64, n int) []float64 {
	var edges []float64
	for k := 1; k < n; k++ {
		e := sorted[k*len(sorted)/n]
		if e > sorted[0] && (len(edges) == 0 || e > edges[len(edges)-1]) {
			edges = append(edges, e)
		}
	}
	return edges
}

// fitVocab keeps the most frequent values of a categorical column, most
// frequent first; ties are broken by value so that fits are reproducible.
func fitVocab(name string, col []string, rows []int, o encoderOptions) model.CatEncoding {
	counts := map[string]int{}
	for _, i := range rows {
		counts[col[i]]++
	}
	type vc struct {
		v string
		n int
	}
	var all []vc
	for v, n := range counts {
		if n >= o.minCount {
			all = append(all, vc{v, n})
		}
	}
	slices.SortFunc(all, func(a, b vc) int {
		return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.v, b.v))
	})
	if len(all) > o.maxVocab {
		all = all[:o.maxVocab]
	}
	e := model.CatEncoding{Name: name}
	for _, x := range all {
		e.Values = append(e.Values, x.v)
		e.Share = append(e.Share, float64(x.n)/float64(len(rows)))
	}
	return e
}

// encodeRows returns the dense golearn input of each row (index 0 the
// constant 1.0) and its 0/1 label.
func encodeRows(ds *Dataset, rows []int, enc *model.Encoder) (x [][]float64, y []float64) {
	dim := enc.Dim()
	flat := make([]float64, len(rows)*dim)
	num := make([]float64, len(ds.Num))
	cat := make([]string, len(ds.Cat))
	x = make([][]float64, len(rows))
	y = make([]float64, len(rows))
	for k, i := range rows {
		ds.Row(i, num, cat)
		x[k] = flat[k*dim : (k+1)*dim : (k+1)*dim]
		enc.Dense(num, cat, x[k])
		if ds.Label[i] {
			y[k] = 1
		}
	}
	return x, y
}
