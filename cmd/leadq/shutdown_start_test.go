package main

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestServeExitsWhenARoleFailsAtStart: a loop that fails at start (here
// the pprof listener, whose port is taken) must stop the process with its
// error. The HTTP server is then started after the group's context ended,
// and Serve must not keep it listening forever.
func TestServeExitsWhenARoleFailsAtStart(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := freeAddr(t)
	done := make(chan error, 1)
	go func() {
		done <- runServe(t.Context(), []string{"--http-addr", addr, "--pprof-addr", busy.Addr().String(),
			"--calling-hours", "", "--shutdown-timeout", "2s"}, func(string) (string, bool) { return "", false }, io.Discard, io.Discard)
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("runServe returned nil, want the pprof listener's error")
		}
		t.Logf("runServe: %v", err)
	case <-time.After(20 * time.Second):
		c, derr := net.DialTimeout("tcp", addr, time.Second)
		if derr == nil {
			c.Close()
		}
		t.Fatalf("runServe still running 20s after the pprof listener failed (HTTP port %s accepting: %v)", addr, derr == nil)
	}
}
