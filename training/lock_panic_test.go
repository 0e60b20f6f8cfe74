package training

import (
	"context"
	"testing"
	"time"

	"github.com/leadq/leadq/internal/testenv"
)

// A panic inside the locked work (recovered further up, as Fiber's recover
// middleware does for POST /v1/model/retrain) must not leave the lock held:
// today the renewal goroutine never learns the work ended and renews the
// lock forever, so no replica can ever train again.
func TestLockReleasedAfterPanic(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	key := prefix + "model:train:lock"
	ttl := 300 * time.Millisecond
	func() {
		defer func() { _ = recover() }()
		_, _ = withLock(t.Context(), rdb, key, ttl, func(context.Context) error { panic("boom") })
	}()
	time.Sleep(3 * ttl)
	if n, err := rdb.Exists(t.Context(), key).Result(); err != nil || n != 0 {
		pttl, _ := rdb.PTTL(t.Context(), key).Result()
		t.Fatalf("lock still held %v after the locked work panicked (pttl %v, err %v)", 3*ttl, pttl, err)
	}
	ok, err := withLock(t.Context(), rdb, key, ttl, func(context.Context) error { return nil })
	if err != nil || !ok {
		t.Fatalf("the next trainer cannot take the lock: held=%v err=%v", ok, err)
	}
}
