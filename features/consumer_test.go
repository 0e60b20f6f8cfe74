package features

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"

	"github.com/leadq/leadq/internal/testenv"
)

// TestConsumerChild is not a test on its own: TestConsumerSurvivesKill runs
// the test binary again with LEADQ_CONSUMER_CHILD set, so that the consumer
// is a separate process it can kill -9 mid-stream.
func TestConsumerChild(t *testing.T) {
	if os.Getenv("LEADQ_CONSUMER_CHILD") == "" {
		t.Skip("helper process of TestConsumerSurvivesKill")
	}
	get := os.Getenv
	opt, err := redis.ParseURL(get("LEADQ_TEST_REDIS_URL"))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	c, err := NewConsumer(ConsumerConfig{
		Brokers: strings.Split(get("LEADQ_TEST_KAFKA_BROKERS"), ","), Topic: get("CHILD_TOPIC"), DLQTopic: get("CHILD_DLQ"),
		GroupID: get("CHILD_GROUP"), BatchSize: 50, BatchWait: 5 * time.Millisecond, SessionTimeout: 6 * time.Second,
	}, NewStore(rdb, get("CHILD_PREFIX"), DefaultSpec()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := signalContext()
	defer stop()
	if err := c.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestConsumerSurvivesKill produces events for many leads (some of them bad),
// kills the consumer process without warning mid-stream, restarts it, and
// checks that the final features equal an uninterrupted fold of every good
// event and that every bad event is in the dead-letter topic.
func TestConsumerSurvivesKill(t *testing.T) {
	t.Parallel()
	brokers := testenv.KafkaBrokers(t)
	rdb, prefix := testenv.Redis(t)
	topic := testenv.Topic(t, brokers, 4)
	dlq := testenv.Topic(t, brokers, 1)
	group := "g" + testenv.Unique()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	spec := DefaultSpec()
	r := newRand(42)
	const leads, perLead = 150, 40
	var msgs []kafka.Message
	want := map[string][]Event{}
	bad := 0
	for i := range leads * perLead {
		lead := "lead-" + strconv.Itoa(r.IntN(leads))
		e := genEvent(r, lead, i)
		e.TS = time.Now().Add(-time.Duration(r.IntN(7*86400)) * time.Second).UTC().Truncate(time.Millisecond)
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if i%97 == 0 { // a bad event: unknown type
			b = []byte(strings.Replace(string(b), `"type":"`, `"type":"x_`, 1))
			bad++
		} else {
			de, err := Decode(b, time.Now(), DefaultLimits())
			if err != nil {
				t.Fatalf("generated event does not decode: %v: %s", err, b)
			}
			want[lead] = append(want[lead], de)
		}
		msgs = append(msgs, kafka.Message{Key: []byte(lead), Value: b})
	}
	w := testenv.Writer(t, brokers, topic)
	produce := func(part []kafka.Message) {
		for chunk := range slices.Chunk(part, 500) {
			if err := w.WriteMessages(ctx, chunk...); err != nil {
				t.Fatalf("produce: %v", err)
			}
		}
	}

	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestConsumerChild$", "-test.v")
		cmd.Env = append(os.Environ(), "LEADQ_CONSUMER_CHILD=1", "CHILD_TOPIC="+topic, "CHILD_DLQ="+dlq, "CHILD_GROUP="+group, "CHILD_PREFIX="+prefix)
		out, _ := os.CreateTemp(t.TempDir(), "child")
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	half := len(msgs) / 2
	produce(msgs[:half])
	child := start()
	waitCommitted(ctx, t, brokers, group, topic, 4, 100) // it is mid-stream
	produce(msgs[half : half+half/2])
	if err := child.Process.Kill(); err != nil { // SIGKILL: no polite close
		t.Fatal(err)
	}
	_ = child.Wait()
	produce(msgs[half+half/2:])
	child = start()
	waitCommitted(ctx, t, brokers, group, topic, 4, int64(len(msgs)))
	_ = child.Process.Signal(syscall.SIGTERM)
	_ = child.Wait()

	now := time.Now()
	for lead, evs := range want {
		got, err := NewStore(rdb, prefix, spec).Get(ctx, lead)
		if err != nil {
			t.Fatal(err)
		}
		assertSameFeatures(t, spec, foldEvents(spec, evs), got, now, 1e-9)
	}
	if n := countDLQ(ctx, t, brokers, dlq, bad); n < bad {
		t.Fatalf("dead-letter topic holds %d distinct bad events, want %d", n, bad)
	}
}

// waitCommitted waits until the group's committed offsets over the topic's
// partitions add up to at least n.
func waitCommitted(ctx context.Context, t *testing.T, brokers []string, group, topic string, parts int, n int64) {
	t.Helper()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	cl := &kafka.Client{Addr: kafka.TCP(brokers...), Transport: tr}
	ps := make([]int, parts)
	for i := range ps {
		ps[i] = i
	}
	for {
		resp, err := cl.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ps}})
		var total int64
		if err == nil {
			for _, p := range resp.Topics[topic] {
				if p.CommittedOffset > 0 {
					total += p.CommittedOffset
				}
			}
		}
		if total >= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("group committed %d of %d messages in time (last error %v)", total, n, err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// countDLQ reads the dead-letter topic and returns how many distinct source
// positions it holds, checking each carries a reason.
func countDLQ(ctx context.Context, t *testing.T, brokers []string, topic string, want int) int {
	t.Helper()
	rd := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: 0, MaxWait: 50 * time.Millisecond})
	defer rd.Close()
	seen := map[string]bool{}
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for len(seen) < want {
		m, err := rd.ReadMessage(rctx)
		if err != nil {
			break
		}
		h := map[string]string{}
		for _, x := range m.Headers {
			h[x.Key] = string(x.Value)
		}
		if h["leadq.reason"] != string(ReasonUnknownType) {
			t.Errorf("dead letter reason %q, want %q (detail %q)", h["leadq.reason"], ReasonUnknownType, h["leadq.detail"])
		}
		seen[fmt.Sprint(h["leadq.partition"], "/", h["leadq.offset"])] = true
	}
	return len(seen)
}
