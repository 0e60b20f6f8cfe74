package queue

import (
	"cmp"
	"context"
	_ "embed"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/rescore.lua
var luaRescore string

var scriptRescore = redis.NewScript(luaCommon + luaRescore)

// rescoreChunk is how many leads one rescore script call takes: enough to
// spread a call's fixed cost (EVALSHA, profile unpacking, migrate's look at
// the due set) thin, few enough that a call holds Redis only a few ms.
const rescoreChunk = 500

// Rescore gives many leads new probabilities, as after a model change. A
// lead the pool does not hold is left alone (it was moved or removed since
// the caller listed it: re-creating it would put it in two pools at once).
// Each other lead ends as Upsert would leave it, but one at the same trigger
// time and UTC offset only gets its new p and, if queued, its new score in
// the segment it is in; re-heats and offset changes take Upsert's full path.
// Calls take up to 500 leads of one pool, sorted by segment and new score
// (rescoreOrder), and are pipelined. Unlike Upsert, each call first applies
// the pool's events due by now (as Tick does), so a spent attempt budget is
// judged at now. A lead moving to another pool is placed there by Upsert.
func (q *Queue) Rescore(ctx context.Context, leads []Lead, now time.Time) error {
	_, _, err := q.rescore(ctx, leads, now)
	return err
}

// rescore is Rescore, also returning how many leads took the fast path and
// how many the pool did not hold.
func (q *Queue) rescore(ctx context.Context, leads []Lead, now time.Time) (fast, gone int, err error) {
	type call struct {
		pool string
		args []any
	}
	var calls []call
	open := map[string]int{} // pool → its call still taking leads
	nows := ftoa(q.sec(now))
	for _, l := range q.rescoreOrder(leads, now) {
		i, ok := open[l.Pool]
		if !ok || len(calls[i].args) >= 2+5*rescoreChunk {
			i = len(calls)
			open[l.Pool] = i
			args := make([]any, 0, 2+5*min(rescoreChunk, len(leads)))
			calls = append(calls, call{l.Pool, append(args, nows, q.profileOf(l.Pool)[0])})
		}
		args, err := q.appendRescored(calls[i].args, l, now)
		if err != nil {
			return 0, 0, err
		}
		calls[i].args = args
	}
	if len(calls) == 0 {
		return 0, 0, nil
	}
	cmds, err := evalPipelined(ctx, q.rdb, scriptRescore, len(calls), func(i int) ([]string, []any) {
		return []string{q.poolKey(calls[i].pool) + "clk"}, calls[i].args
	})
	if err != nil {
		return 0, 0, fmt.Errorf("queue rescore: %w", err)
	}
	for _, c := range cmds {
		r, err := c.Int64Slice()
		if err != nil || len(r) != 2 {
			return fast, gone, fmt.Errorf("queue rescore: reply %v: %w", c.Val(), err)
		}
		fast, gone = fast+int(r[0]), gone+int(r[1])
	}
	if gone > 0 {
		q.m.gone.Add(float64(gone))
	}
	return fast, gone, nil
}

// rescoreOrder returns leads grouped by pool and, within a pool, by the
// segment the lead is in and its new score (as far as the lead's own trigger
// and attempts say: the order only has to be close). Each script call then
// moves its leads through each segment's skiplist in ascending order, so the
// walks of successive ZADD updates share the nodes already in the CPU's
// cache instead of missing on nearly every level (a random order cost Redis
// ~5 µs per lead on sets of 250k, a sorted one ~2). A batch naming a lead
// twice keeps its order: there the last occurrence must win, as in Upsert.
func (q *Queue) rescoreOrder(leads []Lead, now time.Time) []Lead {
	seen := make(map[string]struct{}, len(leads))
	for _, l := range leads {
		if _, dup := seen[l.ID]; dup {
			return leads
		}
		seen[l.ID] = struct{}{}
	}
	type keyed struct {
		seg   int
		score float64
		i     int
	}
	ks := make([]keyed, len(leads))
	order := map[string]*segOrder{}
	for i, l := range leads {
		o := order[l.Pool]
		if o == nil {
			o = newSegOrder(q.cfg.profile(l.Pool))
			order[l.Pool] = o
		}
		k, s := o.key(l, q.sec(l.TriggerAt), now.Sub(l.TriggerAt))
		ks[i] = keyed{k, s, i}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if c := cmp.Compare(leads[a.i].Pool, leads[b.i].Pool); c != 0 {
			return c
		}
		if c := cmp.Compare(a.seg, b.seg); c != 0 {
			return c
		}
		if c := cmp.Compare(a.score, b.score); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	out := make([]Lead, len(ks))
	for j, k := range ks {
		out[j] = leads[k.i]
	}
	return out
}

// segOrder is what rescoreOrder needs of a pool's profile.
type segOrder struct {
	start []time.Duration
	rate  []float64
	loga  []float64
}

func newSegOrder(p Profile) *segOrder {
	o := &segOrder{}
	for _, s := range p.Curve.Segments() {
		o.start = append(o.start, s.Start)
		o.rate = append(o.rate, s.Rate)
	}
	for _, f := range p.AttemptFactors {
		o.loga = append(o.loga, math.Log(f))
	}
	return o
}

// key is place's segment and score of a lead of age age, triggered t
// seconds after the epoch.
func (o *segOrder) key(l Lead, t float64, age time.Duration) (int, float64) {
	k := 0
	for k+1 < len(o.start) && o.start[k+1] <= age {
		k++
	}
	la := 0.0
	if len(o.loga) > 0 {
		la = o.loga[min(max(l.Attempts, 0), len(o.loga)-1)]
	}
	return k, math.Log(max(l.P, minP)) + la + o.rate[k]*t
}

// ActiveInOrder hands emit, in pages of up to page ids, every active lead of
// pool (what a whole walk of Active lists): the queued ones first, segment
// by segment in score order, then the scheduled and claimed ones. Rescoring
// leads in this order touches each segment's skiplist where the previous
// leads left off (see rescoreOrder). The queued leads are listed before the
// first emit, so rescoring them cannot shift the listing; the due set is
// scanned for the others while emit works through them. It holds about 60
// bytes per lead of the pool. A lead may be listed twice; one active for the
// whole walk is listed at least once. An error from emit ends the walk.
func (q *Queue) ActiveInOrder(ctx context.Context, pool string, page int, emit func([]string) error) error {
	if err := validPool(pool); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	const chunk = 10_000
	var queued []string
	seen := map[string]struct{}{}
	// By rank from the lowest score: pulls take the highest, so they do not
	// shift the chunks still to come; anything else that shifts them is
	// still in the due set, which the second pass reads whole.
	for k := range q.cfg.profile(pool).Curve.Segments() {
		key := q.poolKey(pool) + "z" + strconv.Itoa(k)
		for start := int64(0); ; start += chunk {
			ms, err := q.rdb.ZRange(ctx, key, start, start+chunk-1).Result()
			if err != nil {
				return fmt.Errorf("queue active %s: %w", pool, err)
			}
			for _, id := range ms {
				if _, ok := seen[id]; !ok {
					seen[id] = struct{}{}
					queued = append(queued, id)
				}
			}
			if len(ms) < chunk {
				break
			}
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		ids []string
		err error
	}
	others := make(chan result, 1)
	go func() { // reads seen only: it is complete
		var r result
		more := map[string]struct{}{}
		for cursor := uint64(0); ; {
			// A ZSCAN spends ~1.4 µs of Redis per member (it spells every
			// score as text before matching): 1,000 a call keeps each under
			// ~2 ms, where 10,000 held Redis, and every pull, for ~14 ms.
			ms, next, err := q.Active(ctx, pool, cursor, 1000)
			if err != nil {
				r.err = err
				break
			}
			for _, id := range ms {
				_, a := seen[id]
				if _, b := more[id]; !a && !b {
					more[id] = struct{}{}
					r.ids = append(r.ids, id)
				}
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
		others <- r
	}()
	err := emitPages(queued, page, emit)
	if err != nil {
		cancel()
	}
	r := <-others
	if err != nil {
		return err
	}
	if r.err != nil {
		return r.err
	}
	return emitPages(r.ids, page, emit)
}

func emitPages(ids []string, page int, emit func([]string) error) error {
	for len(ids) > 0 {
		n := min(page, len(ids))
		if err := emit(ids[:n:n]); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// Active returns one page of the ids of a pool's active leads (queued,
// scheduled or claimed: every lead with a pending timed event) from a ZSCAN
// of the pool's due set. Start with cursor 0 and pass the returned cursor
// until it is 0 again; count hints at the page size. As with SCAN, a lead
// active for the whole walk is returned at least once, rarely twice, and one
// that becomes active or inactive during it may or may not be.
func (q *Queue) Active(ctx context.Context, pool string, cursor uint64, count int) ([]string, uint64, error) {
	if err := validPool(pool); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	// SLA deadlines share the due set under "\x01"+id and nurture ends under
	// "\x02"+id; lead ids have no control characters, so the pattern keeps
	// exactly the active leads.
	kv, next, err := q.rdb.ZScan(ctx, q.poolKey(pool)+"due", cursor, "[^\x01\x02]*", int64(count)).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("queue active %s: %w", pool, err)
	}
	ids := kv[:0]
	for i := 0; i < len(kv); i += 2 { // member, score, member, score, …
		ids = append(ids, kv[i])
	}
	return ids, next, nil
}
