package main

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/queue"
	"github.com/leadq/leadq/internal/route"
	"github.com/leadq/leadq/model"
)

// placer does what Ranker.Rerank does for a batch of leads (read the lead
// hashes, extract, score, route, remember the pool, UpsertBatch) in separately
// timed, pipelined steps: the setup uses it to place a million leads fast, and
// the breakdown uses it to say which step of a rescore costs what.
type placer struct {
	store  *features.Store
	live   *model.Live
	q      *queue.Queue
	router route.Router
	catIdx map[string]int
}

// stepTimes are the wall times of placeChunk's steps.
type stepTimes struct{ read, score, pool, upsert time.Duration }

func (s *stepTimes) add(o stepTimes) {
	s.read += o.read
	s.score += o.score
	s.pool += o.pool
	s.upsert += o.upsert
}

// placeChunk (re)places ids in the queue. With writePool false it skips the
// _pool writes, as a rescore of already placed leads does.
func (b *bench) placeChunk(ctx context.Context, p *placer, ids []string, now time.Time) (stepTimes, error) {
	return b.placeSteps(ctx, p, ids, now, true)
}

func (b *bench) placeSteps(ctx context.Context, p *placer, ids []string, now time.Time, writePool bool) (stepTimes, error) {
	var st stepTimes
	t := time.Now()
	pipe := b.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, p.store.Key(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return st, fmt.Errorf("read leads: %w", err)
	}
	st.read = time.Since(t)

	t = time.Now()
	spec := p.store.Spec()
	leads := make([]queue.Lead, 0, len(ids))
	pools := make([]string, 0, len(ids))
	for i, id := range ids {
		state := features.State(cmds[i].Val())
		num := make([]float64, len(spec.NumNames()))
		cat := make([]string, len(spec.CatNames()))
		spec.Extract(state, now, num, cat)
		prob, _ := p.live.ScoreVector(num, cat)
		pool := p.router.Pool(func(f string) string {
			if j, ok := p.catIdx[f]; ok {
				return cat[j]
			}
			return ""
		})
		trig, ok := spec.TriggerAt(state)
		if !ok {
			continue
		}
		leads = append(leads, queue.Lead{ID: id, Pool: pool, P: prob, TriggerAt: trig,
			Attempts: spec.Attempts(state), Source: cat[p.catIdx["source_first"]],
			Timezone: features.Prop(state, "timezone")})
		pools = append(pools, pool)
	}
	st.score = time.Since(t)

	if writePool {
		t = time.Now()
		pipe = b.rdb.Pipeline()
		for i, l := range leads {
			pipe.HSet(ctx, p.store.Key(l.ID), "_pool", pools[i])
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return st, fmt.Errorf("write pools: %w", err)
		}
		st.pool = time.Since(t)
	}

	t = time.Now()
	if err := p.q.UpsertBatch(ctx, leads, now); err != nil {
		return st, err
	}
	st.upsert = time.Since(t)
	return st, nil
}

// chunkIDs returns the lead ids of chunk c.
func chunkIDs(c, size, total int) []string {
	lo, hi := c*size, min((c+1)*size, total)
	ids := make([]string, 0, hi-lo)
	for i := lo; i < hi; i++ {
		ids = append(ids, leadID(i))
	}
	return ids
}

// scanPass times one SCAN over the whole keyspace matching the lead keys,
// as RescoreAll does, and counts the calls and matches.
func (b *bench) scanPass(ctx context.Context, store *features.Store) (time.Duration, int, int, error) {
	t := time.Now()
	var cursor uint64
	calls, found := 0, 0
	for {
		keys, next, err := b.rdb.Scan(ctx, cursor, store.Key("*"), 5000).Result()
		if err != nil {
			return 0, 0, 0, err
		}
		calls++
		found += len(keys)
		if cursor = next; cursor == 0 {
			return time.Since(t), calls, found, nil
		}
	}
}
