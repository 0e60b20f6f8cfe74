package features

import (
	"math"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// maxSlots bounds the fields one script call reads: HMGET and HSET unpack
// them, and Lua refuses to unpack more than about 8000 values.
const maxSlots = 2000

// smallInts are boxed once: boxing an int above 255 allocates, and slots,
// counts and argument counts are small ints on every call.
var smallInts = func() []any {
	v := make([]any, 4096)
	for i := range v {
		v[i] = i
	}
	return v
}()

var opCodeArgs = [...]any{"", "i", "x", "n", "d", "w", "o", "u"}

// call is one EVALSHA of one lead: args[lo:hi].
type call struct {
	lead   string
	lo, hi int
}

// byteRef is an argument that lives in the encoder's arena. Boxing a
// pointer does not allocate, and go-redis writes BinaryMarshalers as bulk
// strings, so numbers and values cost no allocation each.
type byteRef struct {
	e      *encoder
	lo, hi int32
}

// MarshalBinary returns the argument's bytes; it runs when the pipeline is written.
func (r *byteRef) MarshalBinary() ([]byte, error) { return r.e.arena[r.lo:r.hi], nil }

type dynSlot struct {
	part bool // an offset field (key = partition), else a member marker (key = hash)
	key  uint64
	slot int32
}

// encoder turns a batch into the argument lists of apply.lua. It is reused
// through a pool, so its slices keep their capacity between batches.
type encoder struct {
	spec   *Spec
	sha    any
	idx    []int32 // batch positions, sorted by lead, partition, offset
	ops    []Op    // compiled ops, in batch order
	spans  []int32 // ops of batch[i] are ops[spans[i]:spans[i+1]]
	opSlot []int32 // marker slot of each OpDistinct
	evSlot []int32 // offset-field slot of each event, by batch position
	arena  []byte
	refs   []byteRef
	args   []any
	calls  []call
	cmds   []*redis.Cmd
	stamp  []uint32 // stamp[id] == gen: static field id has slot[id] in this call
	slot   []int32
	gen    uint32
	nf     int32
	dyn    []dynSlot
}

func (e *encoder) encode(batch []Applied, s *Store) {
	e.sha = s.sha
	if len(e.stamp) != len(e.spec.fields) {
		e.stamp = make([]uint32, len(e.spec.fields))
		e.slot = make([]int32, len(e.spec.fields))
	}
	n := len(batch)
	e.idx, e.spans = e.idx[:0], e.spans[:0]
	e.ops, e.args, e.calls = e.ops[:0], e.args[:0], e.calls[:0]
	for i := range batch {
		e.idx = append(e.idx, int32(i))
		e.spans = append(e.spans, int32(len(e.ops)))
		e.ops = e.spec.Compile(batch[i].Event, e.ops)
	}
	e.spans = append(e.spans, int32(len(e.ops)))
	sortBatch(e.idx, batch)
	e.opSlot = slices.Grow(e.opSlot[:0], len(e.ops))[:len(e.ops)]
	e.evSlot = slices.Grow(e.evSlot[:0], n)[:n]
	e.refs = slices.Grow(e.refs[:0], 2*len(e.ops)+3*n)
	e.arena = e.arena[:0]
	for lo := 0; lo < n; {
		lead := batch[e.idx[lo]].Event.LeadID
		hi := lo + 1
		for hi < n && batch[e.idx[hi]].Event.LeadID == lead {
			hi++
		}
		key := s.Key(lead)
		for start := lo; start < hi; {
			end, slots := start, 1
			for end < hi {
				i := e.idx[end]
				est := 1 + 2*int(e.spans[i+1]-e.spans[i])
				if end > start && slots+est > maxSlots {
					break
				}
				slots += est
				end++
			}
			e.encodeCall(batch, lead, key, start, end)
			start = end
		}
		lo = hi
	}
}

// encodeCall appends the EVALSHA of events idx[lo:hi], all of one lead.
func (e *encoder) encodeCall(batch []Applied, lead, key string, lo, hi int) {
	if e.gen++; e.gen == 0 {
		clear(e.stamp)
		e.gen = 1
	}
	e.nf, e.dyn = 0, e.dyn[:0]
	start := len(e.args)
	e.args = append(e.args, "evalsha", e.sha, smallInts[1], key, smallInts[1], nil)
	nfPos := len(e.args) - 1
	e.static(e.spec.last[gIntent].id) // slot 1: the trigger time the script returns
	for _, i := range e.idx[lo:hi] {
		e.evSlot[i] = e.dynamic(true, uint64(batch[i].Partition))
		for k := e.spans[i]; k < e.spans[i+1]; k++ {
			op := &e.ops[k]
			e.static(op.id)
			switch op.Kind {
			case OpDecay, OpNewer, OpOlder:
				e.static(op.id + 1)
			case OpDistinct:
				e.opSlot[k] = e.dynamic(false, op.K)
			}
		}
	}
	e.args[nfPos] = e.intArg(int64(e.nf))
	for _, i := range e.idx[lo:hi] {
		a := &batch[i]
		e.args = append(e.args, e.intArg(int64(e.evSlot[i])), e.intArg(a.Offset),
			e.intArg(a.Event.TS.UnixMilli()), nil)
		nPos := len(e.args) - 1
		for k := e.spans[i]; k < e.spans[i+1]; k++ {
			op := &e.ops[k]
			e.args = append(e.args, opCodeArgs[op.Kind], smallInts[e.slot[op.id]])
			switch op.Kind {
			case OpIncr:
				e.args = append(e.args, e.floatArg(op.N))
			case OpDecay:
				e.args = append(e.args, e.floatArg(op.H), e.floatArg(op.N))
			case OpNewer, OpOlder:
				e.args = append(e.args, e.strArg(op.S))
			case OpDistinct:
				e.args = append(e.args, smallInts[e.opSlot[k]])
			}
		}
		e.args[nPos] = e.intArg(int64(len(e.args) - nPos - 1))
	}
	e.calls = append(e.calls, call{lead: lead, lo: start, hi: len(e.args)})
}

// static gives spec field id a slot in the current call, appending its name.
func (e *encoder) static(id uint16) {
	if e.stamp[id] == e.gen {
		return
	}
	e.nf++
	e.stamp[id], e.slot[id] = e.gen, e.nf
	e.args = append(e.args, e.spec.boxed[id])
}

// dynamic gives an offset field or a member marker a slot in the current call.
func (e *encoder) dynamic(part bool, key uint64) int32 {
	for _, d := range e.dyn {
		if d.part == part && d.key == key {
			return d.slot
		}
	}
	e.nf++
	lo := len(e.arena)
	if part {
		e.arena = strconv.AppendUint(append(e.arena, "_o:"...), key, 10)
	} else {
		e.arena = appendMarker(e.arena, key)
	}
	e.dyn = append(e.dyn, dynSlot{part: part, key: key, slot: e.nf})
	e.args = append(e.args, e.ref(lo))
	return e.nf
}

// ref returns the arena bytes from lo to the end as an argument.
func (e *encoder) ref(lo int) any {
	e.refs = append(e.refs, byteRef{e: e, lo: int32(lo), hi: int32(len(e.arena))})
	return &e.refs[len(e.refs)-1]
}

func (e *encoder) intArg(v int64) any {
	if v >= 0 && v < int64(len(smallInts)) {
		return smallInts[v]
	}
	lo := len(e.arena)
	e.arena = strconv.AppendInt(e.arena, v, 10)
	return e.ref(lo)
}

// floatArg writes the shortest decimal that parses back to exactly v.
func (e *encoder) floatArg(v float64) any {
	if v >= 0 && v < float64(len(smallInts)) && v == math.Trunc(v) {
		return smallInts[int(v)]
	}
	lo := len(e.arena)
	e.arena = strconv.AppendFloat(e.arena, v, 'g', -1, 64)
	return e.ref(lo)
}

func (e *encoder) strArg(s string) any {
	lo := len(e.arena)
	e.arena = append(e.arena, s...)
	return e.ref(lo)
}

// release drops references to the batch so the pooled encoder keeps none alive.
func (e *encoder) release() {
	clear(e.args)
	clear(e.calls)
	clear(e.cmds)
	e.args, e.calls, e.cmds = e.args[:0], e.calls[:0], e.cmds[:0]
}
