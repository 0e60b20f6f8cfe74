package api

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/time/rate"
)

// limiters hands out one token bucket per key (an API key, or a client
// address for the public form key) and forgets buckets idle for a while, so
// that per-address buckets cannot grow without bound.
type limiters struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	m     map[string]*bucket
	swept time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiters(perSecond float64, burst int) *limiters {
	return &limiters{rate: rate.Limit(perSecond), burst: burst, m: map[string]*bucket{}, swept: time.Now()}
}

// allow takes a token for key, or returns how long until one is available.
func (l *limiters) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	b, ok := l.m[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.m[key] = b
	}
	b.seen = now
	if now.Sub(l.swept) > time.Minute {
		for k, v := range l.m {
			if now.Sub(v.seen) > 5*time.Minute {
				delete(l.m, k)
			}
		}
		l.swept = now
	}
	l.mu.Unlock()
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// rateLimit refuses a request over its key's rate with 429 and Retry-After.
// Form keys ship in public web pages, so they are limited per client address
// too. Limits are per replica.
func (s *Server) rateLimit(c *fiber.Ctx, scope, keyHash string) error {
	now := requestTime(c)
	// The address first: a request it refuses must not spend the key's
	// tokens, or one client over its limit would starve a public form key
	// that every visitor shares.
	if scope == "form" && s.perIP != nil {
		if ok, wait := s.perIP.allow(c.IP(), now); !ok {
			return tooMany(c, wait, "too many form submissions from this address")
		}
	}
	if s.perKey != nil {
		if ok, wait := s.perKey.allow(keyHash, now); !ok {
			return tooMany(c, wait, "this API key is over its rate limit")
		}
	}
	return nil
}

func tooMany(c *fiber.Ctx, wait time.Duration, detail string) error {
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	return problem(fiber.StatusTooManyRequests, detail)
}
