package queue

import (
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Errors callers tell apart; the API layer maps them to status codes.
var (
	ErrEmpty       = errors.New("queue: no eligible lead")
	ErrRepAtCap    = errors.New("queue: rep holds as many open claims as allowed")
	ErrRepDailyCap = errors.New("queue: rep reached the daily claim limit")
	ErrStaleClaim  = errors.New("queue: claim is unknown, expired or not this rep's")
	ErrNotFound    = errors.New("queue: lead not in this pool")
	ErrInvalid     = errors.New("queue: invalid argument")
)

// Lifecycle states of a lead in the queue.
const (
	StateQueued    = "queued"    // eligible, ranked
	StateScheduled = "scheduled" // waiting for its next attempt (retry spacing or callback)
	StateClaimed   = "claimed"   // leased to a rep
	StateNurture   = "nurture"   // out of the active queue: attempts exhausted, too old or not ready
	StateMeeting   = "meeting"   // meeting booked: converted
	StateClosed    = "closed"    // disqualified or unreachable
	// StateNurtureExpired: nurture ended without a new trigger; out of the
	// queue until one comes (a later trigger still re-heats the lead).
	StateNurtureExpired = "nurture_expired"
)

var stateNames = map[string]string{
	"q": StateQueued, "s": StateScheduled, "c": StateClaimed,
	"n": StateNurture, "m": StateMeeting, "x": StateClosed, "e": StateNurtureExpired,
}

//go:embed lua/common.lua
var luaShared string

// luaCommon starts every script: the dashboard counters (stats.lua, see
// stats.go) and the shared helpers, which call them.
var luaCommon = luaStats + luaShared

//go:embed lua/upsert.lua
var luaUpsert string

//go:embed lua/remove.lua
var luaRemove string

//go:embed lua/state.lua
var luaState string

//go:embed lua/next.lua
var luaNext string

//go:embed lua/claim.lua
var luaClaim string

//go:embed lua/peek.lua
var luaPeek string

//go:embed lua/tick.lua
var luaTick string

// Every script carries the shared helpers, so each is one EVALSHA.
var (
	scriptUpsert = redis.NewScript(luaCommon + luaUpsert)
	scriptRemove = redis.NewScript(luaCommon + luaRemove)
	scriptState  = redis.NewScript(luaCommon + luaState)
	scriptNext   = redis.NewScript(luaCommon + luaNext)
	scriptClaim  = redis.NewScript(luaCommon + luaClaim)
	scriptPeek   = redis.NewScript(luaCommon + luaPeek)
	scriptTick   = redis.NewScript(luaCommon + luaTick)
)

// Queue is the call queue in Redis; safe for concurrent use by many replicas.
type Queue struct {
	rdb      redis.UniversalClient
	cfg      Config
	defaults []any            // profile arguments of pools without their own policy
	profiles map[string][]any // profile arguments of pools with their own policy
	m        *metrics
}

// New returns a queue over rdb with a validated config.
func New(rdb redis.UniversalClient, cfg Config) (*Queue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("queue config: %w", err)
	}
	q := &Queue{rdb: rdb, cfg: cfg, profiles: map[string][]any{}, m: newMetrics(cfg.SLA)}
	q.defaults = q.profileArgs(cfg.Profile)
	for name, p := range cfg.Pools {
		q.profiles[name] = q.profileArgs(p)
	}
	return q, nil
}

// Config returns the queue's configuration.
func (q *Queue) Config() Config { return q.cfg }

// profileArgs encodes a policy once, as the single msgpack array of doubles
// that lua/common.lua's profile reads.
func (q *Queue) profileArgs(p Profile) []any {
	segs := p.Curve.Segments()
	v := []float64{float64(len(segs)), p.Curve.Horizon().Seconds(), q.cfg.Lease.Seconds(),
		q.cfg.Nurture.Seconds(), q.cfg.SLA.Seconds(), float64(p.MaxAttempts), 0, 0, 0, float64(q.cfg.Epoch.UnixNano()) / 1e9}
	if p.Hours != nil {
		v[6], v[7], v[8] = p.Hours.Start.Seconds(), p.Hours.End.Seconds(), float64(p.Hours.mask())
	}
	for _, s := range segs {
		// off = log C_k + λ_k·s_k: the part of the shared term that does not move.
		v = append(v, s.Start.Seconds(), s.Rate, math.Log(s.Value)+s.Rate*s.Start.Seconds())
	}
	v = append(v, float64(len(p.AttemptFactors)))
	for _, f := range p.AttemptFactors {
		v = append(v, math.Log(f))
	}
	v = append(v, float64(len(p.RetrySpacing)))
	for _, d := range p.RetrySpacing {
		v = append(v, d.Seconds())
	}
	b := append([]Budget(nil), p.Budgets...)
	sort.Slice(b, func(i, j int) bool { return b[i].MinP > b[j].MinP })
	v = append(v, float64(len(b)))
	for _, x := range b {
		v = append(v, x.MinP, float64(x.MaxAttempts))
	}
	return []any{msgpackFloats(v)}
}

// msgpackFloats encodes an array of float64 in msgpack (array 16, float 64).
func msgpackFloats(v []float64) string {
	b := make([]byte, 3, 3+9*len(v))
	b[0] = 0xdc
	binary.BigEndian.PutUint16(b[1:], uint16(len(v)))
	for _, f := range v {
		b = append(b, 0xcb)
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(f))
	}
	return string(b)
}

func (q *Queue) profileOf(pool string) []any {
	if a, ok := q.profiles[pool]; ok {
		return a
	}
	return q.defaults
}

// Lead is what the queue needs to rank a lead.
type Lead struct {
	ID, Pool  string
	P         float64   // calibrated probability of converting if reached
	TriggerAt time.Time // latest high-intent trigger; a later one re-heats the lead
	// Attempts and NotBefore seed a lead new to the queue (imports, replays);
	// for a known lead the queue's own cadence wins.
	Attempts  int
	NotBefore time.Time
	Source    string // optional, for reason counts per source
	// Timezone (IANA name, e.g. "Europe/Berlin") enables calling hours for
	// the lead; empty or unknown means the lead's local time is unknown. Its
	// UTC offset is taken at each Upsert (a DST change applies from then on).
	Timezone string
}

// Placement says where Upsert put a lead.
type Placement struct {
	State    string
	Segment  int     // curve segment while queued, else -1
	Priority float64 // current priority while queued, else 0
}

// Upsert places a new lead or re-places a known one (new score, re-heat).
// A lead moving to another pool must be removed from the old one first.
func (q *Queue) Upsert(ctx context.Context, l Lead, now time.Time) (Placement, error) {
	keys, args, err := q.upsertArgs(l, now)
	if err != nil {
		return Placement{}, err
	}
	r, err := scriptUpsert.Run(ctx, q.rdb, keys, args...).StringSlice()
	if err != nil {
		return Placement{}, fmt.Errorf("queue upsert %s: %w", l.ID, err)
	}
	return q.placement(l, r), nil
}

// UpsertIn is Upsert queued on a caller's pipeline or transaction, so the
// placement shares the caller's round trip (a form's new lead); read the
// placement with the returned function once pipe ran. It calls the script by
// its hash only: on a NOSCRIPT error, call Upsert (which loads it).
func (q *Queue) UpsertIn(ctx context.Context, pipe redis.Pipeliner, l Lead, now time.Time) (func() (Placement, error), error) {
	keys, args, err := q.upsertArgs(l, now)
	if err != nil {
		return nil, err
	}
	cmd := scriptUpsert.EvalSha(ctx, pipe, keys, args...)
	return func() (Placement, error) {
		r, err := cmd.StringSlice()
		if err != nil {
			return Placement{}, fmt.Errorf("queue upsert %s: %w", l.ID, err)
		}
		return q.placement(l, r), nil
	}, nil
}

// placement reads upsert.lua's reply.
func (q *Queue) placement(l Lead, r []string) Placement {
	pl := Placement{State: stateNames[r[0]], Segment: -1}
	if r[0] == "q" {
		pl.Segment = atoi(r[1])
		pl.Priority = q.item(l.Pool, l.ID, pl.Segment, r[2], r[3], r[4], q.at(r[5])).Priority
	}
	return pl
}

// UpsertBatch upserts many leads in pipelined round trips of batch size 1000:
// imports and replays. For new probabilities of leads the queue holds (after
// a model change), Rescore does the same work several times cheaper.
func (q *Queue) UpsertBatch(ctx context.Context, leads []Lead, now time.Time) error {
	const batch = 1000
	keys := make([][]string, batch)
	args := make([][]any, batch)
	for start := 0; start < len(leads); start += batch {
		n := min(batch, len(leads)-start)
		for i, l := range leads[start : start+n] {
			var err error
			if keys[i], args[i], err = q.upsertArgs(l, now); err != nil {
				return err
			}
		}
		_, err := evalPipelined(ctx, q.rdb, scriptUpsert, n, func(i int) ([]string, []any) { return keys[i], args[i] })
		if err != nil {
			return fmt.Errorf("queue upsert batch: %w", err)
		}
	}
	return nil
}

func (q *Queue) upsertArgs(l Lead, now time.Time) ([]string, []any, error) {
	args := make([]any, 1, 9)
	args[0] = ftoa(q.sec(now))
	args, err := q.appendLead(args, l, now)
	if err != nil {
		return nil, nil, err
	}
	return []string{q.poolKey(l.Pool) + "clk"}, append(args, q.profileOf(l.Pool)...), nil
}

// appendLead validates l and appends the seven strings upsert.lua takes per
// lead: id, p, t, attempts, not-before, source, UTC offset.
func (q *Queue) appendLead(args []any, l Lead, now time.Time) ([]any, error) {
	tzo, err := q.checkLead(l, now)
	if err != nil {
		return nil, err
	}
	nb := ""
	if !l.NotBefore.IsZero() {
		nb = ftoa(q.sec(l.NotBefore))
	}
	return append(args, l.ID, ftoa(max(l.P, minP)), ftoa17(q.sec(l.TriggerAt)), l.Attempts, nb, l.Source, tzo), nil
}

// appendRescored validates l and appends the five strings rescore.lua takes
// per lead: appendLead's but attempts and not-before, which only a lead
// the pool does not hold would need, and rescore leaves those alone.
func (q *Queue) appendRescored(args []any, l Lead, now time.Time) ([]any, error) {
	tzo, err := q.checkLead(l, now)
	if err != nil {
		return nil, err
	}
	return append(args, l.ID, ftoa(max(l.P, minP)), ftoa17(q.sec(l.TriggerAt)), l.Source, tzo), nil
}

// checkLead validates l and returns its UTC offset at now as text ("" when
// its time zone is unknown).
func (q *Queue) checkLead(l Lead, now time.Time) (string, error) {
	if err := validPool(l.Pool); err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := validLeadID(l.ID); err != nil {
		return "", err
	}
	if l.TriggerAt.IsZero() || l.Attempts < 0 {
		return "", fmt.Errorf("%w: lead %q needs a trigger time and attempts ≥ 0", ErrInvalid, l.ID)
	}
	if err := validP(l.P); err != nil {
		return "", err
	}
	if loc := location(l.Timezone); loc != nil {
		_, off := now.In(loc).Zone()
		return strconv.Itoa(off), nil
	}
	return "", nil
}

// Remove takes a lead out of a pool, ending any open claim on it. Timed
// events due by now are applied first (an expired lease is charged to its
// rep, a passed SLA deadline raised), as every other call does.
func (q *Queue) Remove(ctx context.Context, pool, leadID string, now time.Time) error {
	if err := validPool(pool); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	args := append([]any{leadID}, q.profileOf(pool)...)
	args = append(args, ftoa(q.sec(now)))
	r, err := scriptRemove.Run(ctx, q.rdb, []string{q.poolKey(pool) + "clk"}, args...).StringSlice()
	if err != nil {
		return fmt.Errorf("queue remove %s: %w", leadID, err)
	}
	if r[0] == "none" {
		return ErrNotFound
	}
	if r[1] != "" && r[2] != "" {
		// The rep's ledger lives under the rep's hash tag, so it is cleared
		// in a second step; until then it only over-counts, never under.
		if err := q.rdb.ZRem(ctx, q.repKey(r[2])+"cl", r[1]).Err(); err != nil {
			return fmt.Errorf("queue remove %s: clear claim: %w", leadID, err)
		}
	}
	return nil
}

// Item is one ranked lead with the parts of its priority.
type Item struct {
	LeadID, Pool  string
	Priority      float64 // P × ContactFactor × AttemptFactor
	P             float64
	ContactFactor float64 // c(age)
	AttemptFactor float64 // a(attempts)
	AgeSeconds    float64 // since the latest trigger
	Segment       int     // piece of the contact curve the age falls in
	Attempts      int
	SLABreached   bool
}

// item builds an Item from the stored fields at the script's instant now.
func (q *Queue) item(pool, id string, seg int, p, t, a string, now time.Time) Item {
	prof := q.cfg.profile(pool)
	it := Item{LeadID: id, Pool: pool, Segment: seg, P: atof(p), Attempts: atoi(a)}
	age := now.Sub(q.at(t))
	it.AgeSeconds = age.Seconds()
	it.ContactFactor = prof.Curve.Value(age)
	it.AttemptFactor = prof.AttemptFactor(it.Attempts)
	it.Priority = it.P * it.ContactFactor * it.AttemptFactor
	return it
}

// sec converts a time to seconds since the epoch, the unit of every stored time.
func (q *Queue) sec(t time.Time) float64 { return float64(t.Sub(q.cfg.Epoch)) / 1e9 }

// at converts stored seconds since the epoch back to a time.
func (q *Queue) at(s string) time.Time {
	return q.cfg.Epoch.Add(time.Duration(math.Round(atof(s) * 1e9)))
}

// locations caches time zones: LoadLocation reads the zoneinfo database.
var locations sync.Map // name -> *time.Location, or nil for unknown names

// location returns the named time zone, or nil if the name is empty or unknown.
func location(name string) *time.Location {
	if name == "" {
		return nil
	}
	if v, ok := locations.Load(name); ok {
		loc, _ := v.(*time.Location)
		return loc
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		locations.Store(name, nil)
		return nil
	}
	locations.Store(name, loc)
	return loc
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// ftoa17 spells f as lua/common.lua's fmt does (C's %.17g: Go's 'g' with
// precision 17 gives the same bytes), so a script can compare a trigger time
// it is sent with the one it stored as text, without parsing either.
func ftoa17(f float64) string { return strconv.FormatFloat(f, 'g', 17, 64) }

func atof(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
