package model

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Registry errors; the API maps them to status codes.
var (
	ErrNoVersion       = errors.New("model: no such model version")
	ErrVersionExists   = errors.New("model: version already registered")
	ErrNotBetter       = errors.New("model: challenger does not beat the champion by the margin")
	ErrHoldoutMismatch = errors.New("model: champion and challenger were not evaluated on the same holdout")
	ErrNoChampion      = errors.New("model: no champion to roll back from")
)

// HistoryCap is how many earlier champions the registry keeps for rollback.
const HistoryCap = 100

// Registry keeps every model version in Redis and decides which one is the
// champion that every replica serves. Keys, under the prefix P:
//
//	P model:v:<version>  hash: artifact, card (JSON), created (unix ms), auc,
//	                     holdout, and eval:<holdout> = AUC on that holdout
//	P model:versions     sorted set of versions by creation time (ms)
//	P model:champion     string: the champion's version; absent = the prior
//	P model:history      list of earlier champions, newest first (rollback)
//
// Promotion and rollback are Lua scripts (atomic) that publish an Event on
// the channel P model:events. The scripts read the champion's hash by a key
// they build, so the registry needs a single Redis (or a prefix with a
// Redis Cluster hash tag such as "lq:{model}:").
type Registry struct {
	rdb    redis.UniversalClient
	prefix string
}

// Event is the message published on Channel when the champion changes.
type Event struct {
	Kind     string `json:"event"`    // "promote" or "rollback"
	Version  string `json:"version"`  // the new champion; "prior" for none
	Previous string `json:"previous"` // the champion it replaced; "prior" for none
}

// Entry is one registered version as Versions lists it.
type Entry struct {
	Version   string    `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	Champion  bool      `json:"champion"`
	Card      *Card     `json:"card"`
}

// NewRegistry returns the registry stored under prefix (e.g. "lq:") in rdb.
func NewRegistry(rdb redis.UniversalClient, prefix string) *Registry {
	return &Registry{rdb: rdb, prefix: prefix}
}

func (r *Registry) versionKey(v string) string { return r.prefix + "model:v:" + v }
func (r *Registry) versionsKey() string        { return r.prefix + "model:versions" }
func (r *Registry) championKey() string        { return r.prefix + "model:champion" }
func (r *Registry) historyKey() string         { return r.prefix + "model:history" }

// Channel is the pub/sub channel promotions and rollbacks are announced on.
func (r *Registry) Channel() string { return r.prefix + "model:events" }

var registerScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'artifact', ARGV[3], 'card', ARGV[4], 'created', ARGV[2], 'auc', ARGV[5], 'holdout', ARGV[6])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'eval:' .. ARGV[6], ARGV[5]) end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1`)

// Register stores a new version with its card. A version is immutable:
// registering it twice is ErrVersionExists. It does not change the champion.
func (r *Registry) Register(ctx context.Context, a *Artifact, c *Card) error {
	if c == nil || c.Version != a.Version {
		return fmt.Errorf("model: register %s: the card must describe the same version", a.Version)
	}
	if _, err := Compile(a); err != nil {
		return fmt.Errorf("model: register %s: %w", a.Version, err)
	}
	art, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("model: register %s: %w", a.Version, err)
	}
	card, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("model: register %s: %w", a.Version, err)
	}
	created := c.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	n, err := registerScript.Run(ctx, r.rdb, []string{r.versionKey(a.Version), r.versionsKey()},
		a.Version, created.UnixMilli(), art, card, fmtFloat(c.Metrics.AUC), c.Holdout).Int()
	if err != nil {
		return fmt.Errorf("model: register %s: %w", a.Version, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", ErrVersionExists, a.Version)
	}
	return nil
}

// Get returns a registered version's artifact and card.
func (r *Registry) Get(ctx context.Context, version string) (*Artifact, *Card, error) {
	vals, err := r.rdb.HMGet(ctx, r.versionKey(version), "artifact", "card").Result()
	if err != nil {
		return nil, nil, fmt.Errorf("model: get %s: %w", version, err)
	}
	return decodeVersion(version, vals[0], vals[1])
}

// decodeVersion decodes the stored JSON of one version.
func decodeVersion(version string, art, card any) (*Artifact, *Card, error) {
	as, ok1 := art.(string)
	cs, ok2 := card.(string)
	if !ok1 || !ok2 {
		return nil, nil, fmt.Errorf("%w: %s", ErrNoVersion, version)
	}
	var a Artifact
	var c Card
	if err := json.Unmarshal([]byte(as), &a); err != nil {
		return nil, nil, fmt.Errorf("model: stored artifact %s: %w", version, err)
	}
	if err := json.Unmarshal([]byte(cs), &c); err != nil {
		return nil, nil, fmt.Errorf("model: stored card %s: %w", version, err)
	}
	return &a, &c, nil
}

// Champion returns the champion's version, or "" while the prior is served.
func (r *Registry) Champion(ctx context.Context) (string, error) {
	v, err := r.rdb.Get(ctx, r.championKey()).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("model: champion: %w", err)
	}
	return v, nil
}

// History returns the earlier champions, newest first: where Rollback goes.
func (r *Registry) History(ctx context.Context) ([]string, error) {
	h, err := r.rdb.LRange(ctx, r.historyKey(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("model: history: %w", err)
	}
	return h, nil
}

// Versions lists every registered version with its card, newest first.
func (r *Registry) Versions(ctx context.Context) ([]Entry, error) {
	zs, err := r.rdb.ZRevRangeWithScores(ctx, r.versionsKey(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("model: versions: %w", err)
	}
	champ, err := r.Champion(ctx)
	if err != nil {
		return nil, err
	}
	cmds := make([]*redis.StringCmd, len(zs))
	if _, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, z := range zs {
			cmds[i] = p.HGet(ctx, r.versionKey(z.Member.(string)), "card")
		}
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("model: versions: %w", err)
	}
	out := make([]Entry, 0, len(zs))
	for i, z := range zs {
		e := Entry{Version: z.Member.(string), CreatedAt: time.UnixMilli(int64(z.Score)).UTC()}
		e.Champion = e.Version == champ
		if s, err := cmds[i].Result(); err == nil {
			e.Card = new(Card)
			if err := json.Unmarshal([]byte(s), e.Card); err != nil {
				return nil, fmt.Errorf("model: stored card %s: %w", e.Version, err)
			}
		}
		out = append(out, e)
	}
	return out, nil
}

var recordEvalScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'eval:' .. ARGV[1], ARGV[2])
return 1`)

// RecordEval stores version's AUC on another model's holdout, so that
// Promote can compare a champion and a challenger trained on different rows
// on the challenger's holdout (training.EvaluateChampion computes it).
func (r *Registry) RecordEval(ctx context.Context, version, holdout string, auc float64) error {
	if holdout == "" {
		return fmt.Errorf("model: record eval of %s: empty holdout", version)
	}
	n, err := recordEvalScript.Run(ctx, r.rdb, []string{r.versionKey(version)}, holdout, fmtFloat(auc)).Int()
	if err != nil {
		return fmt.Errorf("model: record eval of %s: %w", version, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", ErrNoVersion, version)
	}
	return nil
}

// Eval returns version's recorded AUC on holdout, and whether there is one.
func (r *Registry) Eval(ctx context.Context, version, holdout string) (float64, bool, error) {
	s, err := r.rdb.HGet(ctx, r.versionKey(version), "eval:"+holdout).Result()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("model: eval of %s: %w", version, err)
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil, err
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
