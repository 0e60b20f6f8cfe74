package api

import (
	"encoding/json"
	"math"
	"strconv"
	"sync"

	"github.com/leadq/leadq/features"
)

// A lead's features are answered as an object in the spec's order, written
// straight from the vector: encoding/json's boxed map of them was a third of
// a pull's CPU. The answers around it are encoded with goccy/go-json.
// TestLeadJSONMatches keeps the output byte for byte encoding/json's.

// FeatureVector is a lead's feature vector at one instant, written as a JSON
// object {name: value} in the spec's order.
type FeatureVector struct {
	spec *features.Spec
	num  []float64
	cat  []string
}

// MarshalJSON lets encoding/json write the vector inside other answers.
func (f FeatureVector) MarshalJSON() ([]byte, error) { return f.appendJSON(nil), nil }

// featureKeys caches each spec's quoted `"name":` prefixes.
var featureKeys sync.Map // *features.Spec -> [][]byte

func keysOf(spec *features.Spec) [][]byte {
	if v, ok := featureKeys.Load(spec); ok {
		return v.([][]byte)
	}
	var keys [][]byte
	for _, names := range [][]string{spec.NumNames(), spec.CatNames()} {
		for _, n := range names {
			keys = append(keys, append(appendJSONString(nil, n), ':'))
		}
	}
	featureKeys.Store(spec, keys)
	return keys
}

func (f FeatureVector) appendJSON(b []byte) []byte {
	if f.spec == nil {
		return append(b, "{}"...)
	}
	keys := keysOf(f.spec)
	b = append(b, '{')
	for i, v := range f.num {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONFloat(append(b, keys[i]...), v)
	}
	for i, v := range f.cat {
		if len(f.num)+i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(append(b, keys[len(f.num)+i]...), v)
	}
	return append(b, '}')
}

// appendJSONFloat writes f as encoding/json does; a value that is not finite
// (which encoding/json refuses, failing the whole answer) is written as null.
func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 → e-9, as encoding/json writes it
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendJSONString quotes s; strings that need escaping (rare in ids and
// vocabulary values) go through encoding/json, so the escaping is its own.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= 0x80 {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
