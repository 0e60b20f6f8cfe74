package features

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// skipDone returns batch without the direct events (Applied.Direct) whose
// marker (DirectField) is already in their lead's hash: the Kafka copies of
// what the API applied itself, which apply.lua would only read and leave
// alone (a direct event records no partition offset, so skipping one loses
// nothing). One pipelined HMGET per lead that has direct events costs Redis
// about a microsecond, where a call of the script costs tens.
//
// A marker only ever appears (Wipe deletes whole hashes, with the consumers
// stopped), so an event found applied here stays applied; one not found
// goes to the script, which deduplicates it again.
func (s *Store) skipDone(ctx context.Context, batch []Applied) ([]Applied, error) {
	byLead := map[string][]int{}
	var order []string
	for i := range batch {
		if !batch[i].Direct {
			continue
		}
		lead := batch[i].Event.LeadID
		if _, ok := byLead[lead]; !ok {
			order = append(order, lead)
		}
		byLead[lead] = append(byLead[lead], i)
	}
	if len(order) == 0 {
		return batch, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(order))
	for k, lead := range order {
		fields := make([]string, len(byLead[lead]))
		for j, i := range byLead[lead] {
			fields[j] = DirectField(batch[i].Event.EventID)
		}
		cmds[k] = pipe.HMGet(ctx, s.Key(lead), fields...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("features: read the markers of %d leads: %w", len(order), err)
	}
	var done []bool
	for k, lead := range order {
		for j, v := range cmds[k].Val() {
			if v == nil {
				continue
			}
			if done == nil {
				done = make([]bool, len(batch))
			}
			done[byLead[lead][j]] = true
		}
	}
	if done == nil {
		return batch, nil
	}
	out := make([]Applied, 0, len(batch))
	for i := range batch {
		if !done[i] {
			out = append(out, batch[i])
		}
	}
	return out, nil
}
