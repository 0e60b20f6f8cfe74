package api

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/model"
)

func limitedServer(perKey, perIP float64, origins ...string) *Server {
	return New(Config{BodyLimit: 1 << 16, Registry: prometheus.NewRegistry(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		APIKeys: testKeys, Live: model.NewLive(features.DefaultSpec()), RateLimit: perKey, FormRateLimit: perIP, CORSOrigins: origins})
}

func TestRateLimitPerKey(t *testing.T) {
	t.Parallel()
	s := limitedServer(3, 0)
	codes := ""
	for range 5 {
		code, resp, ct := postJSON(t, s, "/v1/score", "form-secret", goodForm)
		codes += strconv.Itoa(code) + " "
		if code == 429 && (ct != "application/problem+json" || resp["status"] != 429.0) {
			t.Fatalf("429 must be problem+json: %s %v", ct, resp)
		}
	}
	if codes != "200 200 200 429 429 " {
		t.Fatalf("codes %s, want a burst of 3 then 429", codes)
	}
	// Another key has its own bucket.
	if code, _, _ := postJSON(t, s, "/v1/score", "admin-secret", goodForm); code != 200 {
		t.Fatalf("admin key throttled by the form key's bucket: %d", code)
	}
	req := httptest.NewRequest("POST", "/v1/score", strings.NewReader(goodForm))
	req.Header.Set("Authorization", "Bearer form-secret")
	resp, _ := s.App().Test(req)
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != 429 || err != nil || ra < 1 {
		t.Fatalf("Retry-After %q on %d", resp.Header.Get("Retry-After"), resp.StatusCode)
	}
}

func TestFormRateLimitPerAddress(t *testing.T) {
	t.Parallel()
	s := limitedServer(0, 1) // burst 2
	var got []int
	for range 3 {
		code, _, _ := postJSON(t, s, "/v1/score", "form-secret", goodForm)
		got = append(got, code)
	}
	if got[0] != 200 || got[1] != 200 || got[2] != 429 {
		t.Fatalf("codes %v", got)
	}
	// Dialer keys are not limited per address.
	s2 := limitedServer(0, 0.001)
	for range 3 {
		req := httptest.NewRequest("GET", "/v1/model", nil)
		req.Header.Set("Authorization", "Bearer admin-secret")
		resp, _ := s2.App().Test(req)
		if resp.StatusCode == 429 {
			t.Fatal("admin route limited per address")
		}
	}
}

func TestLimitersForgetIdleBuckets(t *testing.T) {
	t.Parallel()
	l := newLimiters(1, 1)
	now := time.Now()
	for i := range 100 {
		l.allow("ip-"+strconv.Itoa(i), now)
	}
	l.allow("fresh", now.Add(10*time.Minute))
	if len(l.m) != 1 {
		t.Fatalf("%d buckets kept, want only the fresh one", len(l.m))
	}
}

func TestCORSOnFormRoutesOnly(t *testing.T) {
	t.Parallel()
	s := limitedServer(0, 0, "https://www.example.com")
	preflight := func(path, origin string) string {
		req := httptest.NewRequest("OPTIONS", path, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
		resp, err := s.App().Test(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Header.Get("Access-Control-Allow-Origin")
	}
	if got := preflight("/v1/leads", "https://www.example.com"); got != "https://www.example.com" {
		t.Fatalf("form route preflight: allow-origin %q", got)
	}
	if got := preflight("/v1/score", "https://evil.example"); got != "" {
		t.Fatalf("unknown origin allowed: %q", got)
	}
	if got := preflight("/v1/queue/next", "https://www.example.com"); got != "" {
		t.Fatalf("dialer route must not allow browsers: %q", got)
	}
}
