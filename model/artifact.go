package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

// KindLogReg is the Kind of a logistic-regression artifact.
const KindLogReg = "logreg"

// KindPrior is the Kind of the cold-start prior artifact.
const KindPrior = "prior"

// ErrInvalidArtifact reports an artifact whose parts do not fit together.
var ErrInvalidArtifact = errors.New("model: invalid artifact")

// Artifact is one trained model version, complete enough to score with no
// other input: it is what the registry stores and every replica compiles.
type Artifact struct {
	Version string    `json:"version"`
	Kind    string    `json:"kind"`
	Schema  Schema    `json:"schema"`
	Encoder Encoder   `json:"encoder"`
	Weights []float64 `json:"weights,omitempty"` // Weights[0] multiplies the constant 1.0 column
	// Forest is the flattened random forest of a KindForest artifact, which
	// has no Encoder or Weights.
	Forest      *Forest     `json:"forest,omitempty"`
	Calibration Calibration `json:"calibration"`
}

// Schema names the inputs a caller passes to Score, in order, so that a
// caller binds its own feature vector by name and not by position.
type Schema struct {
	Num []string `json:"num"`
	Cat []string `json:"cat"`
}

// Encoder turns raw inputs into the strictly positive model inputs the
// weights were fitted on (golearn drops inputs ≤ 0 at predict time).
type Encoder struct {
	Num []NumEncoding `json:"num"`
	Cat []CatEncoding `json:"cat"`
}

// NumEncoding encodes one numeric column as Shift + clamp((x-Mean)/Std, ±Clip)
// at weight index Index, plus optionally a one-hot of its bin among Edges.
type NumEncoding struct {
	Name  string  `json:"name"`
	Index int     `json:"index"`
	Mean  float64 `json:"mean"`
	Std   float64 `json:"std"`
	Clip  float64 `json:"clip"`
	Shift float64 `json:"shift"` // > Clip, so every encoded value is ≥ Shift-Clip > 0
	Fill  float64 `json:"fill"`  // raw value used for NaN (missing)
	// Edges are ascending bin boundaries; x falls in bin k = #{edges ≤ x},
	// whose one-hot weight sits at BinOffset+k. Empty means no bins.
	Edges     []float64 `json:"edges,omitempty"`
	BinOffset int       `json:"bin_offset,omitempty"`
	BinShare  []float64 `json:"bin_share,omitempty"` // training share per bin: Explain's reference point
}

// CatEncoding one-hot encodes one categorical column: Values[k] sets weight
// index Offset+k; a value not in Values sets no bit (it scores as unknown).
type CatEncoding struct {
	Name   string    `json:"name"`
	Offset int       `json:"offset"`
	Values []string  `json:"values"`
	Share  []float64 `json:"share"` // training share per value: Explain's reference point
}

// Calibration maps the raw margin w·x to a probability.
type Calibration struct {
	Method string `json:"method"` // "platt" or "isotonic"
	// Platt: p = 1 / (1 + exp(-(A·margin + B))).
	A float64 `json:"a,omitempty"`
	B float64 `json:"b,omitempty"`
	// Isotonic: p interpolated linearly between (X[i], Y[i]), X ascending,
	// constant beyond the ends.
	X []float64 `json:"x,omitempty"`
	Y []float64 `json:"y,omitempty"`
}

// Calibration methods.
const (
	CalPlatt    = "platt"
	CalIsotonic = "isotonic"
)

// Validate checks that the encoder, weights and calibration fit together, so
// that a corrupt registry entry fails at load and not at score time.
func (a *Artifact) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidArtifact, fmt.Sprintf(format, args...))
	}
	if a.Version == "" {
		return bad("empty version")
	}
	if err := a.Calibration.validate(); err != nil {
		return bad("%v", err)
	}
	if a.Kind == KindForest {
		if a.Forest == nil {
			return bad("forest artifact without a forest")
		}
		if err := a.Forest.validate(a.Schema); err != nil {
			return bad("%v", err)
		}
		return nil
	}
	if a.Forest != nil {
		return bad("a %q artifact carries a forest", a.Kind)
	}
	if len(a.Schema.Num) != len(a.Encoder.Num) || len(a.Schema.Cat) != len(a.Encoder.Cat) {
		return bad("schema has %d+%d columns, encoder %d+%d",
			len(a.Schema.Num), len(a.Schema.Cat), len(a.Encoder.Num), len(a.Encoder.Cat))
	}
	n := len(a.Weights)
	if n == 0 {
		return bad("no weights")
	}
	for i, w := range a.Weights {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return bad("weight %d is %v", i, w)
		}
	}
	in := func(i int) bool { return i > 0 && i < n }
	for i, e := range a.Encoder.Num {
		if e.Name != a.Schema.Num[i] {
			return bad("numeric column %d is %q in schema, %q in encoder", i, a.Schema.Num[i], e.Name)
		}
		if !in(e.Index) || !(e.Std > 0) || !(e.Clip > 0) || !(e.Shift > e.Clip) || math.IsNaN(e.Fill) {
			return bad("numeric column %q: bad index, std, shift or fill", e.Name)
		}
		if len(e.Edges) > 0 && (!in(e.BinOffset) || !in(e.BinOffset+len(e.Edges)) || len(e.BinShare) != len(e.Edges)+1) {
			return bad("numeric column %q: bins out of range", e.Name)
		}
	}
	for i, e := range a.Encoder.Cat {
		if e.Name != a.Schema.Cat[i] {
			return bad("categorical column %d is %q in schema, %q in encoder", i, a.Schema.Cat[i], e.Name)
		}
		if len(e.Values) > 0 && (!in(e.Offset) || !in(e.Offset+len(e.Values)-1)) || len(e.Share) != len(e.Values) {
			return bad("categorical column %q: values out of range", e.Name)
		}
	}
	return nil
}

func (c *Calibration) validate() error {
	switch c.Method {
	case CalPlatt:
	case CalIsotonic:
		if len(c.X) == 0 || len(c.X) != len(c.Y) {
			return errors.New("isotonic calibration needs matching non-empty x and y")
		}
		for i := 1; i < len(c.X); i++ {
			if c.X[i] < c.X[i-1] || c.Y[i] < c.Y[i-1] {
				return fmt.Errorf("isotonic calibration is not ascending at %d", i)
			}
		}
	default:
		return fmt.Errorf("unknown calibration %q", c.Method)
	}
	return nil
}

// WriteJSON writes the artifact as indented JSON.
func (a *Artifact) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(a)
}

// ReadArtifact decodes and validates an artifact.
func ReadArtifact(r io.Reader) (*Artifact, error) {
	var a Artifact
	if err := json.NewDecoder(r).Decode(&a); err != nil {
		return nil, fmt.Errorf("model: decode artifact: %w", err)
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return &a, nil
}
