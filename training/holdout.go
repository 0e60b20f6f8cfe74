package training

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/leadq/leadq/model"
)

// ErrIncomparable reports a champion that cannot be scored on a dataset's
// holdout because the dataset lacks some of its columns.
var ErrIncomparable = errors.New("training: champion cannot be evaluated on this holdout")

// HoldoutFingerprint identifies the holdout rows Train evaluates ds on with
// opts: two cards with the same fingerprint were tested on the same rows,
// values and labels, so their AUCs are comparable.
func HoldoutFingerprint(ds *Dataset, opts Options) (string, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return "", err
	}
	_, _, test, err := splitRows(ds, o)
	if err != nil {
		return "", err
	}
	return fingerprint(ds, test), nil
}

// fingerprint hashes the column names and the given rows. Length prefixes
// keep ("ab","c") and ("a","bc") apart.
func fingerprint(ds *Dataset, rows []int) string {
	h := sha256.New()
	var b [8]byte
	putInt := func(n int) { binary.LittleEndian.PutUint64(b[:], uint64(n)); h.Write(b[:]) }
	putStr := func(s string) { putInt(len(s)); h.Write([]byte(s)) }
	putInt(len(ds.Schema.Num))
	for _, n := range ds.Schema.Num {
		putStr(n)
	}
	putInt(len(ds.Schema.Cat))
	for _, n := range ds.Schema.Cat {
		putStr(n)
	}
	putInt(len(rows))
	for _, i := range rows {
		for j := range ds.Num {
			v := ds.Num[j][i]
			if math.IsNaN(v) {
				v = math.NaN() // one bit pattern for every NaN
			}
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
			h.Write(b[:])
		}
		for j := range ds.Cat {
			putStr(ds.Cat[j][i])
		}
		if ds.Label[i] {
			h.Write([]byte{1})
		} else {
			h.Write([]byte{0})
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)[:12])
}

// ChampionRegistry is what EvaluateChampion needs of the model registry.
type ChampionRegistry interface {
	Champion(ctx context.Context) (string, error)
	Get(ctx context.Context, version string) (*model.Artifact, *model.Card, error)
	Eval(ctx context.Context, version, holdout string) (float64, bool, error)
	RecordEval(ctx context.Context, version, holdout string, auc float64) error
}

var _ ChampionRegistry = (*model.Registry)(nil)

// EvaluateChampion makes the champion comparable with a challenger trained
// on ds with opts: it scores the champion on the challenger's holdout rows
// and records that AUC in the registry (unless one is there already), so
// that Registry.Promote compares both models on the same rows. It returns
// the champion's version and AUC; with no champion it returns the prior's
// AUC on the holdout when ds has the prior's column, or version "" if not.
func EvaluateChampion(ctx context.Context, reg ChampionRegistry, ds *Dataset, opts Options) (string, float64, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return "", 0, err
	}
	_, _, test, err := splitRows(ds, o)
	if err != nil {
		return "", 0, err
	}
	holdout := fingerprint(ds, test)
	champ, err := reg.Champion(ctx)
	if err != nil {
		return "", 0, err
	}
	var a *model.Artifact
	if champ == "" {
		if !slices.Contains(ds.Schema.Cat, model.PriorSourceColumn) {
			return "", 0, nil
		}
		a = model.Prior()
	} else {
		if auc, ok, err := reg.Eval(ctx, champ, holdout); err != nil || ok {
			return champ, auc, err
		}
		if a, _, err = reg.Get(ctx, champ); err != nil {
			return "", 0, err
		}
	}
	auc, err := holdoutAUC(a, ds, test)
	if err != nil || champ == "" {
		return a.Version, auc, err
	}
	return champ, auc, reg.RecordEval(ctx, champ, holdout, auc)
}

// holdoutAUC scores rows of ds with a, binding ds's columns to a's by name.
// Every column a reads must be in ds: a model scored on fill values would
// look worse than it is, and the comparison would be unfair.
func holdoutAUC(a *model.Artifact, ds *Dataset, rows []int) (float64, error) {
	s, err := model.Compile(a)
	if err != nil {
		return 0, err
	}
	b := model.NewBinding(ds.Schema.Num, ds.Schema.Cat, a.Schema)
	if miss := b.Missing(); len(miss) > 0 {
		return 0, fmt.Errorf("%w: %s reads %q, which the dataset lacks", ErrIncomparable, a.Version, miss)
	}
	num, cat := make([]float64, len(ds.Num)), make([]string, len(ds.Cat))
	mNum, mCat := make([]float64, len(a.Schema.Num)), make([]string, len(a.Schema.Cat))
	p, y := make([]float64, len(rows)), make([]bool, len(rows))
	for k, i := range rows {
		ds.Row(i, num, cat)
		b.Apply(num, cat, mNum, mCat)
		p[k], y[k] = s.Score(mNum, mCat), ds.Label[i]
	}
	return AUC(p, y), nil
}
