package model

import (
	"fmt"
	"math"
)

// KindForest is the Kind of a random-forest artifact: golearn's trees,
// flattened (Artifact.Forest), scored by the mean positive share of the
// leaves a row reaches.
const KindForest = "forest"

// Forest is a trained random forest as plain data. Its inputs are numbered
// numeric columns first, then categorical ones, in schema order: Num[j] is
// input j and Cat[j] is input len(Num)+j.
type Forest struct {
	Num []ForestNum `json:"num"`
	Cat []ForestCat `json:"cat"`
	// Roots[t] is the index in Nodes of tree t's root.
	Roots []int32    `json:"roots"`
	Nodes []TreeNode `json:"nodes"`
}

// ForestNum is a numeric input: the raw value, Fill when missing.
type ForestNum struct {
	Name string  `json:"name"`
	Fill float64 `json:"fill"`
}

// ForestCat is a categorical input: Values[k] becomes Codes[k] (its
// smoothed training positive rate, so one threshold splits high-rate values
// from low-rate ones), any other value Unknown.
type ForestCat struct {
	Name    string    `json:"name"`
	Values  []string  `json:"values"`
	Codes   []float64 `json:"codes"`
	Unknown float64   `json:"unknown"`
}

// TreeNode is one node of a tree. An inner node sends a row to Hi when its
// input is > Threshold (golearn's rule), else to Lo; a leaf has Input -1.
type TreeNode struct {
	Input     int32   `json:"i"`
	Threshold float64 `json:"t,omitempty"`
	Lo        int32   `json:"lo,omitempty"`
	Hi        int32   `json:"hi,omitempty"`
	// Pos is the share of positive training rows (of the tree's bootstrap
	// sample) that reached the node: a leaf's estimate, and the reference
	// from which Explain measures each split's contribution.
	Pos float64 `json:"p"`
	// Vote is a leaf's class in golearn (its majority, ties as golearn broke
	// them): the parity check compares majority votes, not shares.
	Vote bool `json:"v,omitempty"`
}

// Inputs writes the tree inputs of one row into dst (length len(Num)+len(Cat)).
// Training builds golearn's rows with it; the Scorer computes the same
// values through maps.
func (f *Forest) Inputs(num []float64, cat []string, dst []float64) {
	for j := range f.Num {
		dst[j] = num[j]
		if math.IsNaN(num[j]) {
			dst[j] = f.Num[j].Fill
		}
	}
	for j := range f.Cat {
		c := &f.Cat[j]
		x := c.Unknown
		for k, v := range c.Values {
			if v == cat[j] {
				x = c.Codes[k]
				break
			}
		}
		dst[len(f.Num)+j] = x
	}
}

// validate checks the forest against the schema and that every tree is a
// tree: children come after their parent, so a walk always ends at a leaf.
func (f *Forest) validate(s Schema) error {
	if len(f.Num) != len(s.Num) || len(f.Cat) != len(s.Cat) {
		return fmt.Errorf("schema has %d+%d columns, forest %d+%d", len(s.Num), len(s.Cat), len(f.Num), len(f.Cat))
	}
	for j, e := range f.Num {
		if e.Name != s.Num[j] || !finite(e.Fill) {
			return fmt.Errorf("numeric input %d: name %q (schema %q), fill %v", j, e.Name, s.Num[j], e.Fill)
		}
	}
	for j, e := range f.Cat {
		if e.Name != s.Cat[j] || len(e.Codes) != len(e.Values) || !finite(e.Unknown) {
			return fmt.Errorf("categorical input %q: bad name, codes or unknown", e.Name)
		}
		for _, c := range e.Codes {
			if !finite(c) {
				return fmt.Errorf("categorical input %q: code %v", e.Name, c)
			}
		}
	}
	if len(f.Roots) == 0 {
		return fmt.Errorf("forest has no trees")
	}
	n, inputs := int32(len(f.Nodes)), int32(len(f.Num)+len(f.Cat))
	for t, r := range f.Roots {
		if r < 0 || r >= n {
			return fmt.Errorf("tree %d: root %d out of range", t, r)
		}
	}
	for i, nd := range f.Nodes {
		if !(nd.Pos >= 0 && nd.Pos <= 1) {
			return fmt.Errorf("node %d: positive share %v", i, nd.Pos)
		}
		if nd.Input < 0 {
			continue
		}
		if nd.Input >= inputs || math.IsNaN(nd.Threshold) ||
			nd.Lo <= int32(i) || nd.Hi <= int32(i) || nd.Lo >= n || nd.Hi >= n || nd.Lo == nd.Hi {
			return fmt.Errorf("node %d: input %d, children %d and %d", i, nd.Input, nd.Lo, nd.Hi)
		}
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
