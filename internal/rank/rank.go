// Package rank keeps the call queue in step with the feature store and the
// model: it scores a lead from its features, routes it to a pool and places
// it in the queue. The consumer calls it after every batch, the API after a
// form, and the model watcher after every promotion or rollback.
//
// It is the one internal package that composes the domain packages
// (features, model) with the queue; nothing in internal imports it.
package rank

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/queue"
	"github.com/leadq/leadq/internal/route"
	"github.com/leadq/leadq/model"
)

// poolField is the lead-hash field remembering the lead's pool, so a lead
// whose firmographics move it to another pool leaves the old one.
const poolField = "_pool"

// Ranker scores leads and places them in the queue.
type Ranker struct {
	rdb    redis.UniversalClient
	store  *features.Store
	live   *model.Live
	queue  *queue.Queue
	router route.Router
	log    *slog.Logger
	catIdx map[string]int
}

// New returns a Ranker.
func New(rdb redis.UniversalClient, store *features.Store, live *model.Live, q *queue.Queue, router route.Router, log *slog.Logger) *Ranker {
	r := &Ranker{rdb: rdb, store: store, live: live, queue: q, router: canonicalRules(router, store.Spec()), log: log, catIdx: map[string]int{}}
	for i, n := range store.Spec().CatNames() {
		r.catIdx[n] = i
	}
	return r
}

// canonicalRules rewrites the rules' values in the form Extract gives the
// lead's features ("5001+" → "5001_plus", "Germany" → "de"), which pool
// compares them with; rules as written would never match such values.
func canonicalRules(router route.Router, spec *features.Spec) route.Router {
	out := route.Router{Default: router.Default, Rules: make([]route.Rule, len(router.Rules))}
	for i, rule := range router.Rules {
		m := make(map[string][]string, len(rule.Match))
		for field, vals := range rule.Match {
			for _, v := range vals {
				m[field] = append(m[field], spec.Canonical(field, v))
			}
		}
		out.Rules[i] = route.Rule{Pool: rule.Pool, Match: m}
	}
	return out
}

// Router returns the routing rules.
func (r *Ranker) Router() route.Router { return r.router }

// Placed is a lead's score and queue placement.
type Placed struct {
	LeadID    string
	P         float64
	Version   string
	Reasons   []model.Reason
	Pool      string
	Placement queue.Placement
	Num       []float64 // the feature vector scored, for training snapshots
	Cat       []string
}

// Place scores one lead from its state and places it in the queue.
func (r *Ranker) Place(ctx context.Context, leadID string, st features.State, now time.Time) (Placed, error) {
	pl, lead, ok := r.score(leadID, st, now, true)
	if !ok {
		return pl, nil
	}
	if err := r.movePool(ctx, leadID, st[poolField], pl.Pool, now); err != nil {
		return pl, err
	}
	placement, err := r.queue.Upsert(ctx, lead, now)
	if err != nil {
		return pl, err
	}
	pl.Placement = placement
	return pl, nil
}

// Rerank re-scores and re-places the leads a batch changed. Leads without a
// high-intent trigger are not in the queue and are skipped.
func (r *Ranker) Rerank(ctx context.Context, changes []features.Change, now time.Time) error {
	ids := make([]string, 0, len(changes))
	for _, c := range changes {
		if !c.TriggerAt.IsZero() {
			ids = append(ids, c.LeadID)
		}
	}
	return r.rerankIDs(ctx, ids, now)
}

func (r *Ranker) rerankIDs(ctx context.Context, ids []string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	pipe := r.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, r.store.Key(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("rank: read %d leads: %w", len(ids), err)
	}
	leads := make([]queue.Lead, 0, len(ids))
	for i, id := range ids {
		st := features.State(cmds[i].Val())
		pl, lead, ok := r.score(id, st, now, false)
		if !ok {
			continue
		}
		if err := r.movePool(ctx, id, st[poolField], pl.Pool, now); err != nil {
			return err
		}
		leads = append(leads, lead)
	}
	return r.queue.UpsertBatch(ctx, leads, now)
}

// score computes a lead's probability and queue entry; ok is false for a
// lead with no trigger (not in the queue).
func (r *Ranker) score(id string, st features.State, now time.Time, explain bool) (Placed, queue.Lead, bool) {
	spec := r.store.Spec()
	n, m := spec.Sizes()
	num, cat := make([]float64, n), make([]string, m)
	spec.Extract(st, now, num, cat)
	pl := Placed{LeadID: id, Num: num, Cat: cat}
	if explain {
		pl.P, pl.Reasons, pl.Version = r.live.ExplainVector(num, cat, make([]model.Reason, 0, 2*model.TopReasons))
	} else {
		pl.P, pl.Version = r.live.ScoreVector(num, cat)
	}
	pl.Pool = r.pool(cat)
	lead, ok := r.queueLead(id, st, pl.P, pl.Pool, cat)
	return pl, lead, ok
}

// pool routes a lead by its extracted categorical features.
func (r *Ranker) pool(cat []string) string {
	return r.router.Pool(func(f string) string {
		if i, ok := r.catIdx[f]; ok {
			return cat[i]
		}
		return ""
	})
}

// queueLead is the queue's view of a scored lead; ok is false for a lead
// with no trigger (not in the queue).
func (r *Ranker) queueLead(id string, st features.State, p float64, pool string, cat []string) (queue.Lead, bool) {
	spec := r.store.Spec()
	trig, ok := spec.TriggerAt(st)
	if !ok {
		return queue.Lead{}, false
	}
	return queue.Lead{
		ID: id, Pool: pool, P: p, TriggerAt: trig,
		Attempts: spec.Attempts(st), Source: cat[r.catIdx["source_first"]],
		Timezone: features.Prop(st, "timezone"),
	}, true
}

// movePool removes the lead from its old pool when routing moved it, and
// remembers the new pool in the lead's hash.
func (r *Ranker) movePool(ctx context.Context, id, old, pool string, now time.Time) error {
	if old == pool {
		return nil
	}
	if old != "" {
		if err := r.queue.Remove(ctx, old, id, now); err != nil {
			return fmt.Errorf("rank: move %s from pool %s: %w", id, old, err)
		}
	}
	if err := r.rdb.HSet(ctx, r.store.Key(id), poolField, pool).Err(); err != nil {
		return fmt.Errorf("rank: remember pool of %s: %w", id, err)
	}
	return nil
}
