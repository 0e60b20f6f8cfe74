package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestPprofDoesNotServeCmdline: --api-keys is a flag, so the process's
// command line may hold every API key; the profiling listener must not serve it.
func TestPprofDoesNotServeCmdline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	old := os.Args
	os.Args = append(append([]string{}, old...), "--api-keys", "admin:TOPSECRETADMINKEY")
	defer func() { os.Args = old }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = servePprof(ctx, addr, slog.New(slog.DiscardHandler)) }()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/debug/pprof/cmdline")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), "TOPSECRETADMINKEY") {
			t.Fatalf("GET /debug/pprof/cmdline (%d) serves the API keys: %q", resp.StatusCode, strings.ReplaceAll(string(b), "\x00", " "))
		}
		return
	}
	t.Fatal("pprof listener never answered")
}
