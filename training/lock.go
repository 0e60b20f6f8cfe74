package training

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrLockLost reports that a lock expired or was taken while its work ran;
// the work's context is cancelled with it as the cause.
var ErrLockLost = errors.New("training: lock lost")

// renewScript extends the lock only for its owner. KEYS: lock. ARGV: token, ttl ms.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`)

// releaseScript deletes the lock only for its owner, so a holder whose lock
// expired never deletes the next holder's. KEYS: lock. ARGV: token.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// withLock runs f while holding the Redis lock key (SET NX PX with a random
// token), renewing it every ttl/3. It returns false without running f when
// another holder has it. If a renewal fails, f's context is cancelled with
// ErrLockLost. A crashed holder stops renewing and the lock expires after ttl.
func withLock(ctx context.Context, rdb redis.UniversalClient, key string, ttl time.Duration, f func(context.Context) error) (bool, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	ok, err := rdb.SetNX(ctx, key, token, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("training: lock %s: %w", key, err)
	}
	if !ok {
		return false, nil
	}
	work, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		tick := time.NewTicker(ttl / 3)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				n, err := renewScript.Run(ctx, rdb, []string{key}, token, ttl.Milliseconds()).Int()
				if err != nil || n == 0 {
					cancel(fmt.Errorf("%w: %s (renewal: %v)", ErrLockLost, key, err))
					return
				}
			}
		}
	}()
	// finish ends the renewals, then cancels the work and releases the lock
	// (with a fresh context: ctx may be the one that ended). It also runs
	// when f panics: otherwise the renewals would go on for as long as the
	// process lives (a panic recovered upstream, e.g. by the HTTP server's
	// middleware) and no replica could ever train again.
	finished := false
	finish := func(err error) error {
		finished = true
		close(done)
		<-renewed
		if cause := context.Cause(work); errors.Is(cause, ErrLockLost) && err != nil {
			err = fmt.Errorf("%w (%v)", cause, err)
		}
		cancel(nil)
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		if _, rerr := releaseScript.Run(rctx, rdb, []string{key}, token).Result(); rerr != nil && err == nil {
			err = fmt.Errorf("training: release lock %s: %w", key, rerr)
		}
		return err
	}
	defer func() {
		if !finished {
			_ = finish(nil)
		}
	}()
	err = finish(f(work))
	return true, err
}
