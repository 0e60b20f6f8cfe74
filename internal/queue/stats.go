package queue

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// luaStats keeps the counters Stats reads, inside the scripts that change
// what they count (see the top of the file for its keys).
//
//go:embed lua/stats.lua
var luaStats string

// SpeedBounds are the upper bounds, in seconds, of the speed-to-lead
// histogram that lua/stats.lua keeps; a last bucket takes everything slower.
// TestSpeedBoundsMatchLua keeps the two lists equal.
var SpeedBounds = []float64{30, 60, 120, 180, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200}

// Speed is speed to lead over a time window: how long leads waited from
// their latest trigger to their first call attempt (first claim).
type Speed struct {
	FirstAttempts int64
	WithinSLA     int64    // first attempts within Config.SLA of the trigger
	Breaches      int64    // leads flagged because nobody attempted them within the SLA
	Buckets       []Bucket // one per SpeedBounds, then one up to +Inf
}

// Bucket counts first attempts that took more than the previous bound and
// at most UpTo seconds.
type Bucket struct {
	UpTo  float64 // seconds; +Inf for the last bucket
	Count int64
}

// Within returns the first attempts that took at most d; d must be one of
// SpeedBounds, or the answer is for the largest bound below it.
func (s Speed) Within(d time.Duration) int64 {
	var n int64
	for _, b := range s.Buckets {
		if b.UpTo <= d.Seconds() {
			n += b.Count
		}
	}
	return n
}

// Quantile estimates the q-quantile (0 < q < 1) of the time to first
// attempt by linear interpolation inside its bucket; ok is false without
// attempts. A quantile in the last, unbounded bucket is reported as the
// largest bound: a lower bound, not an estimate.
func (s Speed) Quantile(q float64) (sec float64, ok bool) {
	var total int64
	for _, b := range s.Buckets {
		total += b.Count
	}
	if total == 0 {
		return 0, false
	}
	rank, lo, seen := q*float64(total), 0.0, 0.0
	for _, b := range s.Buckets {
		if c := float64(b.Count); seen+c >= rank && c > 0 {
			if math.IsInf(b.UpTo, 1) {
				return lo, true
			}
			return lo + (b.UpTo-lo)*(rank-seen)/c, true
		}
		seen += float64(b.Count)
		if !math.IsInf(b.UpTo, 1) {
			lo = b.UpTo
		}
	}
	return lo, true
}

// Add returns the sum of two windows' figures.
func (s Speed) Add(o Speed) Speed {
	out := Speed{FirstAttempts: s.FirstAttempts + o.FirstAttempts, WithinSLA: s.WithinSLA + o.WithinSLA,
		Breaches: s.Breaches + o.Breaches, Buckets: emptyBuckets()}
	for _, b := range [][]Bucket{s.Buckets, o.Buckets} {
		for i := range min(len(b), len(out.Buckets)) {
			out.Buckets[i].Count += b[i].Count
		}
	}
	return out
}

func emptyBuckets() []Bucket {
	b := make([]Bucket, 0, len(SpeedBounds)+1)
	for _, x := range SpeedBounds {
		b = append(b, Bucket{UpTo: x})
	}
	return append(b, Bucket{UpTo: math.Inf(1)})
}

// Funnel counts the leads of one source that reached each stage. Each lead
// counts once per stage, so the stages hold the same leads; leads that
// entered the queue before these counters existed are not in them. A lead
// that moves to another pool (Queue.Remove, then Upsert there) leaves this
// pool's funnel and enters the new pool's: the totals count it once, but
// the stages it reached before the move are not carried over.
type Funnel struct {
	Entered   int64 // entered the queue
	Attempted int64 // had a call outcome other than "rejected"
	Connected int64 // a conversation: not interested, callback requested or meeting booked
	Meetings  int64 // meeting booked
}

// PoolStats is what a manager watches of one pool, read from counters the
// queue's scripts keep; no lead is read. Queued counts every queued lead;
// the other states count only leads that entered the queue since the
// counters shipped (an older lead is in none of them, in any state).
type PoolStats struct {
	Pool                                                 string
	Queued, Scheduled, Claimed, Nurture, Meeting, Closed int64
	NurtureExpired                                       int64 // nurture ended without a new trigger
	// Untouched leads have not been claimed since their SLA clock started
	// (the latest trigger, or the next calling-hours opening after it; one
	// re-triggered while a rep holds it counts again); UntouchedPastSLA of
	// them started it more than the SLA ago.
	Untouched, UntouchedPastSLA int64
	OldestUntouchedAt           time.Time // SLA clock start of the longest-waiting untouched lead; zero if none
	Today, Week                 Speed     // this UTC day, and it with the six before
	Funnel                      map[string]Funnel
	// Reasons counts closed-loop reasons by the lead's source ("" if none).
	Reasons map[string]map[string]int64
}

// Stats reads the figures of each pool at now in one pipelined round trip
// of O(segments + 11) commands per pool.
func (q *Queue) Stats(ctx context.Context, pools []string, now time.Time) ([]PoolStats, error) {
	type reads struct {
		segs           []*redis.IntCmd
		states, fn, rs *redis.MapStringStringCmd
		un, late       *redis.IntCmd
		oldest         *redis.ZSliceCmd
		days           []*redis.MapStringStringCmd
	}
	nows, slas := ftoa(q.sec(now)), ftoa(q.sec(now.Add(-q.cfg.SLA)))
	day := now.Unix() / 86400
	pipe := q.rdb.Pipeline()
	rd := make([]reads, len(pools))
	for i, p := range pools {
		if err := validPool(p); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		P, r := q.poolKey(p), &rd[i]
		for k := range q.cfg.profile(p).Curve.Segments() {
			r.segs = append(r.segs, pipe.ZCard(ctx, P+"z"+strconv.Itoa(k)))
		}
		r.states = pipe.HGetAll(ctx, P+"n")
		r.un = pipe.ZCount(ctx, P+"un", "-inf", nows)
		r.late = pipe.ZCount(ctx, P+"un", "-inf", slas)
		r.oldest = pipe.ZRangeByScoreWithScores(ctx, P+"un", &redis.ZRangeBy{Min: "-inf", Max: nows, Count: 1})
		for d := range int64(7) {
			r.days = append(r.days, pipe.HGetAll(ctx, P+"d:"+strconv.FormatInt(day-d, 10)))
		}
		r.fn = pipe.HGetAll(ctx, P+"fn")
		r.rs = pipe.HGetAll(ctx, P+"rsn")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("queue stats: %w", err)
	}
	out := make([]PoolStats, len(pools))
	for i, p := range pools {
		r, s := &rd[i], &out[i]
		s.Pool = p
		for _, c := range r.segs {
			s.Queued += c.Val()
		}
		n := r.states.Val()
		// No clamp at zero: the scripts count only leads they saw enter
		// (stats.lua), so a negative count would be a bug to see, not hide.
		cnt := func(st string) int64 { v, _ := strconv.ParseInt(n[st], 10, 64); return v }
		s.Scheduled, s.Claimed, s.Nurture, s.Meeting, s.Closed = cnt("s"), cnt("c"), cnt("n"), cnt("m"), cnt("x")
		s.NurtureExpired = cnt("e")
		s.Untouched, s.UntouchedPastSLA = r.un.Val(), r.late.Val()
		if z := r.oldest.Val(); len(z) > 0 {
			s.OldestUntouchedAt = q.at(ftoa(z[0].Score))
		}
		s.Today = speedOf(r.days[0].Val())
		s.Week = s.Today
		for _, d := range r.days[1:] {
			s.Week = s.Week.Add(speedOf(d.Val()))
		}
		s.Funnel = funnelOf(r.fn.Val())
		s.Reasons = reasonsOf(r.rs.Val())
	}
	return out, nil
}

// speedOf decodes one day's counters (see lua/stats.lua).
func speedOf(h map[string]string) Speed {
	s := Speed{Buckets: emptyBuckets()}
	for k, v := range h {
		n, _ := strconv.ParseInt(v, 10, 64)
		switch {
		case k == "fs":
			s.WithinSLA += n
		case k == "br":
			s.Breaches += n
		case strings.HasPrefix(k, "h"):
			ub, err := strconv.ParseFloat(k[1:], 64) // "inf" parses as +Inf
			if err != nil {
				continue
			}
			s.FirstAttempts += n
			for i := range s.Buckets {
				if ub <= s.Buckets[i].UpTo {
					s.Buckets[i].Count += n
					break
				}
			}
		}
	}
	return s
}

// funnelOf decodes "stage|source" counters.
func funnelOf(h map[string]string) map[string]Funnel {
	out := map[string]Funnel{}
	for k, v := range h {
		stage, src, ok := strings.Cut(k, "|")
		n, _ := strconv.ParseInt(v, 10, 64)
		if !ok {
			continue
		}
		f := out[src]
		switch stage {
		case "0":
			f.Entered += n
		case "1":
			f.Attempted += n
		case "2":
			f.Connected += n
		case "3":
			f.Meetings += n
		}
		out[src] = f
	}
	return out
}

// reasonsOf keeps the "source|reason" counters of the pool's reason hash
// (its bare "reason" fields are the same counts summed over sources).
func reasonsOf(h map[string]string) map[string]map[string]int64 {
	out := map[string]map[string]int64{}
	for k, v := range h {
		src, reason, ok := strings.Cut(k, "|")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		if out[src] == nil {
			out[src] = map[string]int64{}
		}
		out[src][reason] += n
	}
	return out
}
