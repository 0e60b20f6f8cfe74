package features

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// Wipe deletes every lead's feature state under the store's prefix, so that
// a replay rebuilds it from the log. It returns how many keys it deleted.
func (s *Store) Wipe(ctx context.Context) (int, error) {
	n := 0
	iter := s.rdb.Scan(ctx, 0, s.prefix+"lead:{*", 2000).Iterator()
	keys := make([]string, 0, 500)
	flush := func() error {
		if len(keys) == 0 {
			return nil
		}
		if err := s.rdb.Unlink(ctx, keys...).Err(); err != nil {
			return err
		}
		n += len(keys)
		keys = keys[:0]
		return nil
	}
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == cap(keys) {
			if err := flush(); err != nil {
				return n, fmt.Errorf("features: wipe: %w", err)
			}
		}
	}
	if err := iter.Err(); err != nil {
		return n, fmt.Errorf("features: wipe: %w", err)
	}
	if err := flush(); err != nil {
		return n, fmt.Errorf("features: wipe: %w", err)
	}
	return n, nil
}

// ResetGroup moves the consumer group's committed offsets on every partition
// of topic to the first offset at or after from (zero from: the earliest
// offset still in the log). The group must have no live members: Kafka
// refuses a reset under an active generation, and so does ResetGroup.
func ResetGroup(ctx context.Context, brokers []string, topic, group string, from time.Time) (map[int]int64, error) {
	// Its own transport: the shared default caches metadata for seconds and
	// would not know a topic created since.
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	cl := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second, Transport: tr}
	meta, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("features: replay: metadata: %w", err)
	}
	if len(meta.Topics) != 1 || meta.Topics[0].Error != nil {
		return nil, fmt.Errorf("features: replay: topic %s: %v", topic, errors.Join(topicErr(meta)...))
	}
	reqs := make([]kafka.OffsetRequest, 0, len(meta.Topics[0].Partitions))
	for _, p := range meta.Topics[0].Partitions {
		if from.IsZero() {
			reqs = append(reqs, kafka.FirstOffsetOf(p.ID))
		} else {
			reqs = append(reqs, kafka.TimeOffsetOf(p.ID, from), kafka.LastOffsetOf(p.ID))
		}
	}
	lo, err := cl.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("features: replay: list offsets: %w", err)
	}
	out := map[int]int64{}
	commits := make([]kafka.OffsetCommit, 0, len(reqs))
	for _, po := range lo.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("features: replay: partition %d: %w", po.Partition, po.Error)
		}
		off := po.FirstOffset
		if !from.IsZero() {
			// The offset of the first message at or after from; none → the end.
			off = po.LastOffset
			for o := range po.Offsets {
				if o >= 0 && o < off {
					off = o
				}
			}
		}
		out[po.Partition] = off
		commits = append(commits, kafka.OffsetCommit{Partition: po.Partition, Offset: off})
	}
	resp, err := cl.OffsetCommit(ctx, &kafka.OffsetCommitRequest{
		GroupID: group, GenerationID: -1, Topics: map[string][]kafka.OffsetCommit{topic: commits},
	})
	if err != nil {
		return nil, fmt.Errorf("features: replay: commit offsets (is a consumer of group %s still running?): %w", group, err)
	}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("features: replay: commit offsets (is a consumer of group %s still running?): partition %d: %w", group, p.Partition, p.Error)
		}
	}
	return out, nil
}

func topicErr(meta *kafka.MetadataResponse) []error {
	if len(meta.Topics) == 0 {
		return []error{errors.New("not found")}
	}
	return []error{meta.Topics[0].Error}
}
