package queue

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// MaxPeek is the largest limit Peek accepts.
const MaxPeek = 10000

// Peek returns up to limit leads of the pools in descending priority at now,
// without claiming them.
func (q *Queue) Peek(ctx context.Context, pools []string, limit int, now time.Time) ([]Item, error) {
	if limit < 1 || limit > MaxPeek {
		return nil, fmt.Errorf("%w: limit %d not in 1..%d", ErrInvalid, limit, MaxPeek)
	}
	cmds, err := q.perPool(ctx, scriptPeek, pools, []any{ftoa(q.sec(now)), limit})
	if err != nil {
		return nil, fmt.Errorf("queue peek: %w", err)
	}
	type ranked struct {
		Item
		lp float64 // log priority as the script ordered it
	}
	var all []ranked
	for i, cmd := range cmds {
		r, err := cmd.Slice()
		if err != nil {
			return nil, fmt.Errorf("queue peek %s: %w", pools[i], err)
		}
		at := q.at(r[0].(string))
		for _, x := range r[1:] {
			v := x.([]any)
			s := func(i int) string { s, _ := v[i].(string); return s }
			// v: pool#, id, segment, p, t, attempts, breached, log priority
			it := q.item(pools[i], s(1), int(v[2].(int64)), s(3), s(4), s(5), at)
			it.SLABreached = s(6) == "1"
			all = append(all, ranked{it, atof(s(7))})
		}
	}
	// Each pool's list is already in order; a stable sort merges them.
	slices.SortStableFunc(all, func(a, b ranked) int { return cmp.Compare(b.lp, a.lp) })
	items := make([]Item, 0, min(limit, len(all)))
	for _, r := range all[:min(limit, len(all))] {
		items = append(items, r.Item)
	}
	return items, nil
}

// Tick applies every event due by now in the pools (segment crossings, ends
// of snoozes and leases, SLA deadlines) and returns how many it applied.
// Pulls do this themselves, so the order is exact without it; calling it
// every second keeps each pull's share small and surfaces SLA breaches promptly.
func (q *Queue) Tick(ctx context.Context, pools []string, now time.Time) (int, error) {
	cmds, err := q.perPool(ctx, scriptTick, pools, []any{ftoa(q.sec(now))})
	if err != nil {
		return 0, fmt.Errorf("queue tick: %w", err)
	}
	n := 0
	for i, cmd := range cmds {
		k, err := cmd.Int()
		if err != nil {
			return n, fmt.Errorf("queue tick %s: %w", pools[i], err)
		}
		n += k
	}
	return n, nil
}

// perPool runs a per-pool script once for each pool, pipelined: every call
// stays on its pool's Cluster slot.
func (q *Queue) perPool(ctx context.Context, s *redis.Script, pools []string, args []any) ([]*redis.Cmd, error) {
	if _, _, err := q.poolArgs(pools, nil); err != nil {
		return nil, err
	}
	return evalPipelined(ctx, q.rdb, s, len(pools), func(i int) ([]string, []any) {
		return []string{q.poolKey(pools[i]) + "clk"}, append(slices.Clip(args), q.profileOf(pools[i])...)
	})
}

// evalPipelined runs n calls of a script in one pipeline by its SHA, loading
// the script and retrying once if Redis does not know it (first use, restart).
func evalPipelined(ctx context.Context, rdb redis.UniversalClient, s *redis.Script, n int, call func(i int) ([]string, []any)) ([]*redis.Cmd, error) {
	for attempt := 0; ; attempt++ {
		pipe := rdb.Pipeline()
		cmds := make([]*redis.Cmd, n)
		for i := range n {
			keys, args := call(i)
			cmds[i] = s.EvalSha(ctx, pipe, keys, args...)
		}
		_, err := pipe.Exec(ctx)
		if err != nil && attempt == 0 && redis.HasErrorPrefix(err, "NOSCRIPT") {
			if err := s.Load(ctx, rdb).Err(); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		return cmds, nil
	}
}

// poolArgs validates pools and appends their clock keys and profiles.
func (q *Queue) poolArgs(pools []string, args []any) ([]string, []any, error) {
	if len(pools) == 0 {
		return nil, nil, fmt.Errorf("%w: at least one pool", ErrInvalid)
	}
	keys := make([]string, 0, len(pools))
	for i, p := range pools {
		if err := validPool(p); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		if slices.Contains(pools[:i], p) {
			return nil, nil, fmt.Errorf("%w: pool %q listed twice", ErrInvalid, p)
		}
		keys = append(keys, q.poolKey(p)+"clk")
		args = append(args, q.profileOf(p)...)
	}
	return keys, args, nil
}

// State is one lead as the queue sees it.
type State struct {
	LeadID, Pool   string
	State          string
	P              float64
	TriggerAt      time.Time
	Attempts       int
	Segment        int       // while queued, else -1
	NotBefore      time.Time // while scheduled
	NurtureUntil   time.Time // while in nurture
	SDRID          string    // while claimed
	LeaseExpiresAt time.Time // while claimed
	FirstAttemptAt time.Time // first claim since the latest trigger; zero if none yet
	SLADueAt       time.Time // trigger (or the next calling-hours opening after it) + SLA
	SLABreached    bool
	LastOutcome    string
	LastOutcomeAt  time.Time
	Reason         string // last closed-loop reason
	Recycled       int    // leases that expired on this lead
}

// Get returns a lead's state in a pool, or ErrNotFound.
func (q *Queue) Get(ctx context.Context, pool, leadID string, now time.Time) (State, error) {
	if err := validPool(pool); err != nil {
		return State{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	args := append([]any{ftoa(q.sec(now)), leadID}, q.profileOf(pool)...)
	r, err := scriptState.Run(ctx, q.rdb, []string{q.poolKey(pool) + "clk"}, args...).StringSlice()
	if err != nil {
		return State{}, fmt.Errorf("queue get %s: %w", leadID, err)
	}
	if len(r) <= 2 {
		return State{}, ErrNotFound
	}
	f := make(map[string]string, len(r)/2)
	for i := 0; i+1 < len(r); i += 2 {
		f[r[i]] = r[i+1]
	}
	tm := func(k string) time.Time {
		if f[k] == "" {
			return time.Time{}
		}
		return q.at(f[k])
	}
	st := State{
		LeadID: leadID, Pool: pool, State: stateNames[f["st"]], P: atof(f["p"]),
		TriggerAt: tm("t"), Attempts: atoi(f["a"]), Segment: -1,
		NotBefore: tm("nb"), NurtureUntil: tm("nu"), SDRID: f["sdr"], LeaseExpiresAt: tm("lease"),
		FirstAttemptAt: tm("fa"), SLABreached: f["br"] == "1",
		LastOutcome: f["lo"], LastOutcomeAt: tm("lot"), Reason: f["rsn"], Recycled: atoi(f["rc"]),
	}
	start := st.TriggerAt
	if f["ss"] != "" { // the SLA clock started at a calling-hours opening (arm in common.lua)
		start = tm("ss")
	}
	st.SLADueAt = start.Add(q.cfg.SLA)
	if f["st"] == "q" {
		st.Segment = atoi(f["seg"])
	}
	return st, nil
}

// RepStats is a rep's load: open claims now and leases they let expire.
type RepStats struct {
	Open    int64
	Expired int64 // in the given pools, counted when the lead was recycled
}

// Rep returns a rep's open claims and expired leases in the given pools.
func (q *Queue) Rep(ctx context.Context, sdrID string, pools []string, now time.Time) (RepStats, error) {
	if err := validID("sdr_id", sdrID); err != nil {
		return RepStats{}, err
	}
	pipe := q.rdb.Pipeline()
	open := pipe.ZCount(ctx, q.repKey(sdrID)+"cl", "("+ftoa(q.sec(now)), "+inf")
	exp := make([]interface{ Int64() (int64, error) }, 0, len(pools))
	for _, p := range pools {
		if err := validPool(p); err != nil {
			return RepStats{}, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		exp = append(exp, pipe.HGet(ctx, q.poolKey(p)+"exp", sdrID))
	}
	_, _ = pipe.Exec(ctx) // a missing hash field is redis.Nil; read each result below
	var rs RepStats
	var err error
	if rs.Open, err = open.Result(); err != nil {
		return RepStats{}, fmt.Errorf("queue rep %s: %w", sdrID, err)
	}
	for _, e := range exp {
		n, _ := e.Int64()
		rs.Expired += n
	}
	return rs, nil
}
