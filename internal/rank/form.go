package rank

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/features"
)

// Submit applies a form's events (features.Applied, Direct) together with
// their outbox copies for Kafka, scores the lead and places it in the queue,
// in as few round trips as it can:
//
//   - a new lead (created): its state is the fold of batch, so it is scored
//     before anything is written, and the state (with its pool), the outbox
//     and its queue placement are one MULTI/EXEC: one round trip, in which
//     the state is written whole (features.Store.CreateDirect), not applied
//     by the general script;
//   - a known lead: the apply and the outbox are one transaction that also
//     reads the lead's state after the apply; Place follows.
func (r *Ranker) Submit(ctx context.Context, ob *features.Outbox, leadID string, batch []features.Applied, created bool, now time.Time) (Placed, error) {
	if !created {
		var st *redis.MapStringStringCmd
		if _, err := r.store.ApplyDirect(ctx, ob, batch, func(p redis.Pipeliner) {
			st = p.HGetAll(ctx, r.store.Key(leadID))
		}); err != nil {
			return Placed{}, err
		}
		m, err := st.Result()
		if err != nil {
			return Placed{}, fmt.Errorf("rank: read %s: %w", leadID, err)
		}
		return r.Place(ctx, leadID, features.State(m), now)
	}
	st := r.store.Spec().NewLeadState(batch)
	pl, lead, ok := r.score(leadID, st, now, true)
	if ok {
		st[poolField] = pl.Pool // written with the state, so only if the state is
	}
	var placement func() (Placed, error)
	fresh, err := r.store.CreateDirect(ctx, ob, batch, st, func(p redis.Pipeliner) {
		if !ok {
			return // no trigger: not queued
		}
		finish, err := r.queue.UpsertIn(ctx, p, lead, now)
		if err != nil {
			placement = func() (Placed, error) { return pl, err }
			return
		}
		placement = func() (Placed, error) {
			var err error
			if pl.Placement, err = finish(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
				pl.Placement, err = r.queue.Upsert(ctx, lead, now) // loads the script
			}
			return pl, err
		}
	})
	switch {
	case err != nil:
		return pl, err
	case !fresh:
		// The lead had state after all (events under its id came first): the
		// outbox has the events and the queue a placement from the form
		// alone; apply them (direct: never twice) and place from the whole.
		if _, err := r.store.ApplyChanges(ctx, batch, nil); err != nil {
			return pl, err
		}
		full, err := r.store.Get(ctx, leadID)
		if err != nil {
			return pl, err
		}
		whole, err := r.Place(ctx, leadID, full, now)
		if err == nil && ok && whole.Pool != pl.Pool {
			// The form alone routed it elsewhere; the hash never named that pool.
			if err := r.queue.Remove(ctx, pl.Pool, leadID, now); err != nil {
				return whole, fmt.Errorf("rank: move %s from pool %s: %w", leadID, pl.Pool, err)
			}
		}
		return whole, err
	case placement == nil:
		return pl, nil
	}
	return placement()
}
