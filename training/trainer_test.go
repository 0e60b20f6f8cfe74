package training

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/testenv"
	"github.com/leadq/leadq/model"
)

var quiet = slog.New(slog.DiscardHandler)

// seedSnapshots records n surfaced leads, 31 to 120 days old, whose
// conversion depends on their source, form submissions and engagement, and
// labels the converted ones; the rest are negative by age.
func seedSnapshots(t *testing.T, s *Snapshots, n int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	spec := s.spec
	names, cats := spec.NumNames(), spec.CatNames()
	iForm, iEng := slices.Index(names, "n_form_submitted"), slices.Index(names, "eng_1d")
	iSrc := slices.Index(cats, "source_first")
	sources := []string{"website", "referral", "email", "purchased_list", ""}
	effect := []float64{0.8, 1.0, -0.6, -1.2, 0}
	now := s.cfg.Now()
	for i := range n {
		num, cat := make([]float64, len(names)), make([]string, len(cats))
		k := rng.IntN(len(sources))
		num[iForm] = float64(rng.IntN(4))
		num[iEng] = rng.ExpFloat64() * 3
		cat[iSrc] = sources[k]
		logit := -2 + 0.7*num[iForm] + 0.3*num[iEng] + effect[k]
		at := now.Add(-time.Duration(31*24+rng.IntN(89*24)) * time.Hour)
		lead := fmt.Sprintf("s%d-%d", seed, i)
		if err := s.RecordVector(t.Context(), lead, "claim", num, cat, at); err != nil {
			t.Fatal(err)
		}
		if rng.Float64() < 1/(1+math.Exp(-logit)) {
			if _, err := s.Label(t.Context(), lead, "converted", at.Add(24*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// trainerEnv is one Redis prefix with snapshots and a registry, and a way to
// make trainers on it, each with its own client like separate replicas.
type trainerEnv struct {
	rdb    *redis.Client
	prefix string
	snaps  *Snapshots
	reg    *model.Registry
}

func newTrainerEnv(t *testing.T) *trainerEnv {
	t.Helper()
	rdb, prefix := testenv.Redis(t)
	s, err := NewSnapshots(rdb, features.DefaultSpec(), SnapshotConfig{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return &trainerEnv{rdb: rdb, prefix: prefix, snaps: s, reg: model.NewRegistry(rdb, prefix)}
}

func (e *trainerEnv) trainer(t *testing.T, reg Registry, margin float64) *Trainer {
	t.Helper()
	c := redis.NewClient(e.rdb.Options())
	t.Cleanup(func() { c.Close() })
	if reg == nil {
		reg = model.NewRegistry(c, e.prefix)
	}
	tr, err := NewTrainer(TrainerConfig{
		Snapshots: e.snaps, Registry: reg, Redis: c, Prefix: e.prefix,
		// 2 s, not less: the forest candidate's golearn goroutines and GC,
		// under -race on a loaded 2-core machine, have delayed a renewal
		// past 300 ms and lost the lock mid-training.
		MinRows: 1000, MinPositives: 50, Margin: margin, LockTTL: 2 * time.Second,
		Options: Options{Cs: []float64{1}, Bins: []int{0, 5}}, Log: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestTrainerTrainsRegistersPromotes(t *testing.T) {
	t.Parallel()
	e := newTrainerEnv(t)
	ctx := t.Context()
	tr := e.trainer(t, nil, 0.005)

	res, err := tr.RetrainNow(ctx)
	if err != nil || res.Trained || !strings.Contains(res.Reason, "0 labelled rows") {
		t.Fatalf("empty store: %+v, %v", res, err)
	}
	seedSnapshots(t, e.snaps, 3000, 1)
	res, err = tr.RetrainNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Trained || !res.Promoted || res.Champion != model.PriorVersion || !(res.Card.Metrics.AUC > res.ChampionAUC) {
		t.Fatalf("first training: %+v", res)
	}
	t.Logf("first model %s: AUC %.4f vs the prior's %.4f on %d rows", res.Version, res.Card.Metrics.AUC, res.ChampionAUC, res.Stats.Rows)
	if c := res.Card; c.SpecVersion != "fs-1" || c.Window == nil || c.Holdout == "" || c.Source != "snapshots" {
		t.Errorf("card %+v", c)
	}
	first := res.Version
	mustChampion(t, e.reg, first)

	// The schedule skips a round without new labels.
	if res, err := tr.retrain(ctx, false); err != nil || res.Trained || res.Reason != "no new labels since the last training" {
		t.Errorf("unchanged data: %+v, %v", res, err)
	}

	// More rows, a margin no model can clear: trained, registered, refused;
	// the champion was scored on the challenger's holdout for the comparison.
	seedSnapshots(t, e.snaps, 500, 2)
	strict := e.trainer(t, nil, 0.5)
	res, err = strict.retrain(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Trained || res.Promoted || res.Champion != first || !strings.Contains(res.Reason, "does not beat the champion") {
		t.Errorf("strict margin: %+v", res)
	}
	if _, ok, _ := e.reg.Eval(ctx, first, res.Card.Holdout); !ok {
		t.Error("the champion's AUC on the challenger's holdout was not recorded")
	}
	mustChampion(t, e.reg, first)
	if vs, _ := e.reg.Versions(ctx); len(vs) != 2 {
		t.Errorf("%d versions registered, want 2", len(vs))
	}
}

// TestTrainerLockIsExclusive starts two trainers (two replicas) at once:
// exactly one trains, the other is told another one is busy.
func TestTrainerLockIsExclusive(t *testing.T) {
	t.Parallel()
	e := newTrainerEnv(t)
	seedSnapshots(t, e.snaps, 1500, 3)
	trs := []*Trainer{e.trainer(t, nil, 0.005), e.trainer(t, nil, 0.005)}
	results := make([]error, len(trs))
	trained := make([]bool, len(trs))
	var wg sync.WaitGroup
	for i, tr := range trs {
		wg.Go(func() {
			res, err := tr.RetrainNow(t.Context())
			results[i], trained[i] = err, res != nil && res.Trained
		})
	}
	wg.Wait()
	busy := 0
	for i, err := range results {
		switch {
		case errors.Is(err, ErrBusy):
			busy++
		case err != nil:
			t.Errorf("trainer %d: %v", i, err)
		case !trained[i]:
			t.Errorf("trainer %d neither trained nor was busy", i)
		}
	}
	if busy != 1 {
		t.Errorf("%d trainers busy, want exactly 1 (errors %v)", busy, results)
	}
	if n, _ := e.rdb.Exists(t.Context(), trs[0].lockKey()).Result(); n != 0 {
		t.Error("the lock outlived the training")
	}
}

// failingRegistry fails Register, like a trainer that dies after fitting.
type failingRegistry struct{ *model.Registry }

func (failingRegistry) Register(context.Context, *model.Artifact, *model.Card) error {
	return errors.New("killed")
}

// TestTrainerCrashLeavesChampion: a holder that died keeps others out only
// until its lock expires, and a training that fails before Promote leaves
// the champion as it was.
func TestTrainerCrashLeavesChampion(t *testing.T) {
	t.Parallel()
	e := newTrainerEnv(t)
	ctx := t.Context()
	seedSnapshots(t, e.snaps, 1500, 4)
	tr := e.trainer(t, nil, 0.005)
	if err := e.rdb.Set(ctx, tr.lockKey(), "token-of-a-dead-replica", 300*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.RetrainNow(ctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("RetrainNow with a held lock = %v, want ErrBusy", err)
	}
	time.Sleep(400 * time.Millisecond)
	res, err := tr.RetrainNow(ctx)
	if err != nil || !res.Promoted {
		t.Fatalf("after the dead lock expired: %+v, %v", res, err)
	}
	champ := res.Version

	seedSnapshots(t, e.snaps, 300, 5)
	broken := e.trainer(t, failingRegistry{e.reg}, -1)
	if _, err := broken.RetrainNow(ctx); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("RetrainNow = %v, want the Register failure", err)
	}
	mustChampion(t, e.reg, champ)
}

func TestLockLostCancelsWork(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	key := prefix + "lock"
	held, err := withLock(t.Context(), rdb, key, 90*time.Millisecond, func(ctx context.Context) error {
		// Someone else takes the lock (as after an expiry): renewal fails.
		if err := rdb.Set(ctx, key, "other", 0).Err(); err != nil {
			return err
		}
		<-ctx.Done()
		return ctx.Err()
	})
	if !held || !errors.Is(err, ErrLockLost) {
		t.Errorf("withLock = %v, %v; want held and ErrLockLost", held, err)
	}
	if v, _ := rdb.Get(t.Context(), key).Result(); v != "other" {
		t.Errorf("the lock's new owner lost it: %q", v)
	}
	// A lock that renews outlives its TTL many times over. (The TTL leaves
	// a renewal 400 ms of scheduling delay: under -race on two busy cores a
	// 60 ms TTL lost its lock now and then.)
	held, err = withLock(t.Context(), rdb, prefix+"lock2", 600*time.Millisecond, func(ctx context.Context) error {
		time.Sleep(2400 * time.Millisecond)
		return ctx.Err()
	})
	if !held || err != nil {
		t.Errorf("renewed lock: %v, %v", held, err)
	}
}

func TestHoldoutFingerprint(t *testing.T) {
	t.Parallel()
	ds, _ := synth(2000, 9)
	a, card, err := Train(t.Context(), ds, Options{Cs: []float64{1}, Bins: []int{0}, Version: "h1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fp, _ := HoldoutFingerprint(ds, Options{})
	if card.Holdout != fp || !strings.HasPrefix(fp, "sha256:") {
		t.Errorf("card holdout %q, fingerprint %q", card.Holdout, fp)
	}
	ds.Label[4] = !ds.Label[4] // a holdout row
	if fp2, _ := HoldoutFingerprint(ds, Options{}); fp2 == fp {
		t.Error("flipping a holdout label kept the fingerprint")
	}
	ds.Label[4] = !ds.Label[4]
	ds.Label[0] = !ds.Label[0] // a training row
	if fp3, _ := HoldoutFingerprint(ds, Options{}); fp3 != fp {
		t.Error("a training row changed the holdout fingerprint")
	}
	ds.Label[0] = !ds.Label[0]

	// The champion's AUC on its own holdout is its card's.
	rdb, prefix := testenv.Redis(t)
	reg := model.NewRegistry(rdb, prefix)
	if err := reg.Register(t.Context(), a, card); err != nil {
		t.Fatal(err)
	}
	if err := reg.Promote(t.Context(), "h1", 0); err != nil {
		t.Fatal(err)
	}
	v, auc, err := EvaluateChampion(t.Context(), reg, ds, Options{})
	if err != nil || v != "h1" || auc != card.Metrics.AUC {
		t.Errorf("EvaluateChampion = %q %v %v, want h1 %v", v, auc, err, card.Metrics.AUC)
	}
	// On other rows it is scored and recorded.
	other, _ := synth(2000, 10)
	v, auc, err = EvaluateChampion(t.Context(), reg, other, Options{})
	fp4, _ := HoldoutFingerprint(other, Options{})
	rec, ok, _ := reg.Eval(t.Context(), "h1", fp4)
	if err != nil || v != "h1" || !ok || rec != auc || !(auc > 0.6) {
		t.Errorf("EvaluateChampion(other) = %q %v %v; recorded %v %v", v, auc, err, rec, ok)
	}
	// A dataset without the champion's columns cannot judge it.
	other.Schema.Num[0] = "renamed"
	if _, _, err := EvaluateChampion(t.Context(), reg, other, Options{}); !errors.Is(err, ErrIncomparable) {
		t.Errorf("EvaluateChampion(renamed) = %v, want ErrIncomparable", err)
	}
}

func mustChampion(t *testing.T, reg *model.Registry, want string) {
	t.Helper()
	if got, err := reg.Champion(t.Context()); err != nil || got != want {
		t.Fatalf("champion %q, %v; want %q", got, err, want)
	}
}
