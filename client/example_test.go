package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"github.com/leadq/leadq/client"
)

// fakeLeadq answers like a leadq server with one lead in the queue.
func fakeLeadq() *httptest.Server {
	var claimed atomic.Bool // handlers run on the server's goroutines
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case r.URL.Path == "/v1/queue/next" && claimed.Load():
			w.WriteHeader(http.StatusNoContent)
		case r.URL.Path == "/v1/queue/next":
			claimed.Store(true)
			fmt.Fprint(w, `{"claim_id":"c-1","lease_expires_at":"2026-03-01T10:05:00Z",
				"lead":{"lead_id":"L-42","state":"claimed","probability":0.34,"features":{},"trigger_at":"2026-03-01T10:00:00Z","attempts":0,"pool":"emea"}}`)
		case r.URL.Path == "/v1/leads/L-42/outcome" && strings.Contains(string(body), `"claim_id":"c-1"`):
			fmt.Fprint(w, `{"lead_id":"L-42","state":"meeting"}`)
		default:
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusConflict)
			fmt.Fprint(w, `{"type":"about:blank","title":"Conflict","status":409,"detail":"stale claim"}`)
		}
	}))
}

// A dialer pulls the next-best lead, calls it and reports the outcome.
func Example() {
	srv := fakeLeadq()
	defer srv.Close()
	ctx := context.Background()
	c := client.New(srv.URL, "dialer-key", client.WithUserAgent("acme-dialer/1.0"))

	for {
		claim, err := c.Next(ctx, client.NextRequest{SDRID: "rep-7", Pools: []string{"emea"}})
		if err != nil {
			fmt.Println("next:", err)
			return
		}
		if claim == nil {
			fmt.Println("queue empty")
			return
		}
		fmt.Printf("call %s (p=%.2f) before %s\n", claim.Lead.LeadID, claim.Lead.Probability, claim.LeaseExpiresAt.Format("15:04"))
		res, err := c.Outcome(ctx, claim.Lead.LeadID, client.OutcomeRequest{
			ClaimID: claim.ClaimID, SDRID: "rep-7", Outcome: client.MeetingBooked,
		})
		var apiErr *client.Error
		switch {
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusConflict:
			fmt.Println("the lease expired:", apiErr.Detail)
		case err != nil:
			fmt.Println("outcome:", err)
			return
		default:
			fmt.Println(res.LeadID, "is now", res.State)
		}
	}
	// Output:
	// call L-42 (p=0.34) before 10:05
	// L-42 is now meeting
	// queue empty
}
