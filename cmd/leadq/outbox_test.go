package main

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/testenv"
)

// TestFormEventsReachTheLog: the events of a form lead go through the Redis
// outbox to the real topic (marked as applied directly), so a replay of the
// topic rebuilds the lead after its state was wiped.
func TestFormEventsReachTheLog(t *testing.T) {
	t.Parallel()
	u := testenv.Unique()
	env := map[string]string{
		"LEADQ_REDIS_URL":     testenv.RedisURL(t),
		"LEADQ_KAFKA_BROKERS": strings.Join(testenv.KafkaBrokers(t), ","),
		"LEADQ_TOPIC":         "ev" + u,
		"LEADQ_DLQ_TOPIC":     "dlq" + u,
		"LEADQ_ALERT_TOPIC":   "al" + u,
		"LEADQ_GROUP_ID":      "g" + u,
		"LEADQ_KEY_PREFIX":    "t" + u + ":",
		"LEADQ_CALLING_HOURS": "",
		"LEADQ_API_KEYS":      "dialer:dialer-secret,form:form-secret",
	}
	base, stop := serve(t, env)
	form := `{"email":"ann@acme.io","company":"Acme","source":"website","country":"DE"}`
	code, body := do(t, "POST", base+"/v1/leads", "form-secret", form)
	var created struct {
		LeadID string `json:"lead_id"`
	}
	if err := json.Unmarshal([]byte(body), &created); code != 201 || err != nil {
		t.Fatalf("POST /v1/leads: %d %s", code, body)
	}
	before := leadTrigger(t, base, created.LeadID)
	if before == "" {
		t.Fatalf("a form lead without a trigger time")
	}

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: testenv.KafkaBrokers(t), Topic: env["LEADQ_TOPIC"], GroupID: "check" + u,
		StartOffset: kafka.FirstOffset, MaxWait: 50 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	seen := map[string]bool{}
	for len(seen) < 2 {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("form events on the topic: saw %v: %v", seen, err)
		}
		e, err := features.Decode(m.Value, time.Now(), features.DefaultLimits())
		if err != nil || e.LeadID != created.LeadID || string(m.Key) != e.LeadID || !hasDirect(m) {
			t.Fatalf("unexpected message %s (key %s, headers %v): %v", m.Value, m.Key, m.Headers, err)
		}
		seen[e.Type.String()] = true
	}
	if !seen["lead_created"] || !seen["form_submitted"] {
		t.Fatalf("events on the topic: %v", seen)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// Replay: the lead's state is rebuilt from the topic alone.
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	if err := runReplay(t.Context(), []string{"--yes"}, lookup, io.Discard, io.Discard); err != nil {
		t.Fatalf("replay: %v", err)
	}
	base, stop = serve(t, env)
	defer func() { _ = stop() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _ := do(t, "GET", base+"/v1/leads/"+created.LeadID, "dialer-secret", "")
		if code == 200 {
			if after := leadTrigger(t, base, created.LeadID); after == before {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("replay did not rebuild %s within 30s (GET answers %d)", created.LeadID, code)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leadTrigger returns the trigger time GET /v1/leads/{id} shows ("" if none).
func leadTrigger(t *testing.T, base, lead string) string {
	t.Helper()
	_, body := do(t, "GET", base+"/v1/leads/"+lead, "dialer-secret", "")
	var v struct {
		TriggerAt string `json:"trigger_at"`
	}
	_ = json.Unmarshal([]byte(body), &v)
	return v.TriggerAt
}

func hasDirect(m kafka.Message) bool {
	for _, h := range m.Headers {
		if h.Key == features.DirectHeader && string(h.Value) == "1" {
			return true
		}
	}
	return false
}
