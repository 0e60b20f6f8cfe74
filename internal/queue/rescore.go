package queue

import (
	"context"
	_ "embed"
	"fmt"
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

// Rescore gives many leads new probabilities, as after a model change. Each
// lead ends as Upsert would leave it, but a lead the pool already holds at
// the same trigger time and UTC offset only gets its new p and, if queued,
// its new score in the segment it is in; unknown leads, re-heats and offset
// changes take Upsert's full path. Calls take up to 500 leads of one pool
// and are pipelined. Unlike Upsert, each call first applies the pool's events
// due by now (as Tick does), so a spent attempt budget is judged at now.
// A lead moving to another pool must be removed from the old one first.
func (q *Queue) Rescore(ctx context.Context, leads []Lead, now time.Time) error {
	_, err := q.rescore(ctx, leads, now)
	return err
}

// rescore is Rescore, also returning how many leads took the fast path.
func (q *Queue) rescore(ctx context.Context, leads []Lead, now time.Time) (int, error) {
	type call struct {
		pool string
		args []any
	}
	var calls []call
	open := map[string]int{} // pool → its call still taking leads
	nows := ftoa(q.sec(now))
	for _, l := range leads {
		i, ok := open[l.Pool]
		if !ok || len(calls[i].args) >= 2+7*rescoreChunk {
			i = len(calls)
			open[l.Pool] = i
			args := make([]any, 0, 2+7*min(rescoreChunk, len(leads)))
			calls = append(calls, call{l.Pool, append(args, nows, q.profileOf(l.Pool)[0])})
		}
		args, err := q.appendLead(calls[i].args, l, now)
		if err != nil {
			return 0, err
		}
		calls[i].args = args
	}
	if len(calls) == 0 {
		return 0, nil
	}
	cmds, err := evalPipelined(ctx, q.rdb, scriptRescore, len(calls), func(i int) ([]string, []any) {
		return []string{q.poolKey(calls[i].pool) + "clk"}, calls[i].args
	})
	if err != nil {
		return 0, fmt.Errorf("queue rescore: %w", err)
	}
	fast := 0
	for _, c := range cmds {
		n, err := c.Int()
		if err != nil {
			return fast, fmt.Errorf("queue rescore: %w", err)
		}
		fast += n
	}
	return fast, nil
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
	// SLA deadlines share the due set under "\x01"+id; lead ids have no
	// control characters, so the pattern keeps exactly the leads.
	kv, next, err := q.rdb.ZScan(ctx, q.poolKey(pool)+"due", cursor, "[^\x01]*", int64(count)).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("queue active %s: %w", pool, err)
	}
	ids := kv[:0]
	for i := 0; i < len(kv); i += 2 { // member, score, member, score, …
		ids = append(ids, kv[i])
	}
	return ids, next, nil
}
