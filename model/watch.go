package model

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// WatchOptions configure Watch; the zero value is usable.
type WatchOptions struct {
	// Resync is how often the champion is re-read even without a message,
	// in case one was lost (pub/sub is at most once); default 5s.
	Resync time.Duration
	Log    *slog.Logger // default slog.Default()
	// OnSwap, if set, is called after every swap with the new model, e.g. to
	// rescore active leads. It runs on Watch's goroutine: keep it short or
	// hand the work off.
	OnSwap func(*Served)
}

// loadScript returns {champion} when the champion is ARGV[2] (nothing to
// load), else {champion, artifact, card}, or {} when there is no champion.
// KEYS: champion. ARGV: version-key prefix, version served now.
var loadScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return {} end
if v == ARGV[2] then return {v} end
local h = redis.call('HMGET', ARGV[1] .. v, 'artifact', 'card')
if not h[1] or not h[2] then return {v} end
return {v, h[1], h[2]}`)

// Sync makes live serve the registry's champion (the prior when there is
// none) and returns the model it swapped in, or nil if it was current. A champion that does not compile or
// fit live's spec is an error and live keeps its model.
func (r *Registry) Sync(ctx context.Context, live *Live) (*Served, error) {
	cur := live.Version()
	res, err := loadScript.Run(ctx, r.rdb, []string{r.championKey()}, r.versionKey(""), cur).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("model: load champion: %w", err)
	}
	switch {
	case len(res) == 0 && cur == PriorVersion, len(res) == 1 && res[0] == cur:
		return nil, nil
	case len(res) == 0:
		s, err := live.Compile(Prior(), nil)
		if err != nil {
			return nil, err
		}
		live.Swap(s)
		return s, nil
	case len(res) == 1:
		return nil, fmt.Errorf("%w: champion %s has no stored artifact", ErrNoVersion, res[0])
	}
	a, c, err := decodeVersion(res[0], res[1], res[2])
	if err != nil {
		return nil, err
	}
	s, err := live.Compile(a, c)
	if err != nil {
		return nil, fmt.Errorf("model: champion %s: %w", res[0], err)
	}
	live.Swap(s)
	return s, nil
}

// Watch keeps live serving the champion until ctx ends: it subscribes to
// Channel, loads the champion, then re-syncs on every message and every
// opts.Resync. Each replica runs one; a promotion reaches all of them within
// a round trip. It returns nil when ctx ends, an error only when the first
// subscription fails.
func (r *Registry) Watch(ctx context.Context, live *Live, opts WatchOptions) error {
	if opts.Resync <= 0 {
		opts.Resync = 5 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	sub := r.rdb.Subscribe(ctx, r.Channel())
	defer sub.Close()
	// Subscribe before the first load: a promotion between the two is then
	// a message, not a miss.
	if _, err := sub.Receive(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("model: subscribe %s: %w", r.Channel(), err)
	}
	msgs := sub.Channel()
	tick := time.NewTicker(opts.Resync)
	defer tick.Stop()
	var failed string // last error logged, so a bad champion is logged once
	sync := func(why string) {
		s, err := r.Sync(ctx, live)
		switch {
		case err != nil && ctx.Err() == nil:
			if msg := err.Error(); msg != failed {
				failed = msg
				opts.Log.Error("model sync failed; serving the previous model", "err", err, "serving", live.Version(), "trigger", why)
			}
		case s != nil:
			failed = ""
			opts.Log.Info("model swapped", "version", s.Version, "trigger", why)
			if opts.OnSwap != nil {
				opts.OnSwap(s)
			}
		}
	}
	sync("start")
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-msgs:
			if !ok {
				return nil
			}
			// The message says what changed, but the champion key says what
			// is true now: re-reading it makes reordered messages harmless.
			sync("message")
		case <-tick.C:
			sync("resync")
		}
	}
}
