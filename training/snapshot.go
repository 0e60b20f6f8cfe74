package training

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/features"
)

// Outcome classes, by strength: a stronger label replaces a weaker one on
// the same snapshot, never the reverse, so labels commute.
const (
	classNone    = 0 // not a training outcome (no_answer, callback, …)
	classPending = 1 // negative only if nothing positive follows within the horizon
	classNeg     = 2 // a final negative
	classPos     = 3
)

// SnapshotConfig configures Snapshots; zero fields take the defaults.
type SnapshotConfig struct {
	Prefix string // Redis key prefix, e.g. "lq:"
	// Horizon is how long after a snapshot an outcome still labels it, and
	// the age at which an unlabelled snapshot counts as negative; default 30 days.
	Horizon   time.Duration
	Retention time.Duration // how long a day of snapshots is kept; default 180 days
	MaxPerDay int64         // snapshots kept per UTC day (approximately); default 500,000
	// Positive, Negative and Pending list outcome names (lower case). Pending
	// outcomes (attempts exhausted) are negative only once the horizon has
	// passed without a positive one. Defaults: see DefaultOutcomes.
	Positive, Negative, Pending []string
	Now                         func() time.Time
}

// DefaultOutcomes returns the default positive, negative and pending outcomes.
func DefaultOutcomes() (positive, negative, pending []string) {
	return []string{"meeting_booked", "sql_accepted", "accepted", "converted"},
		[]string{"disqualified", "rejected"},
		[]string{"attempts_exhausted", "exhausted"}
}

func (c SnapshotConfig) withDefaults() SnapshotConfig {
	c.Horizon = cmpOr(c.Horizon, 30*24*time.Hour)
	c.Retention = cmpOr(c.Retention, 180*24*time.Hour)
	c.MaxPerDay = cmpOr(c.MaxPerDay, 500_000)
	pos, neg, pend := DefaultOutcomes()
	if c.Positive == nil && c.Negative == nil && c.Pending == nil {
		c.Positive, c.Negative, c.Pending = pos, neg, pend
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Snapshots records the feature vector a lead had when the service surfaced
// it (a claim or a form score) and labels it with the outcome that followed:
// point-in-time training rows, never features computed after the outcome.
// Keys, under the prefix P (day = UTC yyyymmdd of the snapshot):
//
//	P snap:d:<day>       stream, one entry per snapshot: id, lead, at (ms),
//	                     via, spec (version), n and c (the vector); capped at
//	                     MaxPerDay, expires Retention after the day
//	P snap:y:<day>       hash id → "<class>|<outcome>|<ms>": labels of that day
//	P snap:l:{<lead>}    sorted set "<day>/<id>" by time: a lead's snapshots
//	                     within the horizon, for Label
type Snapshots struct {
	rdb   redis.UniversalClient
	spec  *features.Spec
	cfg   SnapshotConfig
	class map[string]int
}

// NewSnapshots returns the snapshot store of spec's vectors in rdb.
func NewSnapshots(rdb redis.UniversalClient, spec *features.Spec, cfg SnapshotConfig) (*Snapshots, error) {
	cfg = cfg.withDefaults()
	if cfg.Horizon <= 0 || cfg.Retention < cfg.Horizon || cfg.MaxPerDay <= 0 {
		return nil, fmt.Errorf("training: snapshots: need Horizon > 0, Retention ≥ Horizon and MaxPerDay > 0")
	}
	s := &Snapshots{rdb: rdb, spec: spec, cfg: cfg, class: map[string]int{}}
	for class, names := range map[int][]string{classPos: cfg.Positive, classNeg: cfg.Negative, classPending: cfg.Pending} {
		for _, n := range names {
			if _, dup := s.class[n]; dup {
				return nil, fmt.Errorf("training: snapshots: outcome %q is in two classes", n)
			}
			s.class[n] = class
		}
	}
	return s, nil
}

// Horizon returns the labelling horizon.
func (s *Snapshots) Horizon() time.Duration { return s.cfg.Horizon }

func (s *Snapshots) dayKey(day string) string   { return s.cfg.Prefix + "snap:d:" + day }
func (s *Snapshots) labelKey(day string) string { return s.cfg.Prefix + "snap:y:" + day }
func (s *Snapshots) leadKey(lead string) string { return s.cfg.Prefix + "snap:l:{" + lead + "}" }

func dayOf(t time.Time) string { return t.UTC().Format("20060102") }

// Record snapshots st's feature vector at time at, the moment the lead was
// surfaced; via says how ("claim", "form").
func (s *Snapshots) Record(ctx context.Context, leadID, via string, st features.State, at time.Time) error {
	num := make([]float64, len(s.spec.NumNames()))
	cat := make([]string, len(s.spec.CatNames()))
	s.spec.Extract(st, at, num, cat)
	return s.RecordVector(ctx, leadID, via, num, cat, at)
}

// RecordVector is Record for a vector already extracted in the spec's order.
func (s *Snapshots) RecordVector(ctx context.Context, leadID, via string, num []float64, cat []string, at time.Time) error {
	if err := s.check(leadID, num, cat); err != nil {
		return err
	}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		s.queueRecord(ctx, p, snapID(), leadID, via, num, cat, at, true)
		return nil
	})
	if err != nil {
		return fmt.Errorf("training: snapshot of %s: %w", leadID, err)
	}
	return nil
}

// check rejects a vector that does not fit the spec, before anything is written.
func (s *Snapshots) check(leadID string, num []float64, cat []string) error {
	if len(num) != len(s.spec.NumNames()) || len(cat) != len(s.spec.CatNames()) {
		return fmt.Errorf("training: snapshot of %s: %d+%d values, spec %s has %d+%d", leadID,
			len(num), len(cat), s.spec.Version, len(s.spec.NumNames()), len(s.spec.CatNames()))
	}
	if leadID == "" {
		return errors.New("training: snapshot without a lead id")
	}
	return nil
}

// queueRecord adds one checked snapshot's commands to p, so a batch of
// snapshots (SnapshotWriter) costs one round trip. The first is the XADD;
// expireDay says to (re)set the day stream's expiry, which a batch needs
// once per day, not per snapshot.
func (s *Snapshots) queueRecord(ctx context.Context, p redis.Pipeliner, id, leadID, via string, num []float64, cat []string, at time.Time, expireDay bool) {
	day, ms := dayOf(at), at.UnixMilli()
	dayEnd := at.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	lk := s.leadKey(leadID)
	p.XAdd(ctx, &redis.XAddArgs{
		Stream: s.dayKey(day), MaxLen: s.cfg.MaxPerDay, Approx: true,
		Values: []any{"id", id, "lead", leadID, "at", ms, "via", via, "spec", s.spec.Version,
			"n", encodeNums(num), "c", strings.Join(cat, catSep)},
	})
	if expireDay {
		p.ExpireAt(ctx, s.dayKey(day), dayEnd.Add(s.cfg.Retention))
	}
	p.ZAdd(ctx, lk, redis.Z{Score: float64(ms), Member: day + "/" + id})
	// Older snapshots can no longer be labelled: the index stays small.
	p.ZRemRangeByScore(ctx, lk, "-inf", "("+strconv.FormatInt(ms-s.cfg.Horizon.Milliseconds(), 10))
	p.PExpire(ctx, lk, s.cfg.Horizon+24*time.Hour)
}

// snapID is a snapshot's random id. A write retried after Redis had applied
// it adds a second stream entry with the same id, which Dataset reads once.
func snapID() string { return strconv.FormatUint(rand.Uint64(), 36) }

// catSep joins categorical values; vocabulary values never contain it.
const catSep = "\x1f"

func encodeNums(num []float64) string {
	b := make([]byte, 0, 8*len(num))
	for i, v := range num {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
	}
	return string(b)
}

// labelScript sets each ARGV[2..] id's label to ARGV[1] unless it already has
// a stronger class (the first character). KEYS: the day's label hash.
// ARGV[#ARGV] is the hash's expiry in ms.
var labelScript = redis.NewScript(`
local rank = tonumber(string.sub(ARGV[1], 1, 1))
local n = 0
for i = 2, #ARGV - 1 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if not cur or tonumber(string.sub(cur, 1, 1)) < rank then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[1])
    n = n + 1
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[#ARGV])
return n`)

// Label applies an outcome that happened at time at to every snapshot of the
// lead taken within the horizon before it, and returns how many it labelled
// now. Outcomes that are not training labels (no_answer, callback, …) label
// nothing. Labelling is idempotent and order-independent: positive beats
// negative beats pending, whatever came first.
func (s *Snapshots) Label(ctx context.Context, leadID, outcome string, at time.Time) (int, error) {
	outcome = strings.ToLower(strings.TrimSpace(outcome))
	class := s.class[outcome]
	if class == classNone {
		return 0, nil
	}
	ms := at.UnixMilli()
	members, err := s.rdb.ZRangeByScore(ctx, s.leadKey(leadID), &redis.ZRangeBy{
		Min: strconv.FormatInt(ms-s.cfg.Horizon.Milliseconds(), 10), Max: strconv.FormatInt(ms, 10),
	}).Result()
	if err != nil {
		return 0, fmt.Errorf("training: label %s: %w", leadID, err)
	}
	byDay := map[string][]any{}
	for _, m := range members {
		day, id, ok := strings.Cut(m, "/")
		if ok {
			byDay[day] = append(byDay[day], id)
		}
	}
	label := fmt.Sprintf("%d|%s|%d", class, outcome, ms)
	n := 0
	for day, ids := range byDay {
		ttl := time.Until(s.dayEnd(day).Add(s.cfg.Retention)).Milliseconds()
		args := append(append([]any{label}, ids...), max(ttl, 1))
		k, err := labelScript.Run(ctx, s.rdb, []string{s.labelKey(day)}, args...).Int()
		if err != nil {
			return n, fmt.Errorf("training: label %s: %w", leadID, err)
		}
		n += k
	}
	return n, nil
}

func (s *Snapshots) dayEnd(day string) time.Time {
	t, err := time.Parse("20060102", day)
	if err != nil {
		return s.cfg.Now()
	}
	return t.Add(24 * time.Hour)
}
