package api

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// The latency histogram's method label must stay what the request's method
// was: a label value that borrows fasthttp's header buffer is rewritten by
// the next request on the same connection.
func TestMetricsMethodLabelIsNotBorrowed(t *testing.T) {
	s := newTestServer()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.App().Listener(ln) }()
	defer s.App().Shutdown()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	send := func(method, path string) int {
		fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", method, path)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	send("GET", "/healthz")  // first sample of {route="/healthz", method="GET", status="200"}
	send("POST", "/healthz") // same connection: fasthttp rewrites its method buffer
	send("PUT", "/healthz")

	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var lines []string
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "leadq_http_request_duration_seconds_count") {
			lines = append(lines, l)
		}
	}
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics answered %d: %s", resp.StatusCode, body)
	}
	want := `leadq_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 1`
	if !strings.Contains(string(body), want) {
		t.Fatalf("no series %s; the request counts are:\n%s", want, strings.Join(lines, "\n"))
	}
}
