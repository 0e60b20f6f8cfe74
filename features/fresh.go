package features

import (
	"math"
	"slices"
	"time"
)

// ExtractNew writes into nums and cat (as Extract) the feature vector at now
// of a lead whose only events are evs: what Fold of their compiled updates
// into an empty State followed by Extract gives, bit for bit, without the
// string map. A form scored as a what-if (POST /v1/score) takes this path:
// folding into text and parsing it back was most of its scoring cost.
// It does not allocate beyond what Compile does.
func (s *Spec) ExtractNew(evs []Event, now time.Time, nums []float64, cat []string) {
	fs := s.fresh.Get().(*freshState)
	defer s.fresh.Put(fs)
	fs.reset()
	for i := range evs {
		fs.ops = s.Compile(evs[i], fs.ops[:0])
		for k := range fs.ops {
			fs.fold(s, &fs.ops[k])
		}
	}
	clear(fs.ops) // drop references to the events' strings
	fs.extract(s, now, nums, cat)
	// The register values too: a form's strings may point into its whole
	// request body (api's decodeForm), which a pooled state would keep alive.
	clear(fs.str)
}

// freshState is a lead's state held by static field id instead of by name:
// numbers as numbers, register values as strings. Fold keeps every number
// as the shortest text that parses back exactly, so numbers kept as they
// are compute exactly what Fold and Extract do.
type freshState struct {
	num  []float64
	has  []bool
	str  []string
	seen []uint64 // members of OpDistinct already counted
	ops  []Op
}

func newFreshState(s *Spec) *freshState {
	n := len(s.fields)
	return &freshState{num: make([]float64, n), has: make([]bool, n), str: make([]string, n)}
}

func (fs *freshState) reset() {
	clear(fs.num)
	clear(fs.has)
	clear(fs.str)
	fs.seen = fs.seen[:0]
}

func (fs *freshState) set(id uint16, v float64) { fs.num[id], fs.has[id] = v, true }

// fold is foldOp on the typed state; keep the two in step.
func (fs *freshState) fold(s *Spec, op *Op) {
	t := float64(op.T)
	id := op.id
	switch op.Kind {
	case OpIncr:
		fs.set(id, fs.num[id]+op.N)
	case OpMax:
		if !fs.has[id] || t > fs.num[id] {
			fs.set(id, t)
		}
	case OpMin:
		if !fs.has[id] || t < fs.num[id] {
			fs.set(id, t)
		}
	case OpDecay:
		d := op.Decay
		ref := id + uint16(len(d.Fields))
		r, ok := fs.num[ref], fs.has[ref]
		for j := range d.Fields {
			f := id + uint16(j)
			v := fs.num[f]
			switch {
			case !ok:
				v = op.N
			case t <= r:
				v += op.N * math.Pow(2, -(r-t)/d.HalfMs[j])
			default:
				v = v*math.Pow(2, -(t-r)/d.HalfMs[j]) + op.N
			}
			fs.set(f, v)
		}
		if !ok || t > r {
			fs.set(ref, t)
		}
	case OpNewer, OpOlder:
		ct, ok := fs.num[id+1], fs.has[id+1]
		win := !ok || t == ct && op.S > fs.str[id]
		if op.Kind == OpNewer {
			win = win || t > ct
		} else {
			win = win || t < ct
		}
		if win {
			fs.str[id] = op.S
			fs.set(id+1, t)
		}
	case OpDistinct:
		if !slices.Contains(fs.seen, op.K) {
			fs.seen = append(fs.seen, op.K)
			fs.set(id, fs.num[id]+1)
		}
	}
}

// extract is Extract on the typed state; keep the two in step.
func (fs *freshState) extract(s *Spec, now time.Time, nums []float64, cat []string) {
	nowMs := float64(now.UnixMilli())
	nums = nums[:len(s.numNames)]
	i := 0
	for t := LeadCreated; t < numTypes; t++ {
		nums[i] = fs.num[s.count[t].id]
		i++
	}
	for _, f := range s.pv {
		nums[i] = fs.num[f.id]
		i++
	}
	sess := fs.num[s.sess.id]
	nums[i], nums[i+1] = sess, 0
	if sess > 0 {
		nums[i+1] = fs.num[s.sview.id] / sess
	}
	i += 2
	ref := s.decayID + uint16(len(s.decay.Fields))
	for k := range s.decay.Fields {
		f := s.decayID + uint16(k)
		nums[i] = 0
		if fs.has[f] && fs.has[ref] {
			nums[i] = fs.num[f] * math.Pow(2, -math.Max(nowMs-fs.num[ref], 0)/s.decay.HalfMs[k])
		}
		i++
	}
	recCap := s.cfg.RecencyCap.Seconds()
	for _, f := range s.last {
		nums[i] = recCap
		if fs.has[f.id] {
			nums[i] = clamp((nowMs-fs.num[f.id])/1000, 0, recCap)
		}
		i++
	}
	nums[i] = 0
	if fs.has[s.first.id] {
		nums[i] = clamp((nowMs-fs.num[s.first.id])/1000, 0, s.cfg.AgeCap.Seconds())
	}

	cat = cat[:len(s.cats)]
	for j := range s.cats {
		c := &s.cats[j]
		v := c.voc.lookup(fs.str[s.catIDs[j]])
		switch {
		case c.kind == catSeniority && v == "":
			v = inferSeniority(fs.str[s.title])
		case c.kind == catState && v == "":
			if fs.has[s.last[gAny].id] {
				v = "new"
			}
		}
		cat[j] = v
	}
}
