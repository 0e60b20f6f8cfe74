package client

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// A CreateLead whose first attempt times out while the server still works on
// it is retried with the same Idempotency-Key. leadq answers such a repeat
// with 409 "a request with this Idempotency-Key is in progress; retry
// shortly" and Retry-After (api/lead_post.go) until the first attempt is done, then replays
// the first answer. The client must end with that answer, not the 409.
func TestCreateLeadRetriesWhileFirstInProgress(t *testing.T) {
	var mu sync.Mutex
	state := map[string]string{} // key -> "pending" | stored answer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		mu.Lock()
		prev, seen := state[key]
		if !seen {
			state[key] = "pending"
		}
		mu.Unlock()
		switch {
		case seen && prev == "pending": // what api.postLead answers for ident.ErrInProgress
			w.Header().Set("Retry-After", "1")
			serve(w, 409, `{"type":"about:blank","title":"Conflict","status":409,"detail":"a request with this Idempotency-Key is in progress; retry shortly"}`)
			return
		case seen:
			w.Header().Set("Idempotent-Replayed", "true")
			serve(w, 201, prev)
			return
		}
		time.Sleep(300 * time.Millisecond) // slow Redis: the client's attempt times out
		body := `{"lead_id":"L-1","probability":0.2,"tier":"B","model_version":"prior","reasons":[],"pool":"emea","priority":1}`
		mu.Lock()
		state[key] = body
		mu.Unlock()
		serve(w, 201, body)
	}))
	defer srv.Close()

	c := New(srv.URL, "k", WithHTTPClient(&http.Client{Timeout: 100 * time.Millisecond}),
		WithBackoff(100*time.Millisecond, 200*time.Millisecond), WithRetries(5))
	got, err := c.CreateLead(t.Context(), LeadForm{Email: "jane@acme.io", Company: "Acme"}, "form-123")
	if err != nil {
		t.Fatalf("CreateLead with a retried Idempotency-Key failed: %v", err)
	}
	if got.LeadID != "L-1" || !got.Created {
		t.Fatalf("got %+v, want the first answer (L-1, created)", got)
	}
}
