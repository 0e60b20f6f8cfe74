package rank

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/queue"
)

const (
	// rescorePage is how many lead ids RescoreAll asks the queue for at a time.
	rescorePage = 1000
	// rescoreInFlight is how many pages RescoreAll works on at once, so
	// Redis always has the next page's reads or script queued while Go
	// scores another (3 left Redis idle ~15% of a 1M rescore, 6 ~10%).
	// The cost: a pull arriving during a rescore can wait behind several
	// queued batches (each script call of 500 leads holds Redis ~5 ms).
	rescoreInFlight = 6
)

// RescoreAll re-scores, with the served model, every active lead (queued,
// scheduled or claimed) of every routed pool, after the model changed, and
// returns how many it re-scored. It walks each pool's active leads in the
// queue's order (Queue.ActiveInOrder: about 60 bytes per lead of the pool
// being walked), reads and scores them page by page, and hands them to
// Queue.Rescore. A lead whose routing now says another pool is moved, as
// Rerank does. Leads in nurture, booked or closed keep their probability
// until an event re-places them (a re-heat re-scores them), and pools the
// router no longer names are not visited. Like SCAN, the walk may return a
// lead twice (it is then re-scored twice, harmlessly).
func (r *Ranker) RescoreAll(ctx context.Context, now time.Time) (int, error) {
	start := time.Now()
	type page struct {
		pool string
		ids  []string
	}
	pages := make(chan page, rescoreInFlight)
	var done, skipped atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(pages)
		for _, pool := range r.router.Pools() {
			err := r.queue.ActiveInOrder(gctx, pool, rescorePage, func(ids []string) error {
				select {
				case pages <- page{pool, ids}:
					return nil
				case <-gctx.Done():
					return gctx.Err()
				}
			})
			if err != nil {
				return fmt.Errorf("rank: list the leads of pool %s: %w", pool, err)
			}
		}
		return nil
	})
	for range rescoreInFlight {
		g.Go(func() error {
			b := r.newRescoreBuf()
			for p := range pages {
				if err := gctx.Err(); err != nil {
					return err
				}
				n, skip, err := r.rescorePage(gctx, p.pool, p.ids, now, b)
				done.Add(int64(n))
				skipped.Add(int64(skip))
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	err := g.Wait()
	n := int(done.Load())
	if err != nil {
		return n, err
	}
	r.log.Info("rescored leads after a model change", "leads", n, "without_trigger", skipped.Load(),
		"model", r.live.Version(), "took", time.Since(start))
	return n, nil
}

// rescoreBuf is one RescoreAll worker's scratch space, reused page after page.
type rescoreBuf struct {
	cmds  []*redis.MapStringStringCmd
	num   []float64
	cat   []string
	leads []queue.Lead
	moved []string
}

func (r *Ranker) newRescoreBuf() *rescoreBuf {
	spec := r.store.Spec()
	n, m := spec.Sizes()
	return &rescoreBuf{num: make([]float64, n), cat: make([]string, m)}
}

// rescorePage re-scores the active leads ids of pool. It returns how many it
// re-scored and how many it skipped because the feature store holds no
// trigger for them (a queue entry whose lead was deleted).
func (r *Ranker) rescorePage(ctx context.Context, pool string, ids []string, now time.Time, b *rescoreBuf) (int, int, error) {
	pipe := r.rdb.Pipeline()
	b.cmds = b.cmds[:0]
	for _, id := range ids {
		b.cmds = append(b.cmds, pipe.HGetAll(ctx, r.store.Key(id)))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, 0, fmt.Errorf("rank: read %d leads: %w", len(ids), err)
	}
	spec := r.store.Spec()
	b.leads, b.moved = b.leads[:0], b.moved[:0]
	for i, id := range ids {
		st := features.State(b.cmds[i].Val())
		b.cmds[i] = nil // the page's states are garbage once scored
		spec.Extract(st, now, b.num, b.cat)
		p, _ := r.live.ScoreVector(b.num, b.cat)
		to := r.pool(b.cat)
		lead, ok := r.queueLead(id, st, p, to, b.cat)
		switch {
		case !ok:
		case to != pool || st[poolField] != pool:
			b.moved = append(b.moved, id) // Rerank's path: leave the old pool, remember the new
		default:
			b.leads = append(b.leads, lead)
		}
	}
	skipped := len(ids) - len(b.leads) - len(b.moved)
	if err := r.queue.Rescore(ctx, b.leads, now); err != nil {
		return 0, skipped, fmt.Errorf("rank: rescore %d leads of pool %s: %w", len(b.leads), pool, err)
	}
	if err := r.rerankIDs(ctx, b.moved, now); err != nil {
		return len(b.leads), skipped, err
	}
	return len(b.leads) + len(b.moved), skipped, nil
}
