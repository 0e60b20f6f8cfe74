package features

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed apply.lua
var applySrc string

// Applied is an event together with the Kafka position it was read from;
// the position is what makes applying it effectively once.
//
// Direct marks an event applied outside the stream, at once, by the API
// (POST /v1/leads): it is deduplicated by its event id instead of its Kafka
// position, so the copy the API also writes to Kafka (with header
// DirectHeader) is a no-op when the consumer meets it, and is applied then if
// the API's own apply never happened.
type Applied struct {
	Event     Event
	Partition int
	Offset    int64
	Direct    bool
}

// DirectHeader marks a Kafka message whose event the API applied directly.
const DirectHeader = "leadq.direct"

// Change reports a lead whose state an Apply changed.
type Change struct {
	LeadID    string
	TriggerAt time.Time // latest high-intent time after the apply; zero if none
}

// Store keeps per-lead feature state in Redis hashes, one key per lead:
// <prefix>lead:{<lead_id>}. It is safe for concurrent use.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	spec   *Spec
	script *redis.Script
	sha    any           // boxed once: the hot path builds []any argument lists
	create *redis.Script // create.lua: a new lead's whole state (CreateDirect)
	pool   sync.Pool
}

// NewStore returns a store of spec's state under key prefix in rdb.
func NewStore(rdb redis.UniversalClient, prefix string, spec *Spec) *Store {
	sc := redis.NewScript(applySrc)
	s := &Store{rdb: rdb, prefix: prefix, spec: spec, script: sc, sha: sc.Hash(), create: redis.NewScript(createSrc)}
	s.pool.New = func() any { return &encoder{spec: spec} }
	return s
}

// Spec returns the feature spec the store applies.
func (s *Store) Spec() *Spec { return s.spec }

// Key returns the Redis key of a lead's state. The braces are a Redis Cluster
// hash tag, so every key of one lead lands in one slot.
func (s *Store) Key(leadID string) string { return s.prefix + "lead:{" + leadID + "}" }

// Load loads the store's scripts into Redis (every shard of a cluster).
// Apply and CreateDirect call it by themselves when Redis has lost them.
func (s *Store) Load(ctx context.Context) error {
	if err := s.script.Load(ctx, s.rdb).Err(); err != nil {
		return fmt.Errorf("features: load apply script: %w", err)
	}
	if err := s.create.Load(ctx, s.rdb).Err(); err != nil {
		return fmt.Errorf("features: load create script: %w", err)
	}
	return nil
}

// Apply applies a batch of events to the store in one pipelined round trip
// and returns the ids of the leads that changed. See ApplyChanges.
func (s *Store) Apply(ctx context.Context, batch []Applied) ([]string, error) {
	ch, err := s.ApplyChanges(ctx, batch, nil)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ch))
	for i, c := range ch {
		ids[i] = c.LeadID
	}
	return ids, nil
}

// ApplyChanges applies batch with one script call per lead (more for a lead
// with very many events) in one pipeline, appends a Change per lead that
// changed to dst, and returns it. An event is skipped if the lead's stored
// offset for its partition is at or above the event's offset, so applying a
// batch again, wholly or partly, changes nothing; within a lead, events are
// applied in (partition, offset) order whatever their order in batch.
// Direct events already applied (the Kafka copies of the API's own applies)
// are found by one pipelined read first and cost no script call (skipDone).
// On error some leads may have been applied; retrying the batch is safe.
func (s *Store) ApplyChanges(ctx context.Context, batch []Applied, dst []Change) ([]Change, error) {
	batch, err := s.skipDone(ctx, batch)
	if err != nil || len(batch) == 0 {
		return dst, err
	}
	return s.applyScripts(ctx, batch, dst)
}

// applyScripts is ApplyChanges without the look for applied direct events.
func (s *Store) applyScripts(ctx context.Context, batch []Applied, dst []Change) ([]Change, error) {
	enc := s.pool.Get().(*encoder)
	defer func() {
		enc.release()
		s.pool.Put(enc)
	}()
	enc.encode(batch, s)

	cmds, err := s.exec(ctx, enc)
	if err != nil && isNoScript(cmds) {
		if err = s.Load(ctx); err == nil {
			cmds, err = s.exec(ctx, enc)
		}
	}
	if err != nil {
		return dst, fmt.Errorf("features: apply %d events: %w", len(batch), err)
	}
	return enc.changes(cmds, dst)
}

// changes parses the replies of the encoded calls into dst.
func (enc *encoder) changes(cmds []*redis.Cmd, dst []Change) ([]Change, error) {
	// A lead with very many events spans consecutive calls: merge them.
	var lead string
	var changed bool
	var trig time.Time
	flush := func() {
		if changed {
			dst = append(dst, Change{LeadID: lead, TriggerAt: trig})
		}
	}
	for i, c := range enc.calls {
		ok, t, err := parseReply(cmds[i])
		if err != nil {
			return dst, fmt.Errorf("features: apply lead %s: %w", c.lead, err)
		}
		if i == 0 || c.lead != lead {
			flush()
			lead, changed, trig = c.lead, false, time.Time{}
		}
		changed = changed || ok
		if !t.IsZero() {
			trig = t
		}
	}
	flush()
	return dst, nil
}

func (s *Store) exec(ctx context.Context, enc *encoder) ([]*redis.Cmd, error) {
	pipe := s.rdb.Pipeline()
	cmds := enc.cmds[:0]
	for _, c := range enc.calls {
		cmds = append(cmds, pipe.Do(ctx, enc.args[c.lo:c.hi]...))
	}
	enc.cmds = cmds
	_, err := pipe.Exec(ctx)
	return cmds, err
}

func isNoScript(cmds []*redis.Cmd) bool {
	for _, c := range cmds {
		if err := c.Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			return true
		}
	}
	return false
}

func parseReply(c *redis.Cmd) (changed bool, trig time.Time, err error) {
	v, err := c.Slice()
	if err != nil {
		return false, trig, err
	}
	if len(v) == 0 {
		return false, trig, errors.New("empty reply from apply script")
	}
	n, _ := v[0].(int64)
	if len(v) > 1 {
		// A time the script set is a Lua number (an integer reply); one it
		// only read is the stored string.
		switch ts := v[1].(type) {
		case int64:
			trig = time.UnixMilli(ts).UTC()
		case string:
			if ms, err := strconv.ParseFloat(ts, 64); err == nil {
				trig = time.UnixMilli(int64(ms)).UTC()
			}
		}
	}
	return n == 1, trig, nil
}

// Get returns a lead's state; an unknown lead has an empty state.
func (s *Store) Get(ctx context.Context, leadID string) (State, error) {
	m, err := s.rdb.HGetAll(ctx, s.Key(leadID)).Result()
	if err != nil {
		return nil, fmt.Errorf("features: get lead %s: %w", leadID, err)
	}
	return State(m), nil
}

// Offsets returns the last offset applied to a lead, per Kafka partition.
func (s *Store) Offsets(ctx context.Context, leadID string) (map[int]int64, error) {
	st, err := s.Get(ctx, leadID)
	if err != nil {
		return nil, err
	}
	return StateOffsets(st), nil
}

// StateOffsets returns the applied offsets recorded in a lead's state.
func StateOffsets(st State) map[int]int64 {
	out := map[int]int64{}
	for f, v := range st {
		p, ok := strings.CutPrefix(f, "_o:")
		if !ok {
			continue
		}
		pi, err1 := strconv.Atoi(p)
		o, err2 := strconv.ParseFloat(v, 64)
		if err1 == nil && err2 == nil {
			out[pi] = int64(o)
		}
	}
	return out
}

// sortBatch orders batch indices by lead, then partition and offset; equal
// positions keep their batch order, so a duplicate is seen and skipped.
func sortBatch(idx []int32, batch []Applied) {
	slices.SortStableFunc(idx, func(a, b int32) int {
		x, y := &batch[a], &batch[b]
		return cmp.Or(strings.Compare(x.Event.LeadID, y.Event.LeadID),
			cmp.Compare(x.Partition, y.Partition), cmp.Compare(x.Offset, y.Offset))
	})
}

// reportAll returns dst plus a Change, with the trigger time stored now, for
// every lead of batch that dst does not name.
func (s *Store) reportAll(ctx context.Context, batch []Applied, dst []Change) ([]Change, error) {
	out := slices.Clone(dst)
	seen := map[string]bool{}
	for _, c := range dst {
		seen[c.LeadID] = true
	}
	var leads []string
	for _, a := range batch {
		if id := a.Event.LeadID; !seen[id] {
			seen[id] = true
			leads = append(leads, id)
		}
	}
	if len(leads) == 0 {
		return out, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(leads))
	for i, id := range leads {
		cmds[i] = pipe.HGet(ctx, s.Key(id), s.spec.last[gIntent].name)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return dst, fmt.Errorf("features: read the triggers of %d leads: %w", len(leads), err)
	}
	for i, id := range leads {
		c := Change{LeadID: id}
		if ms, err := strconv.ParseFloat(cmds[i].Val(), 64); err == nil {
			c.TriggerAt = time.UnixMilli(int64(ms)).UTC()
		}
		out = append(out, c)
	}
	return out, nil
}
