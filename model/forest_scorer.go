package model

import (
	"math"
	"sync"
)

// flatForest is a Forest laid out for scoring: 16-byte nodes whose two
// children sit side by side (Hi = Lo+1), so a step is one compare and one
// add, and a leaf keeps its share in thr and its vote in lo.
type flatForest struct {
	nodes []fnode
	// delta[i] is node i's Pos minus its parent's: what the parent's input
	// contributed by sending a row here (the Saabas "tree interpreter").
	delta []float64
	roots []int32
	nNum  int
	fill  []float64
	cats  []forestCatCol
	bias  float64 // mean root share: the margin of an "average training lead"
	invT  float64
	names []string // per numeric input, its column name
	pool  sync.Pool
}

type fnode struct {
	thr float64 // inner: threshold; leaf: positive share
	in  int32   // inner: input index; leaf: -1
	lo  int32   // inner: index of the Lo child (Hi is lo+1); leaf: 1 if it votes positive
}

type forestCatCol struct {
	index   map[string]int32
	codes   []float64
	unknown float64
	names   []string // "column=value", built once so Explain does not allocate
	other   string
}

// forestScratch is one call's input vector and per-input contributions.
type forestScratch struct{ in, acc []float64 }

func compileForest(f *Forest) *flatForest {
	ff := &flatForest{nNum: len(f.Num), invT: 1 / float64(len(f.Roots))}
	for _, e := range f.Num {
		ff.fill = append(ff.fill, e.Fill)
		ff.names = append(ff.names, e.Name)
	}
	for _, e := range f.Cat {
		c := forestCatCol{index: make(map[string]int32, len(e.Values)), codes: append([]float64(nil), e.Codes...),
			unknown: e.Unknown, other: e.Name + "=(other)"}
		for k, v := range e.Values {
			c.index[v] = int32(k)
			c.names = append(c.names, e.Name+"="+v)
		}
		ff.cats = append(ff.cats, c)
	}
	// Depth-first from each root, reserving both children of a node at once.
	type job struct{ src, dst int32 }
	var stack []job
	for _, r := range f.Roots {
		ff.roots = append(ff.roots, int32(len(ff.nodes)))
		ff.bias += f.Nodes[r].Pos
		ff.nodes = append(ff.nodes, fnode{})
		ff.delta = append(ff.delta, 0)
		stack = append(stack[:0], job{r, int32(len(ff.nodes) - 1)})
		for len(stack) > 0 {
			j := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			nd := &f.Nodes[j.src]
			if nd.Input < 0 {
				v := int32(0)
				if nd.Vote {
					v = 1
				}
				ff.nodes[j.dst] = fnode{thr: nd.Pos, in: -1, lo: v}
				continue
			}
			lo := int32(len(ff.nodes))
			ff.nodes[j.dst] = fnode{thr: nd.Threshold, in: nd.Input, lo: lo}
			ff.nodes = append(ff.nodes, fnode{}, fnode{})
			ff.delta = append(ff.delta, f.Nodes[nd.Lo].Pos-nd.Pos, f.Nodes[nd.Hi].Pos-nd.Pos)
			stack = append(stack, job{nd.Hi, lo + 1}, job{nd.Lo, lo})
		}
	}
	ff.bias *= ff.invT
	nIn := len(f.Num) + len(f.Cat)
	ff.pool.New = func() any { return &forestScratch{in: make([]float64, nIn), acc: make([]float64, nIn)} }
	return ff
}

// inputs writes the tree inputs of one row, as Forest.Inputs does.
func (ff *flatForest) inputs(num []float64, cat []string, in []float64) {
	for j, x := range num {
		if x != x { // NaN
			x = ff.fill[j]
		}
		in[j] = x
	}
	for j := range ff.cats {
		c := &ff.cats[j]
		x := c.unknown
		if k, ok := c.index[cat[j]]; ok {
			x = c.codes[k]
		}
		in[ff.nNum+j] = x
	}
}

// leaf walks tree t to its leaf and returns the leaf's index.
func (ff *flatForest) leaf(t int, in []float64) int32 {
	i := ff.roots[t]
	for {
		n := &ff.nodes[i]
		if n.in < 0 {
			return i
		}
		i = n.lo
		if in[n.in] > n.thr {
			i++
		}
	}
}

// margin is the mean leaf share over the trees: a probability-like score in
// [0, 1] that ranks far finer than the vote count alone.
func (ff *flatForest) margin(num []float64, cat []string) float64 {
	sc := ff.pool.Get().(*forestScratch)
	ff.inputs(num, cat, sc.in)
	var sum float64
	for t := range ff.roots {
		sum += ff.nodes[ff.leaf(t, sc.in)].thr
	}
	ff.pool.Put(sc)
	return sum * ff.invT
}

// votes counts the trees whose leaf votes positive.
func (ff *flatForest) votes(num []float64, cat []string) int {
	sc := ff.pool.Get().(*forestScratch)
	ff.inputs(num, cat, sc.in)
	n := 0
	for t := range ff.roots {
		n += int(ff.nodes[ff.leaf(t, sc.in)].lo)
	}
	ff.pool.Put(sc)
	return n
}

// explain appends the top reasons of one row. Contributions are summed per
// input along each tree's path and averaged over trees; they add up to
// margin − bias exactly. They are then scaled to log-odds by the calibrated
// probabilities of the row and of the average lead, so that Impact means
// what it means for logistic regression and the impacts add up to the
// row's log-odds minus the average lead's.
func (ff *flatForest) explain(cal *Calibration, num []float64, cat []string, dst []Reason) []Reason {
	sc := ff.pool.Get().(*forestScratch)
	ff.inputs(num, cat, sc.in)
	acc := sc.acc
	clear(acc)
	var sum float64
	for _, r := range ff.roots {
		i := r
		for {
			n := &ff.nodes[i]
			if n.in < 0 {
				sum += n.thr
				break
			}
			next := n.lo
			if sc.in[n.in] > n.thr {
				next++
			}
			acc[n.in] += ff.delta[next]
			i = next
		}
	}
	m := sum * ff.invT
	scale := logOddsPerMargin(cal, ff.bias, m) * ff.invT
	var pos, neg top3
	for j, c := range acc {
		var r Reason
		if j < ff.nNum {
			r = Reason{Feature: ff.names[j], Value: sc.in[j], Impact: c * scale}
		} else {
			col := &ff.cats[j-ff.nNum]
			r = Reason{Feature: col.other, Value: 1, Impact: c * scale}
			if k, ok := col.index[cat[j-ff.nNum]]; ok {
				r.Feature = col.names[k]
			}
		}
		pos.add(r, r.Impact)
		neg.add(r, -r.Impact)
	}
	ff.pool.Put(sc)
	dst = append(dst, pos.r[:pos.n]...)
	return append(dst, neg.r[:neg.n]...)
}

// logOddsPerMargin is the change in calibrated log-odds per unit of margin
// between m0 and m: the secant, or the slope at m0 when the two (nearly)
// coincide.
func logOddsPerMargin(cal *Calibration, m0, m float64) float64 {
	lo := func(x float64) float64 {
		p := min(max(cal.Apply(x), 1e-6), 1-1e-6)
		return math.Log(p / (1 - p))
	}
	if d := m - m0; math.Abs(d) > 1e-9 {
		return (lo(m) - lo(m0)) / d
	}
	const h = 1e-4
	return (lo(m0+h) - lo(m0-h)) / (2 * h)
}
