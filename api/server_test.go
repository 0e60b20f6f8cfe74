package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func newTestServer(checks ...Checker) *Server {
	return New(Config{BodyLimit: 1 << 16, Checks: checks, Registry: prometheus.NewRegistry(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	ok := Checker{Name: "redis", Check: func(context.Context) error { return nil }}
	down := Checker{Name: "kafka", Check: func(context.Context) error { return errors.New("dial tcp: connection refused") }}
	for _, tc := range []struct {
		name   string
		checks []Checker
		status int
	}{
		{"all up", []Checker{ok}, 200},
		{"kafka down", []Checker{ok, down}, 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, err := newTestServer(tc.checks...).App().Test(httptest.NewRequest("GET", "/readyz", nil))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != 503 {
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
			var p Problem
			if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
				t.Fatal(err)
			}
			if p.Status != 503 || len(p.Errors) != 1 || p.Errors[0].Field != "kafka" {
				t.Fatalf("problem must name kafka: %+v", p)
			}
			// /readyz needs no key: the dependency's error stays in the log.
			if strings.Contains(p.Detail+p.Errors[0].Detail, "dial tcp") {
				t.Fatalf("public readiness answer shows the dependency's error: %+v", p)
			}
		})
	}
}

func TestUnknownRouteIsProblemJSON(t *testing.T) {
	t.Parallel()
	resp, err := newTestServer().App().Test(httptest.NewRequest("GET", "/nope", nil))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// TestUnknownKeysAreLimited: requests with unknown keys are limited per
// client address, so keys cannot be guessed at the server's full speed.
func TestUnknownKeysAreLimited(t *testing.T) {
	t.Parallel()
	s := newTestServer()
	codes := map[int]int{}
	for i := range 40 {
		req := httptest.NewRequest("GET", "/v1/model", nil)
		req.Header.Set("Authorization", "Bearer guess-"+strconv.Itoa(i))
		resp, err := s.App().Test(req)
		if err != nil {
			t.Fatal(err)
		}
		codes[resp.StatusCode]++
	}
	if codes[401] < 10 || codes[401] > 25 || codes[429] == 0 {
		t.Fatalf("40 quick guesses from one address answered %v, want about 20 × 401 then 429", codes)
	}
}
