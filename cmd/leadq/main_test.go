package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/leadq/leadq/internal/testenv"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// serve starts the real program in-process and returns its base URL and a
// function that stops it and returns its exit error.
func serve(t *testing.T, env map[string]string) (string, func() error) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	go func() {
		done <- runServe(ctx, []string{"--http-addr", addr, "--shutdown-timeout", "5s"}, lookup, io.Discard, io.Discard)
	}()
	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("leadq exited at start: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("leadq did not serve /healthz within 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return base, func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("leadq did not stop within 30s of SIGTERM")
			return nil
		}
	}
}

func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestServeEmbeddedDefault(t *testing.T) {
	t.Parallel()
	start := time.Now()
	base, stop := serve(t, nil)
	t.Logf("embedded leadq served /healthz after %s", time.Since(start))
	if code, _, body := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("readyz %d: %s", code, body)
	}
	if code, _, body := get(t, base+"/metrics"); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("metrics %d", code)
	}
	if err := stop(); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
}

func TestServeRealServers(t *testing.T) {
	t.Parallel()
	u := testenv.Unique()
	env := map[string]string{
		"LEADQ_REDIS_URL":     testenv.RedisURL(t),
		"LEADQ_KAFKA_BROKERS": strings.Join(testenv.KafkaBrokers(t), ","),
		"LEADQ_TOPIC":         "ev" + u,
		"LEADQ_DLQ_TOPIC":     "dlq" + u,
		"LEADQ_GROUP_ID":      "g" + u,
		"LEADQ_KEY_PREFIX":    "t" + u + ":",
	}
	base, stop := serve(t, env)
	if code, _, body := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("readyz %d: %s", code, body)
	}
	if err := stop(); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
}

// TestBadConfigStopsStartup: a bad setting stops start-up with one line naming it.
func TestBadConfigStopsStartup(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--redis-url", "mysql://x", "--kafka-brokers", "k:9092"}, "LEADQ_REDIS_URL"},
		{[]string{"serve", "--roles", "api,cron"}, "LEADQ_ROLES"},
		{[]string{"serve", "--retrain-interval", "-1h"}, "LEADQ_RETRAIN_INTERVAL"},
		{[]string{"bogus"}, "unknown command"},
	} {
		err := run(t.Context(), tc.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: want error naming %s, got %v", tc.args, tc.want, err)
		}
	}
}
