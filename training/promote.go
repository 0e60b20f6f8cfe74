package training

import (
	"context"
	"errors"
	"fmt"

	"github.com/leadq/leadq/model"
)

// Decision is the outcome of PromoteIfBetter.
type Decision struct {
	Promoted    bool    `json:"promoted"`
	Champion    string  `json:"champion,omitempty"`     // compared against: a version, "prior" or ""
	ChampionAUC float64 `json:"champion_auc,omitempty"` // on the challenger's holdout
	Reason      string  `json:"reason,omitempty"`       // why it was not promoted
}

// PromoteIfBetter promotes the registered challenger described by card,
// trained on ds with opts, if its holdout AUC beats the champion's on the
// same holdout by more than margin. The champion is first scored on that
// holdout (EvaluateChampion). With no champion the challenger must beat the
// prior by the margin when ds has the prior's column, and is promoted
// otherwise. A refusal is a Decision with a Reason, not an error.
func PromoteIfBetter(ctx context.Context, reg Registry, ds *Dataset, opts Options, card *model.Card, margin float64) (Decision, error) {
	champ, auc, err := EvaluateChampion(ctx, reg, ds, opts)
	if errors.Is(err, ErrIncomparable) {
		return Decision{Reason: err.Error()}, nil
	}
	if err != nil {
		return Decision{}, err
	}
	d := Decision{Champion: champ, ChampionAUC: auc}
	if champ == model.PriorVersion && !(card.Metrics.AUC > auc+margin) {
		// The registry promotes anything over an empty champion slot; the
		// prior it replaces still deserves the same test as a champion.
		d.Reason = fmt.Sprintf("AUC %.4f does not beat the prior's %.4f by more than %.4f on the same holdout",
			card.Metrics.AUC, auc, margin)
		return d, nil
	}
	err = reg.Promote(ctx, card.Version, margin)
	switch {
	case errors.Is(err, model.ErrNotBetter), errors.Is(err, model.ErrHoldoutMismatch):
		d.Reason = err.Error()
		return d, nil
	case err != nil:
		return d, err
	}
	d.Promoted = true
	return d, nil
}
