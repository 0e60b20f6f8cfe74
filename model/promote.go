package model

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// promoteScript makes ARGV[1] the champion if it beats the current one.
// KEYS: champion, history, challenger hash. ARGV: version, margin, force
// ("1" skips the comparison), version-key prefix, channel, history cap.
//
// The comparison is fair by construction: the challenger's AUC is on its own
// holdout (field holdout), and the champion's AUC must be on that very holdout
// (field eval:<holdout>): either it was trained on the same rows, or a
// trainer re-evaluated it there (RecordEval). Anything else is a refusal,
// never a comparison of numbers from two different test sets.
var promoteScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[3]) == 0 then return {'unknown'} end
local champ = redis.call('GET', KEYS[1])
if champ == ARGV[1] then return {'same'} end
if champ and ARGV[3] ~= '1' then
  local h = redis.call('HGET', KEYS[3], 'holdout') or ''
  local auc = tonumber(redis.call('HGET', KEYS[3], 'auc') or '0')
  local c = (h ~= '') and redis.call('HGET', ARGV[4] .. champ, 'eval:' .. h)
  if not c then return {'mismatch', champ, h} end
  if not (auc > tonumber(c) + tonumber(ARGV[2])) then return {'worse', champ, tostring(auc), c} end
end
if champ then
  redis.call('LPUSH', KEYS[2], champ)
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[6]) - 1)
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[5], cjson.encode({event = 'promote', version = ARGV[1], previous = champ or 'prior'}))
return {'ok', champ or ''}`)

// rollbackScript restores the previous champion, or the prior if there was
// none. KEYS: champion, history. ARGV: channel.
var rollbackScript = redis.NewScript(`
local champ = redis.call('GET', KEYS[1])
if not champ then return {'none'} end
local prev = redis.call('LPOP', KEYS[2])
if prev then redis.call('SET', KEYS[1], prev) else redis.call('DEL', KEYS[1]) end
redis.call('PUBLISH', ARGV[1], cjson.encode({event = 'rollback', version = prev or 'prior', previous = champ}))
return {'ok', prev or ''}`)

// Promote makes version the champion if its holdout AUC beats the
// champion's AUC on the same holdout by more than margin. It is
// ErrHoldoutMismatch when the champion has no AUC on the challenger's
// holdout (see training.EvaluateChampion), ErrNotBetter when it is not
// better enough. With no champion (the prior is served) any registered
// version is promoted. Promoting the champion again does nothing.
func (r *Registry) Promote(ctx context.Context, version string, margin float64) error {
	return r.promote(ctx, version, margin, false)
}

// ForcePromote makes version the champion without comparing it, for an
// operator who knows better than the holdout (leadq train --promote --force).
func (r *Registry) ForcePromote(ctx context.Context, version string) error {
	return r.promote(ctx, version, 0, true)
}

func (r *Registry) promote(ctx context.Context, version string, margin float64, force bool) error {
	f := "0"
	if force {
		f = "1"
	}
	res, err := promoteScript.Run(ctx, r.rdb,
		[]string{r.championKey(), r.historyKey(), r.versionKey(version)},
		version, fmtFloat(margin), f, r.versionKey(""), r.Channel(), HistoryCap).StringSlice()
	if err != nil {
		return fmt.Errorf("model: promote %s: %w", version, err)
	}
	switch res[0] {
	case "ok", "same":
		return nil
	case "unknown":
		return fmt.Errorf("%w: %s", ErrNoVersion, version)
	case "mismatch":
		return fmt.Errorf("%w: champion %s has no AUC on %s's holdout %q; evaluate it there first",
			ErrHoldoutMismatch, res[1], version, res[2])
	case "worse":
		ch, _ := strconv.ParseFloat(res[2], 64)
		cu, _ := strconv.ParseFloat(res[3], 64)
		return fmt.Errorf("%w: %s has AUC %.4f, champion %s %.4f on the same holdout, margin %.4f",
			ErrNotBetter, version, ch, res[1], cu, margin)
	}
	return fmt.Errorf("model: promote %s: unexpected reply %q", version, res)
}

// Rollback makes the previous champion the champion again, or the prior if
// the current champion was the first, and returns the version now served
// (PriorVersion for the prior). It is ErrNoChampion while the prior is served.
func (r *Registry) Rollback(ctx context.Context) (string, error) {
	res, err := rollbackScript.Run(ctx, r.rdb, []string{r.championKey(), r.historyKey()}, r.Channel()).StringSlice()
	if err != nil {
		return "", fmt.Errorf("model: rollback: %w", err)
	}
	if res[0] == "none" {
		return "", ErrNoChampion
	}
	if res[1] == "" {
		return PriorVersion, nil
	}
	return res[1], nil
}
