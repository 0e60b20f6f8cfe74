package features

import (
	_ "embed"
	"fmt"
	"math"
	"strconv"
	"strings"
)

//go:embed create.lua
var createSrc string

// NewLeadState returns the state batch gives a lead that has none yet:
// what apply.lua leaves in an empty hash, as Spec.FoldApplied computes it.
func (s *Spec) NewLeadState(batch []Applied) State {
	st := make(State, 48)
	s.FoldApplied(st, batch)
	return st
}

// createArgs returns create.lua's arguments for st: the number of pairs
// that follow whose value is a fraction, then name, value pairs (those
// first), every value as text the way apply.lua writes it: whole numbers
// (counts, times, offsets, event markers) as their digits, fractions
// (decayed sums with fractional weights) as the shortest text that parses
// back exactly, which the script turns into a Lua number for Redis to spell
// as it spells apply.lua's, and text (register values, session markers,
// fields the spec does not know, such as a caller's own) as is. Arguments
// rather than one JSON payload: decoding cost Redis more than the arguments.
// They live in one arena (argRef): a form's forty-odd strings boxed one by
// one cost the API more than all the rest of the call.
func (s *Spec) createArgs(st State) ([]any, error) {
	var a argArena
	a.buf = make([]byte, 0, 32*len(st))
	a.refs = make([]argRef, 0, 2*len(st))
	var fracs []string
	for f, v := range st {
		if !s.numeric(f) || isDigits(v) { // Fold writes whole numbers as digits
			a.add(f, v)
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		switch {
		case err != nil || math.IsInf(x, 0) || math.IsNaN(x):
			return nil, fmt.Errorf("features: field %s of a new lead is not a finite number: %q", f, v)
		case x == math.Trunc(x) && math.Abs(x) < 1<<53:
			a.ref(strconv.AppendInt(a.mark(f), int64(x), 10)) // apply.lua's '%d'
		default:
			fracs = append(fracs, f, v)
		}
	}
	args := make([]any, 0, len(a.refs)+len(fracs))
	args = append(args, len(fracs)/2)
	for _, f := range fracs {
		args = append(args, f)
	}
	for i := range a.refs {
		args = append(args, &a.refs[i])
	}
	return args, nil
}

// isDigits reports whether v is a whole number below 10^15 in plain
// digits, the text both Fold and apply.lua give it.
func isDigits(v string) bool {
	d := strings.TrimPrefix(v, "-")
	if d == "" || len(d) > 15 || (d[0] == '0' && len(d) > 1) || (d == "0" && v != d) {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return true
}

// argArena holds many arguments in one buffer.
type argArena struct {
	buf  []byte
	refs []argRef
}

// argRef is an argument in an argArena; boxing a pointer costs no
// allocation, and go-redis writes a BinaryMarshaler as a bulk string.
type argRef struct {
	a      *argArena
	lo, hi int32
}

// MarshalBinary returns the argument's bytes.
func (r *argRef) MarshalBinary() ([]byte, error) { return r.a.buf[r.lo:r.hi], nil }

func (a *argArena) add(vs ...string) {
	for _, v := range vs {
		a.ref(append(a.buf, v...))
	}
}

// mark adds name as an argument and returns the buffer for the next one.
func (a *argArena) mark(name string) []byte {
	a.add(name)
	return a.buf
}

// ref adds b, the arena's buffer with one more argument appended, as that
// argument (argRef reads the buffer by offsets when the command is written).
func (a *argArena) ref(b []byte) {
	lo := int32(len(a.buf))
	a.buf = b
	a.refs = append(a.refs, argRef{a: a, lo: lo, hi: int32(len(b))})
}

// numeric reports whether apply.lua writes field f as a Lua number.
func (s *Spec) numeric(f string) bool {
	if text, ok := s.text[f]; ok {
		return !text
	}
	return strings.HasPrefix(f, "_x:") || strings.HasPrefix(f, "_o:")
}
