package training

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/sjwhitworth/golearn/base"
	"github.com/sjwhitworth/golearn/ensemble"
	"github.com/sjwhitworth/golearn/trees"

	"github.com/leadq/leadq/model"
)

// Inputs for golearn's trees are all float attributes: raw numbers (a
// missing one below the training minimum, so trees can isolate it) and each
// categorical column as one number, its value's smoothed positive rate.
// golearn's categorical splits are not usable: a value a node never saw in
// training is routed by Go map iteration order (trees/id3.go, "Suspicious of
// this"), so golearn's own predictions would not even repeat, and no flat
// copy could agree with them. Numeric splits are deterministic.

// forestSmoothing is the pseudo-count pulling a category's positive rate
// towards the overall rate, so a rare value does not look decisive.
const forestSmoothing = 20

// fitForestInputs learns the forest's input encoding from rows: fills and
// category codes. Categories follow the LR vocabulary (MaxVocab, MinCount);
// the rest score as unknown, coded with the overall rate.
func fitForestInputs(ds *Dataset, rows []int, o encoderOptions) model.Forest {
	var f model.Forest
	for j, name := range ds.Schema.Num {
		lo := math.Inf(1)
		for _, i := range rows {
			if v := ds.Num[j][i]; v < lo {
				lo = v // NaN compares false: skipped
			}
		}
		fill := -1.0
		if !math.IsInf(lo, 1) {
			fill = lo - max(1, math.Abs(lo))
		}
		f.Num = append(f.Num, model.ForestNum{Name: name, Fill: fill})
	}
	base := float64(ds.positives(rows)) / float64(max(len(rows), 1))
	for j, name := range ds.Schema.Cat {
		voc := fitVocab(name, ds.Cat[j], rows, o)
		pos, n := make([]float64, len(voc.Values)), make([]float64, len(voc.Values))
		for _, i := range rows {
			if k := voc.Lookup(ds.Cat[j][i]); k >= 0 {
				n[k]++
				if ds.Label[i] {
					pos[k]++
				}
			}
		}
		c := model.ForestCat{Name: name, Values: voc.Values, Unknown: base}
		for k := range voc.Values {
			c.Codes = append(c.Codes, (pos[k]+forestSmoothing*base)/(n[k]+forestSmoothing))
		}
		f.Cat = append(f.Cat, c)
	}
	return f
}

// forestFit is a random forest fitted by golearn, kept for the parity check.
type forestFit struct {
	rf     *ensemble.RandomForest
	attrs  []base.Attribute // input j is attrs[j]
	class  *base.CategoricalAttribute
	sys    [2][]byte // class system values of "0" and "1"
	forest *model.Forest
}

// fitForest fits golearn's RandomForest (bagged ID3 trees, each on a
// bootstrap sample and features random inputs) on rows of ds, encoded with
// enc, and flattens it into enc's Roots and Nodes.
func fitForest(ds *Dataset, rows []int, enc model.Forest, nTrees, features int) (ff *forestFit, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("training: golearn random forest: %v", r)
		}
	}()
	nIn := len(enc.Num) + len(enc.Cat)
	if nIn == 0 {
		return nil, errors.New("training: a forest needs at least one column")
	}
	ff = &forestFit{class: base.NewCategoricalAttribute(), forest: &enc}
	ff.class.SetName("converted")
	// Fix the class order before any row: "0" then "1".
	ff.sys[0], ff.sys[1] = ff.class.GetSysValFromString("0"), ff.class.GetSysValFromString("1")
	for j := range nIn {
		ff.attrs = append(ff.attrs, base.NewFloatAttribute(fmt.Sprintf("x%d", j)))
	}
	grid, err := ff.grid(ds, rows)
	if err != nil {
		return nil, err
	}
	ff.rf = ensemble.NewRandomForest(nTrees, min(max(features, 1), nIn))
	if err := ff.rf.Fit(grid); err != nil {
		return nil, fmt.Errorf("training: golearn random forest: %w", err)
	}
	if err := ff.flatten(); err != nil {
		return nil, err
	}
	return ff, nil
}

// grid builds golearn's instances of rows: the forest inputs and the label.
func (ff *forestFit) grid(ds *Dataset, rows []int) (*base.DenseInstances, error) {
	inst := base.NewDenseInstances()
	specs := make([]base.AttributeSpec, len(ff.attrs))
	for j, a := range ff.attrs {
		specs[j] = inst.AddAttribute(a)
	}
	cs := inst.AddAttribute(ff.class)
	if err := inst.AddClassAttribute(ff.class); err != nil {
		return nil, fmt.Errorf("training: golearn class attribute: %w", err)
	}
	if err := inst.Extend(len(rows)); err != nil {
		return nil, fmt.Errorf("training: golearn instances: %w", err)
	}
	num, cat := make([]float64, len(ds.Num)), make([]string, len(ds.Cat))
	in := make([]float64, len(ff.attrs))
	for k, i := range rows {
		ds.Row(i, num, cat)
		ff.forest.Inputs(num, cat, in)
		for j, x := range in {
			inst.Set(specs[j], k, base.PackFloatToBytes(x))
		}
		y := 0
		if ds.Label[i] {
			y = 1
		}
		inst.Set(cs, k, ff.sys[y])
	}
	return inst, nil
}

// predict is golearn's own RandomForest.Predict on rows: true for positive.
func (ff *forestFit) predict(ds *Dataset, rows []int) (out []bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("training: golearn random forest predict: %v", r)
		}
	}()
	grid, err := ff.grid(ds, rows)
	if err != nil {
		return nil, err
	}
	pred, err := ff.rf.Predict(grid)
	if err != nil {
		return nil, fmt.Errorf("training: golearn random forest predict: %w", err)
	}
	out = make([]bool, len(rows))
	for k := range rows {
		out[k] = base.GetClass(pred, k) == "1"
	}
	return out, nil
}

// flatten copies every tree through golearn's exported fields into
// ff.forest.Roots and Nodes, children after parents.
func (ff *forestFit) flatten() error {
	index := map[string]int32{}
	for j, a := range ff.attrs {
		index[a.GetName()] = int32(j)
	}
	f := ff.forest
	f.Roots, f.Nodes = nil, nil
	for t, m := range ff.rf.Model.Models {
		tree, ok := m.(*trees.ID3DecisionTree)
		if !ok || tree.Root == nil {
			return fmt.Errorf("training: forest member %d is a %T, not a fitted ID3 tree", t, m)
		}
		r, err := flattenNode(f, tree.Root, index)
		if err != nil {
			return fmt.Errorf("training: tree %d: %w", t, err)
		}
		f.Roots = append(f.Roots, r)
	}
	return nil
}

// flattenNode appends d's subtree and returns its index. A node with one
// child (or a threshold no value passes) routes every row to it in golearn,
// so it is replaced by that child: same rows, same share, same prediction.
func flattenNode(f *model.Forest, d *trees.DecisionTreeNode, index map[string]int32) (int32, error) {
	pos := positiveShare(d.ClassDist)
	if d.Children == nil {
		i := int32(len(f.Nodes))
		f.Nodes = append(f.Nodes, model.TreeNode{Input: -1, Pos: pos, Vote: d.Class == "1"})
		return i, nil
	}
	if d.SplitRule == nil || d.SplitRule.SplitAttr == nil {
		return 0, errors.New("inner node without a split")
	}
	in, ok := index[d.SplitRule.SplitAttr.GetName()]
	if !ok {
		return 0, fmt.Errorf("split on unknown attribute %q", d.SplitRule.SplitAttr.GetName())
	}
	lo, hi := d.Children["0"], d.Children["1"]
	thr := d.SplitRule.SplitVal
	switch {
	case len(d.Children) != countNonNil(lo, hi):
		return 0, fmt.Errorf("numeric split with children %v", slices.Sorted(maps.Keys(d.Children)))
	case lo == nil && hi == nil:
		return 0, errors.New("inner node without children")
	case hi == nil || math.IsInf(thr, 1):
		return flattenNode(f, lo, index)
	case lo == nil || math.IsInf(thr, -1):
		return flattenNode(f, hi, index)
	case math.IsNaN(thr):
		return 0, errors.New("NaN threshold")
	}
	i := int32(len(f.Nodes))
	f.Nodes = append(f.Nodes, model.TreeNode{Input: in, Threshold: thr, Pos: pos})
	l, err := flattenNode(f, lo, index)
	if err != nil {
		return 0, err
	}
	h, err := flattenNode(f, hi, index)
	if err != nil {
		return 0, err
	}
	f.Nodes[i].Lo, f.Nodes[i].Hi = l, h
	return i, nil
}

func positiveShare(dist map[string]int) float64 {
	var n int
	for _, c := range dist {
		n += c
	}
	if n == 0 {
		return 0
	}
	return float64(dist["1"]) / float64(n)
}

func countNonNil(ns ...*trees.DecisionTreeNode) int {
	n := 0
	for _, x := range ns {
		if x != nil {
			n++
		}
	}
	return n
}

// checkForestParity compares the compiled scorer's majority vote with
// golearn's own RandomForest.Predict on every holdout row.
func checkForestParity(ds *Dataset, rows []int, s *model.Scorer, ff *forestFit) (model.Parity, error) {
	par := model.Parity{Rows: len(rows)}
	want, err := ff.predict(ds, rows)
	if err != nil {
		return par, err
	}
	num, cat := make([]float64, len(ds.Num)), make([]string, len(ds.Cat))
	first := -1
	for k, i := range rows {
		ds.Row(i, num, cat)
		pos, n := s.Votes(num, cat)
		if (2*pos > n) == want[k] {
			par.Agree++
		} else if first < 0 {
			first = i
		}
	}
	if par.Agree != par.Rows {
		return par, fmt.Errorf("%w (forest) on %d of %d holdout rows (first: row index %d)", ErrParity, par.Rows-par.Agree, par.Rows, first)
	}
	return par, nil
}

// subsample returns at most n of rows, evenly spaced, so a capped forest
// still sees the whole time range.
func subsample(rows []int, n int) []int {
	if n <= 0 || len(rows) <= n {
		return rows
	}
	out := make([]int, n)
	for k := range out {
		out[k] = rows[k*len(rows)/n]
	}
	return out
}
