package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// eventGroup is the Redis consumer group of the replicas that forward the
// queue's events (sla_breached) to Kafka: each event goes to one of them.
const eventGroup = "forward"

// Event is something the queue raised for the outside world: today only
// "sla_breached", a lead not attempted by its speed-to-lead deadline.
type Event struct {
	ID        string    `json:"-"` // stream entry id, for AckEvents
	Type      string    `json:"type"`
	Pool      string    `json:"pool"`
	LeadID    string    `json:"lead_id"`
	At        time.Time `json:"at"`         // when the queue noticed the breach (deadline: TriggerAt, or the calling-hours opening after it, + SLA)
	TriggerAt time.Time `json:"trigger_at"` // the trigger the deadline ran from
}

// ReadEvents returns up to count unforwarded events of a pool for consumer
// (a replica's name). Events another consumer read but did not acknowledge
// within a minute (it crashed) are taken over, so none is lost.
func (q *Queue) ReadEvents(ctx context.Context, pool, consumer string, count int) ([]Event, error) {
	if err := validPool(pool); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	stream := q.poolKey(pool) + "ev"
	err := q.rdb.XGroupCreateMkStream(ctx, stream, eventGroup, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return nil, fmt.Errorf("queue events %s: %w", pool, err)
	}
	msgs, _, err := q.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: stream, Group: eventGroup, Consumer: consumer, MinIdle: time.Minute, Start: "0", Count: int64(count),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("queue events %s: %w", pool, err)
	}
	if len(msgs) < count {
		res, err := q.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: eventGroup, Consumer: consumer, Streams: []string{stream, ">"}, Count: int64(count - len(msgs)), Block: -1,
		}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("queue events %s: %w", pool, err)
		}
		for _, s := range res {
			msgs = append(msgs, s.Messages...)
		}
	}
	out := make([]Event, 0, len(msgs))
	for _, m := range msgs {
		str := func(k string) string { v, _ := m.Values[k].(string); return v }
		out = append(out, Event{ID: m.ID, Type: str("type"), Pool: pool, LeadID: str("lead_id"), At: q.at(str("at")), TriggerAt: q.at(str("t"))})
	}
	return out, nil
}

// AckEvents marks events forwarded and deletes them from the pool's stream.
func (q *Queue) AckEvents(ctx context.Context, pool string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	stream := q.poolKey(pool) + "ev"
	pipe := q.rdb.TxPipeline()
	pipe.XAck(ctx, stream, eventGroup, ids...)
	pipe.XDel(ctx, stream, ids...)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("queue ack events %s: %w", pool, err)
	}
	return nil
}
