// Package testenv gives integration tests the real Redis and real Kafka that
// scripts/testenv.sh starts. Tests skip only under -short; otherwise a missing
// server is a failure, never a silent skip.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
)

const hint = "start the real test environment with `make test` or `scripts/testenv.sh up` and source .testenv/env"

// RedisURL returns LEADQ_TEST_REDIS_URL, skipping under -short and failing when unset.
func RedisURL(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("integration test: skipped under -short")
	}
	u := os.Getenv("LEADQ_TEST_REDIS_URL")
	if u == "" {
		tb.Fatalf("LEADQ_TEST_REDIS_URL is not set: %s", hint)
	}
	return u
}

// Redis returns a client of the real test Redis and a key prefix unique to this
// test. Keys under the prefix are deleted when the test ends.
func Redis(tb testing.TB) (*redis.Client, string) {
	tb.Helper()
	opt, err := redis.ParseURL(RedisURL(tb))
	if err != nil {
		tb.Fatalf("LEADQ_TEST_REDIS_URL: %v", err)
	}
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		tb.Fatalf("real Redis at %s does not answer: %v (%s)", opt.Addr, err, hint)
	}
	prefix := "t" + Unique() + ":"
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		_ = c.Close()
	})
	return c, prefix
}

// KafkaBrokers returns LEADQ_TEST_KAFKA_BROKERS, skipping under -short and
// failing when unset or unreachable.
func KafkaBrokers(tb testing.TB) []string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("integration test: skipped under -short")
	}
	v := os.Getenv("LEADQ_TEST_KAFKA_BROKERS")
	if v == "" {
		tb.Fatalf("LEADQ_TEST_KAFKA_BROKERS is not set: %s", hint)
	}
	brokers := strings.Split(v, ",")
	conn, err := net.DialTimeout("tcp", brokers[0], 5*time.Second)
	if err != nil {
		tb.Fatalf("real Kafka at %s does not answer: %v (%s)", brokers[0], err, hint)
	}
	_ = conn.Close()
	return brokers
}

// Topic creates a fresh topic with the given partition count on the real
// broker and returns its name.
func Topic(tb testing.TB, brokers []string, partitions int) string {
	tb.Helper()
	name := "t" + Unique()
	CreateTopic(tb, brokers, name, partitions)
	return name
}

// CreateTopic creates the named topic on the broker's controller and waits
// until its leaders are known.
func CreateTopic(tb testing.TB, brokers []string, name string, partitions int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := kafka.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		tb.Fatalf("dial kafka: %v", err)
	}
	defer conn.Close()
	ctrl, err := conn.Controller()
	if err != nil {
		tb.Fatalf("kafka controller: %v", err)
	}
	cc, err := kafka.DialContext(ctx, "tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
	if err != nil {
		tb.Fatalf("dial kafka controller: %v", err)
	}
	defer cc.Close()
	if err := cc.CreateTopics(kafka.TopicConfig{Topic: name, NumPartitions: partitions, ReplicationFactor: 1}); err != nil {
		tb.Fatalf("create topic %s: %v", name, err)
	}
	for ctx.Err() == nil {
		parts, err := conn.ReadPartitions(name)
		if err == nil && len(parts) == partitions {
			ready := true
			for _, p := range parts {
				if p.Leader.Host == "" {
					ready = false
				}
			}
			if ready {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("topic %s: leaders not elected in time", name)
}

// Unique returns a short random hex string for names of test keys and topics.
func Unique() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Writer returns a synchronous, low-latency producer to topic, closed when the
// test ends. It has its own transport: kafka-go's shared default transport
// caches metadata for seconds and refuses topics created since.
func Writer(tb testing.TB, brokers []string, topic string) *kafka.Writer {
	tb.Helper()
	w := &kafka.Writer{
		Addr: kafka.TCP(brokers...), Topic: topic, Balancer: &kafka.Hash{},
		BatchTimeout: 2 * time.Millisecond, RequiredAcks: kafka.RequireAll,
		Transport: &kafka.Transport{},
	}
	tb.Cleanup(func() { _ = w.Close() })
	return w
}
