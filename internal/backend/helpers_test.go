package backend

import (
	"io"
	"log/slog"
	"time"

	"github.com/leadq/leadq/internal/config"
	"github.com/leadq/leadq/internal/testenv"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testConfig(redisURL string, brokers []string) config.Config {
	u := testenv.Unique()
	return config.Config{
		RedisURL: redisURL, KafkaBrokers: brokers, Partitions: 3,
		Topic: "ev" + u, DLQTopic: "dlq" + u, AlertTopic: "al" + u, GroupID: "g" + u, KeyPrefix: "t" + u + ":",
		BatchSize: 100, BatchWait: 10 * time.Millisecond,
	}
}
