// Package backend connects leadq to Redis and Kafka: the production servers
// named in the config, or in-process embedded ones for trying leadq. Either
// way the rest of the service talks to them through go-redis and kafka-go.
package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"

	"github.com/leadq/leadq/internal/config"
)

// Backend holds the Redis client and Kafka brokers the service uses.
type Backend struct {
	Redis    *redis.Client
	Brokers  []string
	Embedded bool
	closers  []func()
}

// Open connects to the configured servers, or starts the embedded ones when
// none is configured, and makes sure the event and dead-letter topics exist.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*Backend, error) {
	b := &Backend{Brokers: cfg.KafkaBrokers}
	redisURL := cfg.RedisURL
	if cfg.Embedded() {
		emb, err := StartEmbedded(cfg.Partitions, cfg.Topic, cfg.DLQTopic, cfg.AlertTopic)
		if err != nil {
			return nil, err
		}
		b.Embedded = true
		b.closers = append(b.closers, emb.Close)
		redisURL = "redis://" + emb.RedisAddr + "/0"
		b.Brokers = emb.KafkaAddrs
		log.Warn("EMBEDDED MODE: no LEADQ_REDIS_URL or LEADQ_KAFKA_BROKERS set, so leadq runs in-process Redis and Kafka servers; NOTHING IS KEPT ON DISK and everything is lost at exit. This mode is for trying leadq; set both variables for production.",
			"redis", emb.RedisAddr, "kafka", emb.KafkaAddrs)
	}
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("LEADQ_REDIS_URL: %w", err)
	}
	// Short timeouts: a request that needs a down Redis must fail fast with
	// 503, not hang; go-redis reconnects by itself when Redis is back.
	opt.DialTimeout = 2 * time.Second
	opt.ReadTimeout = 2 * time.Second
	opt.WriteTimeout = 2 * time.Second
	b.Redis = redis.NewClient(opt)
	b.closers = append([]func(){func() { _ = b.Redis.Close() }}, b.closers...)
	if err := b.waitReady(ctx, 30*time.Second); err != nil {
		b.Close()
		return nil, err
	}
	if err := EnsureTopics(ctx, b.Brokers, cfg.Partitions, cfg.Topic, cfg.DLQTopic, cfg.AlertTopic); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// waitReady retries until Redis and Kafka answer, so leadq can start together
// with its servers (as under docker compose or systemd).
func (b *Backend) waitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		err := b.CheckRedis(ctx)
		if err == nil {
			err = b.CheckKafka(ctx)
		}
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for Redis and Kafka: %w", err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// CheckRedis pings Redis.
func (b *Backend) CheckRedis(ctx context.Context) error {
	if err := b.Redis.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// CheckKafka asks one of the brokers for its metadata.
func (b *Backend) CheckKafka(ctx context.Context) error {
	var errs []error
	for _, addr := range b.Brokers {
		d := kafka.Dialer{Timeout: 2 * time.Second}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
		_, err = conn.Brokers()
		_ = conn.Close()
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("kafka: %w", errors.Join(errs...))
}

// Close releases clients and stops embedded servers.
func (b *Backend) Close() {
	for _, c := range b.closers {
		c()
	}
	b.closers = nil
}

// EnsureTopics creates the topics that do not exist yet, with the given
// partition count and the cluster's default replication.
func EnsureTopics(ctx context.Context, brokers []string, partitions int, topics ...string) error {
	if len(brokers) == 0 {
		return errors.New("kafka: no brokers")
	}
	// Any bootstrap broker will do, as in CheckKafka: one being down must
	// not stop start-up.
	var conn *kafka.Conn
	var errs []error
	for _, addr := range brokers {
		c, err := (&kafka.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", addr)
		if err == nil {
			conn = c
			break
		}
		errs = append(errs, err)
	}
	if conn == nil {
		return fmt.Errorf("kafka: %w", errors.Join(errs...))
	}
	defer conn.Close()
	ctrl, err := conn.Controller()
	if err != nil {
		return fmt.Errorf("kafka controller: %w", err)
	}
	cc, err := (&kafka.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
	if err != nil {
		return fmt.Errorf("kafka controller: %w", err)
	}
	defer cc.Close()
	cfgs := make([]kafka.TopicConfig, 0, len(topics))
	for _, t := range topics {
		cfgs = append(cfgs, kafka.TopicConfig{Topic: t, NumPartitions: partitions, ReplicationFactor: -1})
	}
	if err := cc.CreateTopics(cfgs...); err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("kafka: create topics %v: %w", topics, err)
	}
	// A created topic has no partition leaders for a moment; a consumer that
	// joins its group then gets no partitions and a producer fails.
	for _, t := range topics {
		if err := waitLeaders(ctx, conn, t); err != nil {
			return err
		}
	}
	return nil
}

// waitLeaders waits until every partition of topic has a leader.
func waitLeaders(ctx context.Context, conn *kafka.Conn, topic string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		parts, err := conn.ReadPartitions(topic)
		if err == nil && len(parts) > 0 {
			ready := true
			for _, p := range parts {
				ready = ready && p.Leader.Host != ""
			}
			if ready {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kafka: topic %s has no partition leaders after 30s: %v", topic, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
