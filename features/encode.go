package features

import (
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// maxSlots bounds the fields one script call reads: HMGET and HSET unpack
// them, and Lua refuses to unpack more than about 8000 values.
const maxSlots = 2000

// call is one EVALSHA of one lead: args[lo:hi].
type call struct {
	lead   string
	lo, hi int
}

// byteRef is an argument that lives in the encoder's arena. Boxing a
// pointer does not allocate, and go-redis writes BinaryMarshalers as bulk
// strings, so a call's payload costs no allocation of its own.
type byteRef struct {
	e      *encoder
	lo, hi int32
}

// MarshalBinary returns the argument's bytes; it runs when the pipeline is written.
func (r *byteRef) MarshalBinary() ([]byte, error) { return r.e.arena[r.lo:r.hi], nil }

type dynSlot struct {
	kind dynKind
	key  uint64 // partition or marker hash
	name string // event id of a direct event
	slot int32
}

type dynKind uint8

const (
	dynMarker dynKind = iota // member marker of an OpDistinct (key = hash)
	dynOffset                // offset field of a partition (key = partition)
	dynDirect                // dedup field of a directly applied event (name = event id)
)

// encoder turns a batch into the EVALSHA calls of apply.lua. Each call has a
// single argument, a JSON array that the script decodes with cjson in C:
// far cheaper inside Redis than one argument per number, since Redis would
// allocate each argument, Lua would intern it, and the script would parse it.
// The encoder is reused through a pool, so its slices keep their capacity.
type encoder struct {
	spec   *Spec
	sha    any
	idx    []int32 // batch positions, sorted by lead, partition, offset
	ops    []Op    // compiled ops, in batch order
	spans  []int32 // ops of batch[i] are ops[spans[i]:spans[i+1]]
	opSlot []int32 // marker slot of each OpDistinct
	evSlot []int32 // offset-field slot of each event, by batch position
	arena  []byte  // all payloads, back to back
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
	e.refs = slices.Grow(e.refs[:0], n)
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
				est := 1 + (2+len(e.spec.decay.Fields))*int(e.spans[i+1]-e.spans[i])
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

// encodeCall appends the EVALSHA of events idx[lo:hi], all of one lead. Its
// payload is [trigger slot, [field names], events...], each event being
// offset-field slot, offset, time, token count, then its update tokens.
func (e *encoder) encodeCall(batch []Applied, lead, key string, lo, hi int) {
	if e.gen++; e.gen == 0 {
		clear(e.stamp)
		e.gen = 1
	}
	e.nf, e.dyn = 0, e.dyn[:0]
	start := len(e.arena)
	e.arena = append(e.arena, "[1,["...)
	e.static(e.spec.last[gIntent].id) // slot 1: the trigger time the script returns
	for _, i := range e.idx[lo:hi] {
		if batch[i].Direct {
			e.evSlot[i] = e.dynamic(dynDirect, 0, batch[i].Event.EventID)
		} else {
			e.evSlot[i] = e.dynamic(dynOffset, uint64(batch[i].Partition), "")
		}
		for k := e.spans[i]; k < e.spans[i+1]; k++ {
			op := &e.ops[k]
			e.static(op.id)
			switch op.Kind {
			case OpNewer, OpOlder:
				e.static(op.id + 1)
			case OpDecay:
				for j := range op.Decay.Fields {
					e.static(op.id + 1 + uint16(j))
				}
			case OpDistinct:
				e.opSlot[k] = e.dynamic(dynMarker, op.K, "")
			}
		}
	}
	e.arena = append(e.arena, ']')
	for _, i := range e.idx[lo:hi] {
		a := &batch[i]
		e.int(int64(e.evSlot[i]))
		if a.Direct {
			e.int(1) // a direct event is applied once per id: see Applied
		} else {
			e.int(a.Offset)
		}
		e.int(a.Event.TS.UnixMilli())
		tokens := 0
		for k := e.spans[i]; k < e.spans[i+1]; k++ {
			tokens += 2 + opExtra[e.ops[k].Kind]
			if e.ops[k].Kind == OpDecay {
				tokens += len(e.ops[k].Decay.HalfMs)
			}
		}
		e.int(int64(tokens))
		for k := e.spans[i]; k < e.spans[i+1]; k++ {
			op := &e.ops[k]
			e.int(int64(op.Kind))
			e.int(int64(e.slot[op.id]))
			switch op.Kind {
			case OpIncr:
				e.float(op.N)
			case OpDecay:
				e.int(int64(len(op.Decay.HalfMs)))
				e.float(op.N)
				for _, h := range op.Decay.HalfMs {
					e.float(h)
				}
			case OpNewer, OpOlder:
				e.arena = appendJSONString(append(e.arena, ','), op.S)
			case OpDistinct:
				e.int(int64(e.opSlot[k]))
			}
		}
	}
	e.arena = append(e.arena, ']')
	e.refs = append(e.refs, byteRef{e: e, lo: int32(start), hi: int32(len(e.arena))})
	lo2 := len(e.args)
	e.args = append(e.args, "evalsha", e.sha, 1, key, &e.refs[len(e.refs)-1])
	e.calls = append(e.calls, call{lead: lead, lo: lo2, hi: len(e.args)})
}

// opExtra is the number of tokens after code and slot, per kind.
// An OpDecay also has one half-life per sum.
var opExtra = [...]int{OpIncr: 1, OpMax: 0, OpMin: 0, OpDecay: 2, OpNewer: 1, OpOlder: 1, OpDistinct: 1}

// static gives spec field id a slot in the current call, appending its name.
func (e *encoder) static(id uint16) {
	if e.stamp[id] == e.gen {
		return
	}
	e.nf++
	e.stamp[id], e.slot[id] = e.gen, e.nf
	e.comma()
	e.arena = append(e.arena, e.spec.quoted[id]...)
}

// dynamic gives an offset field or a member marker a slot in the current call.
func (e *encoder) dynamic(kind dynKind, key uint64, name string) int32 {
	for _, d := range e.dyn {
		if d.kind == kind && d.key == key && d.name == name {
			return d.slot
		}
	}
	e.nf++
	e.comma()
	switch kind {
	case dynOffset:
		e.arena = strconv.AppendUint(append(e.arena, `"_o:`...), key, 10)
		e.arena = append(e.arena, '"')
	case dynDirect:
		e.arena = appendJSONString(e.arena, DirectField(name))
	default:
		e.arena = append(e.arena, '"')
		e.arena = appendMarker(e.arena, key)
		e.arena = append(e.arena, '"')
	}
	e.dyn = append(e.dyn, dynSlot{kind: kind, key: key, name: name, slot: e.nf})
	return e.nf
}

// comma separates array elements: none right after an opening bracket.
func (e *encoder) comma() {
	if e.arena[len(e.arena)-1] != '[' {
		e.arena = append(e.arena, ',')
	}
}

func (e *encoder) int(v int64) { e.arena = strconv.AppendInt(append(e.arena, ','), v, 10) }

// float writes the shortest decimal that parses back to exactly v.
func (e *encoder) float(v float64) {
	e.arena = strconv.AppendFloat(append(e.arena, ','), v, 'g', -1, 64)
}

// appendJSONString quotes s for JSON. Decode already replaced control
// characters and invalid UTF-8, but the store must not trust its input.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// release drops references to the batch so the pooled encoder keeps none alive.
func (e *encoder) release() {
	clear(e.args)
	clear(e.calls)
	clear(e.cmds)
	e.args, e.calls, e.cmds = e.args[:0], e.calls[:0], e.cmds[:0]
}
