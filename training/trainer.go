package training

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/model"
)

// ErrBusy reports that another replica (or call) is training right now.
var ErrBusy = errors.New("training: another trainer holds the lock")

// Registry is what the Trainer needs of the model registry.
type Registry interface {
	ChampionRegistry
	Register(ctx context.Context, a *model.Artifact, c *model.Card) error
	Promote(ctx context.Context, version string, margin float64) error
}

var _ Registry = (*model.Registry)(nil)

// TrainerConfig configures a Trainer; zero fields take the defaults.
type TrainerConfig struct {
	Snapshots *Snapshots            // where the rows come from (required)
	Registry  Registry              // where models go (required)
	Redis     redis.UniversalClient // holds the lock (required)
	Prefix    string                // lock key is <Prefix>model:train:lock
	Interval  time.Duration         // how often Run retrains; default 1h
	Window    time.Duration         // train on snapshots of the last Window; default 180 days
	// MinRows and MinPositives are the labelled rows and positives needed
	// to train at all; defaults 1000 and 50.
	MinRows, MinPositives int
	// Margin is the holdout AUC a challenger must gain over the champion;
	// default 0.005, and a negative value means 0.
	Margin  float64
	LockTTL time.Duration // lock expiry, renewed every third of it; default 30s
	Options Options       // passed to Train; SpecVersion defaults to the spec's, Holdout to HoldoutTime
	Log     *slog.Logger  // default slog.Default()
}

// Result says what one retraining did.
type Result struct {
	Trained     bool         `json:"trained"`
	Promoted    bool         `json:"promoted"`
	Version     string       `json:"version,omitempty"`
	Reason      string       `json:"reason,omitempty"` // why it did not train or promote
	Champion    string       `json:"champion,omitempty"`
	ChampionAUC float64      `json:"champion_auc,omitempty"` // on the challenger's holdout
	Stats       DatasetStats `json:"stats"`
	Card        *model.Card  `json:"card,omitempty"`
}

// Trainer retrains the model from labelled snapshots on a schedule. Every
// replica may run one: a Redis lock lets exactly one train at a time. Only
// Registry.Promote changes the champion, so a trainer that dies mid-training
// leaves the champion untouched (and its lock expires after LockTTL).
type Trainer struct {
	cfg TrainerConfig
}

// NewTrainer checks cfg and returns a Trainer.
func NewTrainer(cfg TrainerConfig) (*Trainer, error) {
	if cfg.Snapshots == nil || cfg.Registry == nil || cfg.Redis == nil {
		return nil, errors.New("training: trainer needs Snapshots, Registry and Redis")
	}
	cfg.Interval = cmpOr(cfg.Interval, time.Hour)
	cfg.Window = cmpOr(cfg.Window, 180*24*time.Hour)
	cfg.MinRows = cmpOr(cfg.MinRows, 1000)
	cfg.MinPositives = cmpOr(cfg.MinPositives, 50)
	cfg.Margin = cmpOr(cfg.Margin, 0.005)
	cfg.Margin = max(cfg.Margin, 0)
	cfg.LockTTL = cmpOr(cfg.LockTTL, 30*time.Second)
	cfg.Options.SpecVersion = cmpOr(cfg.Options.SpecVersion, cfg.Snapshots.spec.Version)
	cfg.Options.Source = cmpOr(cfg.Options.Source, "snapshots")
	// A model trained now will score leads that come later: judge it on the
	// latest leads, not on rows interleaved with its training rows.
	cfg.Options.Holdout = cmpOr(cfg.Options.Holdout, HoldoutTime)
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if _, err := cfg.Options.withDefaults(); err != nil {
		return nil, err
	}
	if cfg.LockTTL < 30*time.Millisecond || cfg.MinRows < 1 || cfg.MinPositives < 1 {
		return nil, errors.New("training: trainer needs LockTTL ≥ 30ms and MinRows, MinPositives ≥ 1")
	}
	return &Trainer{cfg: cfg}, nil
}

func (t *Trainer) lockKey() string { return t.cfg.Prefix + "model:train:lock" }
func (t *Trainer) lastKey() string { return t.cfg.Prefix + "model:train:last" }

// Run retrains at start and then every Interval until ctx ends, skipping a
// round when another replica trains or no new labels arrived. It returns nil
// when ctx ends; failures of a round are logged, not returned.
func (t *Trainer) Run(ctx context.Context) error {
	tick := time.NewTicker(t.cfg.Interval)
	defer tick.Stop()
	for {
		res, err := t.retrain(ctx, false)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrBusy):
			t.cfg.Log.Debug("retrain skipped: another replica is training")
		case err != nil:
			t.cfg.Log.Error("retrain failed; the champion is unchanged", "err", err)
		default:
			t.cfg.Log.Info("retrain", "trained", res.Trained, "promoted", res.Promoted, "version", res.Version,
				"reason", res.Reason, "rows", res.Stats.Rows, "positives", res.Stats.Positives)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// RetrainNow trains at once, even without new labels (still subject to
// MinRows and MinPositives), registers the model and promotes it if it beats
// the champion. It is ErrBusy while any replica is training.
func (t *Trainer) RetrainNow(ctx context.Context) (*Result, error) {
	return t.retrain(ctx, true)
}

func (t *Trainer) retrain(ctx context.Context, manual bool) (*Result, error) {
	var res *Result
	held, err := withLock(ctx, t.cfg.Redis, t.lockKey(), t.cfg.LockTTL, func(ctx context.Context) error {
		var err error
		res, err = t.train(ctx, manual)
		return err
	})
	if !held && err == nil {
		return nil, ErrBusy
	}
	return res, err
}

// train runs under the lock: load, check, fit, register, compare, promote.
func (t *Trainer) train(ctx context.Context, manual bool) (*Result, error) {
	snaps := t.cfg.Snapshots
	ds, st, err := snaps.Dataset(ctx, snaps.cfg.Now().Add(-t.cfg.Window))
	if err != nil {
		return nil, err
	}
	res := &Result{Stats: st}
	if st.Rows < t.cfg.MinRows || st.Positives < t.cfg.MinPositives {
		res.Reason = fmt.Sprintf("%d labelled rows and %d positives; need %d and %d", st.Rows, st.Positives, t.cfg.MinRows, t.cfg.MinPositives)
		return res, nil
	}
	all := make([]int, ds.Len())
	for i := range all {
		all[i] = i
	}
	dataID := fingerprint(ds, all)
	if !manual {
		last, err := t.cfg.Redis.Get(ctx, t.lastKey()).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("training: last trained: %w", err)
		}
		if last == dataID {
			res.Reason = "no new labels since the last training"
			return res, nil
		}
	}
	a, card, err := Train(ctx, ds, t.cfg.Options, nil)
	if err != nil {
		return nil, err
	}
	card.Window = &model.Window{From: st.From, To: st.To}
	// A lost lock cancels ctx: another replica may be training, so this
	// one must not register or promote.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := t.cfg.Registry.Register(ctx, a, card); errors.Is(err, model.ErrVersionExists) {
		// Same rows, same second, same weights: this model is registered.
		res.Version, res.Reason = a.Version, "an identical model is already registered"
		return res, nil
	} else if err != nil {
		return nil, err
	}
	res.Trained, res.Version, res.Card = true, a.Version, card
	if err := t.cfg.Redis.Set(ctx, t.lastKey(), dataID, 0).Err(); err != nil {
		return nil, fmt.Errorf("training: record last trained: %w", err)
	}
	return res, t.promote(ctx, ds, res)
}

// promote compares the registered challenger with the champion and
// promotes it if it is better by the margin.
func (t *Trainer) promote(ctx context.Context, ds *Dataset, res *Result) error {
	d, err := PromoteIfBetter(ctx, t.cfg.Registry, ds, t.cfg.Options, res.Card, t.cfg.Margin)
	if err != nil {
		return err
	}
	res.Promoted, res.Champion, res.ChampionAUC = d.Promoted, d.Champion, d.ChampionAUC
	if !d.Promoted {
		res.Reason = d.Reason
	}
	return nil
}
