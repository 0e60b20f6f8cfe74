package api

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestFormAddressFloodKeepsKeyBudget: form keys ship in public pages,
// so one client address over its own limit must not spend the form key's
// shared per-key budget and lock every other visitor out of the forms.
func TestFormAddressFloodKeepsKeyBudget(t *testing.T) {
	s := limitedServer(4, 1) // the form key: burst 4; each address: burst 2
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.App().Listener(ln) }()
	defer func() { _ = s.App().ShutdownWithTimeout(time.Second) }()
	post := func(src string) int {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
		cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext:       func(ctx context.Context, n, a string) (net.Conn, error) { return d.DialContext(ctx, n, a) },
		}}
		req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/v1/score", strings.NewReader(goodForm))
		req.Header.Set("Authorization", "Bearer form-secret")
		req.Header.Set("Content-Type", "application/json")
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatalf("from %s: %v", src, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var flood []int
	for range 10 { // one abusive address
		flood = append(flood, post("127.0.0.2"))
	}
	if code := post("127.0.0.3"); code != 200 {
		t.Fatalf("first form from another address answered %d after one address was throttled (its codes %v): "+
			"requests refused per address still spent the form key's budget", code, flood)
	}
}
