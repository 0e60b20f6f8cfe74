package model

import "math"

// Encode maps a raw value to the strictly positive input the weight at
// e.Index multiplies. Training and serving both call it, so they cannot drift.
func (e *NumEncoding) Encode(x float64) float64 {
	if math.IsNaN(x) {
		x = e.Fill
	}
	z := (x - e.Mean) / e.Std
	// Clamping bounds the damage of outliers and of serving-time values far
	// outside the training range (the bank data drifts exactly like that).
	z = min(max(z, -e.Clip), e.Clip)
	return z + e.Shift
}

// Bin returns the index of x's bin among e.Edges (the count of edges ≤ x);
// NaN takes the bin of Fill.
func (e *NumEncoding) Bin(x float64) int {
	if math.IsNaN(x) {
		x = e.Fill
	}
	// Linear scan: a handful of edges, faster than a binary search here.
	k := 0
	for k < len(e.Edges) && e.Edges[k] <= x {
		k++
	}
	return k
}

// Lookup returns the position of v in e.Values, or -1 for an unknown value.
// It is linear and meant for training; the Scorer uses a map.
func (e *CatEncoding) Lookup(v string) int {
	for i, s := range e.Values {
		if s == v {
			return i
		}
	}
	return -1
}

// Dim is the length of the dense input vector (and of Weights) the encoder
// produces: one past the highest index it sets.
func (enc *Encoder) Dim() int {
	d := 1 // the constant column
	for _, e := range enc.Num {
		d = max(d, e.Index+1)
		if len(e.Edges) > 0 {
			d = max(d, e.BinOffset+len(e.Edges)+1)
		}
	}
	for _, e := range enc.Cat {
		d = max(d, e.Offset+len(e.Values))
	}
	return d
}

// Dense writes the full encoded input vector of one row into dst (length
// Dim, index 0 the constant 1.0), the form golearn is trained on. Unset
// one-hot positions are 0, which golearn skips, as the Scorer does.
func (enc *Encoder) Dense(num []float64, cat []string, dst []float64) {
	clear(dst)
	dst[0] = 1
	for i := range enc.Num {
		e := &enc.Num[i]
		dst[e.Index] = e.Encode(num[i])
		if len(e.Edges) > 0 {
			dst[e.BinOffset+e.Bin(num[i])] = 1
		}
	}
	for i := range enc.Cat {
		e := &enc.Cat[i]
		if k := e.Lookup(cat[i]); k >= 0 {
			dst[e.Offset+k] = 1
		}
	}
}
