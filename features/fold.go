package features

import (
	"cmp"
	"math"
	"slices"
	"strconv"
)

// State is one lead's feature state: the Redis hash as HGETALL returns it.
type State map[string]string

// OpKind is the kind of a state update. Every kind commutes with every other
// update of the same lead, so the state does not depend on arrival order.
type OpKind uint8

// Update kinds; the value is also the kind's code in apply.lua.
const (
	OpIncr     OpKind = iota + 1 // Field += N (counts)
	OpMax                        // Field = max(Field, T) (latest time)
	OpMin                        // Field = min(Field, T) (first time)
	OpDecay                      // decayed sums of Decay with weight N; Field and Ref are Decay's first sum and reference
	OpNewer                      // register Field = S if (T, S) > (Ref, Field): last write wins
	OpOlder                      // register Field = S if T < Ref, or T == Ref and S > Field: first write wins
	OpDistinct                   // Field += 1 unless marker field MarkerField(K) exists; then set it
)

// Op is one state update compiled from an event. Times are Unix milliseconds.
type Op struct {
	Kind  OpKind
	Field string      // hash field updated
	Ref   string      // companion time field of OpDecay, OpNewer and OpOlder
	T     int64       // event time, Unix ms
	N     float64     // increment (OpIncr) or weight (OpDecay)
	Decay *DecayGroup // the sums an OpDecay updates
	S     string      // value (OpNewer, OpOlder)
	K     uint64      // member hash (OpDistinct)
	id    uint16      // index of Field in the spec's field table
}

// DecayGroup is a set of exponentially decayed sums, one per half-life,
// sharing one reference time: every weighted event updates all of them, so
// one reference serves all and saves Redis a field per half-life.
type DecayGroup struct {
	Fields []string  // the sums, at the reference time
	HalfMs []float64 // half-lives in ms, one per field
	Ref    string    // reference time, Unix ms: the latest weighted event
}

// MarkerField names the hash field that records member k of an OpDistinct.
func MarkerField(k uint64) string { return string(appendMarker(nil, k)) }

func appendMarker(b []byte, k uint64) []byte {
	const hex = "0123456789abcdef"
	b = append(b, 's', ':')
	for sh := 60; sh >= 0; sh -= 4 {
		b = append(b, hex[(k>>sh)&15])
	}
	return b
}

// OffsetField names the hash field holding the last Kafka offset applied to
// the lead from partition p.
func OffsetField(p int) string { return "_o:" + strconv.Itoa(p) }

// DirectField names the hash field that records a directly applied event
// (Applied.Direct) by its id.
func DirectField(eventID string) string { return "_x:" + eventID }

// Fold applies ops to st with the arithmetic of the Redis script (apply.lua).
// It does not check offsets: see Spec.FoldApplied for that.
func Fold(st State, ops []Op) {
	for i := range ops {
		foldOp(st, &ops[i])
	}
}

func foldOp(st State, op *Op) {
	t := float64(op.T)
	switch op.Kind {
	case OpIncr:
		v, _ := num(st, op.Field)
		st[op.Field] = fmtNum(v + op.N)
	case OpMax:
		if v, ok := num(st, op.Field); !ok || t > v {
			st[op.Field] = fmtNum(t)
		}
	case OpMin:
		if v, ok := num(st, op.Field); !ok || t < v {
			st[op.Field] = fmtNum(t)
		}
	case OpDecay:
		// Late events (t <= ref) are decayed to ref and added; newer ones
		// move ref forward. Either way each sum stays sum(w·2^(-(ref-t)/h)).
		d := op.Decay
		r, ok := num(st, d.Ref)
		for j, f := range d.Fields {
			v, _ := num(st, f)
			switch {
			case !ok:
				v = op.N
			case t <= r:
				v += op.N * math.Pow(2, -(r-t)/d.HalfMs[j])
			default:
				v = v*math.Pow(2, -(t-r)/d.HalfMs[j]) + op.N
			}
			st[f] = fmtNum(v)
		}
		if !ok || t > r {
			st[d.Ref] = fmtNum(t)
		}
	case OpNewer, OpOlder:
		ct, ok := num(st, op.Ref)
		cur := st[op.Field]
		win := !ok || t == ct && op.S > cur
		if op.Kind == OpNewer {
			win = win || t > ct
		} else {
			win = win || t < ct
		}
		if win {
			st[op.Field], st[op.Ref] = op.S, fmtNum(t)
		}
	case OpDistinct:
		m := MarkerField(op.K)
		if _, ok := st[m]; !ok {
			st[m] = "1"
			v, _ := num(st, op.Field)
			st[op.Field] = fmtNum(v + 1)
		}
	}
}

// FoldApplied applies to one lead's state the events of batch that are new
// for it, exactly as Store.Apply does in Redis: in (partition, offset) order,
// skipping every event whose offset is not above the lead's last applied
// offset of its partition. It reports whether any event was applied.
func (s *Spec) FoldApplied(st State, batch []Applied) bool {
	idx := make([]int, len(batch))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Or(cmp.Compare(batch[a].Partition, batch[b].Partition),
			cmp.Compare(batch[a].Offset, batch[b].Offset))
	})
	changed := false
	var ops []Op
	for _, i := range idx {
		a := &batch[i]
		of, off := OffsetField(a.Partition), a.Offset
		if a.Direct {
			of, off = DirectField(a.Event.EventID), 1
		}
		if cur, ok := num(st, of); ok && float64(off) <= cur {
			continue
		}
		ops = s.Compile(a.Event, ops[:0])
		Fold(st, ops)
		st[of] = fmtNum(float64(off))
		changed = true
	}
	return changed
}

// num reads a numeric field; absent or unparsable counts as absent, as
// tonumber does in Lua.
func num(st State, f string) (float64, bool) {
	v, ok := st[f]
	if !ok {
		return 0, false
	}
	x, err := strconv.ParseFloat(v, 64)
	return x, err == nil
}

// fmtNum writes v so that it parses back exactly, like Redis writing a Lua
// number: integers in plain digits, others as the shortest exact decimal
// (Redis may choose another exact spelling; readers parse, never compare text).
func fmtNum(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e17 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
