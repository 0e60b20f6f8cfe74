package backend

import (
	"fmt"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Embedded is an in-process Redis-protocol server (miniredis) and Kafka-
// protocol broker (kfake) on loopback, for trying leadq with nothing installed.
type Embedded struct {
	RedisAddr  string
	KafkaAddrs []string
	mr         *miniredis.Miniredis
	kf         *kfake.Cluster
	stop       chan struct{}
	wg         sync.WaitGroup
}

// StartEmbedded starts both servers on random loopback ports, with the given
// topics already created.
func StartEmbedded(partitions int, topics ...string) (*Embedded, error) {
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("embedded redis: %w", err)
	}
	kf, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.SeedTopics(int32(partitions), topics...),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(partitions),
	)
	if err != nil {
		mr.Close()
		return nil, fmt.Errorf("embedded kafka: %w", err)
	}
	e := &Embedded{RedisAddr: mr.Addr(), KafkaAddrs: kf.ListenAddrs(), mr: mr, kf: kf, stop: make(chan struct{})}
	e.wg.Add(1)
	go e.tick()
	return e, nil
}

// tick advances miniredis's clock with the wall clock: miniredis never expires
// keys by itself (FACTS.md), and leases and locks rely on TTLs.
func (e *Embedded) tick() {
	defer e.wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-e.stop:
			return
		case now := <-t.C:
			e.mr.FastForward(now.Sub(last))
			last = now
		}
	}
}

// Close stops both servers; everything they held is gone.
func (e *Embedded) Close() {
	close(e.stop)
	e.wg.Wait()
	e.kf.Close()
	e.mr.Close()
}
