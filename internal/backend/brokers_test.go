package backend

import (
	"context"
	"testing"
	"time"

	"github.com/leadq/leadq/internal/testenv"
)

// TestOpenWithFirstBrokerDown: LEADQ_KAFKA_BROKERS lists several
// bootstrap brokers so that one being down does not stop leadq; waitReady
// accepts any of them, and so must the topic creation that follows.
func TestOpenWithFirstBrokerDown(t *testing.T) {
	brokers := append([]string{"127.0.0.1:1"}, testenv.KafkaBrokers(t)...)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	b, err := Open(ctx, testConfig(testenv.RedisURL(t), brokers), discardLogger())
	if err != nil {
		t.Fatalf("Open with brokers %v (the second one is up): %v", brokers, err)
	}
	b.Close()
}
