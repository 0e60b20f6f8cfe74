package features

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// ApplyDirect applies events the API applies itself (every Applied must be
// Direct) and appends them to the outbox ob, which forwards them to Kafka,
// in one MULTI/EXEC: one round trip, and an event is applied only if it is
// also on its way to the log. also, if not nil, queues more commands in the
// same transaction (a new lead's queue placement); reading their results is
// the caller's business, and their errors do not fail ApplyDirect.
//
// On a Redis Cluster the outbox and the lead live in different slots: the
// outbox append runs first, on its own (see Outbox), then the rest.
//
// Retrying is safe: the apply is deduplicated by event id, and a second copy
// in the outbox only means a second Kafka message the consumer skips.
func (s *Store) ApplyDirect(ctx context.Context, ob *Outbox, batch []Applied, also func(redis.Pipeliner)) ([]Change, error) {
	if err := checkDirect(batch); err != nil || len(batch) == 0 {
		return nil, err
	}
	enc := s.pool.Get().(*encoder)
	defer func() {
		enc.release()
		s.pool.Put(enc)
	}()
	enc.encode(batch, s)
	var cmds []*redis.Cmd
	err := s.direct(ctx, ob, batch, func(pipe redis.Pipeliner) []*redis.Cmd {
		cmds = enc.cmds[:0]
		for _, c := range enc.calls {
			cmds = append(cmds, pipe.Do(ctx, enc.args[c.lo:c.hi]...))
		}
		enc.cmds = cmds
		return cmds
	}, also)
	if err != nil {
		return nil, err
	}
	ch, err := enc.changes(cmds, nil)
	if err != nil {
		return nil, fmt.Errorf("features: apply direct %d events: %w", len(batch), err)
	}
	return ch, nil
}

// CreateDirect is ApplyDirect for a lead that has no state yet (just minted
// by the API), far cheaper for Redis: st, which must be
// Spec.NewLeadState(batch) plus any fields of the caller's own (text, such
// as the queue's pool), is written whole by a tiny script that refuses if the
// lead's hash exists, instead of apply.lua reading fields and replaying the
// updates. The hash it writes is the one ApplyDirect would leave (plus the
// caller's fields), number for number in Redis's own spelling.
//
// It reports false, having written nothing to the lead, if the lead already
// had state: the outbox copies and also's commands did run (a transaction
// cannot be made conditional), so the caller goes on as for a known lead,
// applying batch (Store.ApplyChanges; the events are direct, so a second
// apply is a no-op) and placing the lead from the merged state.
func (s *Store) CreateDirect(ctx context.Context, ob *Outbox, batch []Applied, st State, also func(redis.Pipeliner)) (bool, error) {
	if err := checkDirect(batch); err != nil {
		return false, err
	}
	if len(batch) == 0 || len(st) == 0 {
		return false, fmt.Errorf("features: create direct: no events or no state")
	}
	lead := batch[0].Event.LeadID
	for _, a := range batch {
		if a.Event.LeadID != lead {
			return false, fmt.Errorf("features: create direct: events of leads %s and %s", lead, a.Event.LeadID)
		}
	}
	args, err := s.spec.createArgs(st)
	if err != nil {
		return false, err
	}
	var cmd *redis.Cmd
	err = s.direct(ctx, ob, batch, func(pipe redis.Pipeliner) []*redis.Cmd {
		cmd = pipe.EvalSha(ctx, s.create.Hash(), []string{s.Key(lead)}, args...)
		return []*redis.Cmd{cmd}
	}, also)
	if err != nil {
		return false, err
	}
	n, err := cmd.Int()
	if err != nil {
		return false, fmt.Errorf("features: create lead %s: %w", lead, err)
	}
	return n == 1, nil
}

func checkDirect(batch []Applied) error {
	for _, a := range batch {
		if !a.Direct {
			return fmt.Errorf("features: apply direct: event %s is not marked Direct", a.Event.EventID)
		}
	}
	return nil
}

// direct runs the outbox append of batch, the script calls write queues and
// also's commands in one transaction (on a cluster: the append first, then
// the rest in one pipeline), loading the scripts and running it all again
// once if Redis had lost them: the outbox then holds two copies,
// which only means a second Kafka message the consumer skips.
func (s *Store) direct(ctx context.Context, ob *Outbox, batch []Applied, write func(redis.Pipeliner) []*redis.Cmd,
	also func(redis.Pipeliner)) error {
	if ob.cluster {
		pipe := s.rdb.Pipeline()
		if _, err := ob.appendTo(ctx, pipe, batch); err != nil {
			return err
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("features: outbox: append %d events: %w", len(batch), err)
		}
	}
	for attempt := 0; ; attempt++ {
		var pipe redis.Pipeliner
		var own []*redis.StringCmd
		if ob.cluster {
			pipe = s.rdb.Pipeline()
		} else {
			pipe = s.rdb.TxPipeline()
			var err error
			if own, err = ob.appendTo(ctx, pipe, batch); err != nil {
				return err
			}
		}
		cmds := write(pipe)
		if also != nil {
			also(pipe)
		}
		_, err := pipe.Exec(ctx)
		if err != nil && attempt == 0 && isNoScript(cmds) {
			// Redis lost its scripts (restart, SCRIPT FLUSH): the outbox got
			// its copies, the write did not; load and run the whole again.
			if err := s.Load(ctx); err != nil {
				return err
			}
			continue
		}
		// Only our own commands decide: an error of also's is the caller's.
		for _, c := range own {
			if c.Err() != nil {
				return fmt.Errorf("features: outbox: append %d events: %w", len(batch), c.Err())
			}
		}
		for _, c := range cmds {
			if err := c.Err(); err != nil {
				return fmt.Errorf("features: apply direct %d events: %w", len(batch), err)
			}
		}
		return nil
	}
}
