package ident

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/leadq/leadq/internal/testenv"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	s := New(rdb, prefix, time.Hour)
	ctx := t.Context()
	a, created, err := s.Resolve(ctx, "", "Jane@Acme.io")
	if err != nil || !created {
		t.Fatalf("%v %v", created, err)
	}
	b, created, err := s.Resolve(ctx, "", "jane@acme.io ")
	if err != nil || created || b != a {
		t.Fatalf("same email, other case: %s vs %s, created %v, %v", b, a, created, err)
	}
	c, created, _ := s.Resolve(ctx, "crm-42", "joe@acme.io")
	if !created || c != "crm-42" {
		t.Fatalf("external id: %s %v", c, created)
	}
	if d, created, _ := s.Resolve(ctx, "", "joe@acme.io"); created || d != "crm-42" {
		t.Fatalf("email of an external-id lead: %s %v", d, created)
	}
	// Concurrent first submissions of one email make exactly one lead.
	var wg sync.WaitGroup
	ids := make([]string, 20)
	news := make([]bool, 20)
	for i := range ids {
		wg.Go(func() { ids[i], news[i], _ = s.Resolve(ctx, "", "race@acme.io") })
	}
	wg.Wait()
	n := 0
	for i := range ids {
		if ids[i] != ids[0] {
			t.Fatalf("two leads for one email: %s %s", ids[i], ids[0])
		}
		if news[i] {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d callers were told they created the lead", n)
	}
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	s := New(rdb, prefix, time.Hour)
	ctx := t.Context()
	if a, err := s.Begin(ctx, "form", "k1"); a != nil || err != nil {
		t.Fatalf("first begin: %v %v", a, err)
	}
	if _, err := s.Begin(ctx, "form", "k1"); !errors.Is(err, ErrInProgress) {
		t.Fatalf("concurrent begin: %v", err)
	}
	if err := s.Finish(ctx, "form", "k1", Answer{Status: 201, Body: []byte(`{"lead_id":"L-1"}`)}); err != nil {
		t.Fatal(err)
	}
	a, err := s.Begin(ctx, "form", "k1")
	if err != nil || a == nil || a.Status != 201 || string(a.Body) != `{"lead_id":"L-1"}` {
		t.Fatalf("replay: %+v %v", a, err)
	}
	if a, err := s.Begin(ctx, "ingest", "k1"); a != nil || err != nil {
		t.Fatalf("keys are per scope: %v %v", a, err)
	}
	s.Abandon(ctx, "ingest", "k1")
	if a, err := s.Begin(ctx, "ingest", "k1"); a != nil || err != nil {
		t.Fatalf("after abandon: %v %v", a, err)
	}
}

// Start is Resolve and Begin in one round trip, with their semantics.
func TestStart(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	s := New(rdb, prefix, time.Hour)
	ctx := t.Context()
	f, err := s.Start(ctx, "form", "", "", "Ann@Acme.io")
	if err != nil || !f.Created || f.LeadID == "" || f.Answer != nil {
		t.Fatalf("new lead without a key: %+v %v", f, err)
	}
	if g, err := s.Start(ctx, "form", "", "", "ann@acme.io"); err != nil || g.Created || g.LeadID != f.LeadID {
		t.Fatalf("same email: %+v %v, want %s", g, err, f.LeadID)
	}
	// With a key: the first request owns it, a concurrent one is refused,
	// a later one gets the stored answer.
	k, err := s.Start(ctx, "form", "k1", "crm-7", "bob@acme.io")
	if err != nil || !k.Created || k.LeadID != "crm-7" || k.Answer != nil {
		t.Fatalf("first keyed request: %+v %v", k, err)
	}
	if _, err := s.Start(ctx, "form", "k1", "crm-7", "bob@acme.io"); !errors.Is(err, ErrInProgress) {
		t.Fatalf("concurrent keyed request: %v", err)
	}
	if err := s.Finish(ctx, "form", "k1", Answer{Status: 201, Body: []byte(`{"lead_id":"crm-7"}`)}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Start(ctx, "form", "k1", "crm-7", "bob@acme.io")
	if err != nil || r.Answer == nil || r.Answer.Status != 201 || string(r.Answer.Body) != `{"lead_id":"crm-7"}` {
		t.Fatalf("replay: %+v %v", r, err)
	}
	// A replayed key maps nothing: the email it carries (a client reusing a
	// key for another form) is still unknown to the next form.
	if r, err := s.Start(ctx, "form", "k1", "", "carol@acme.io"); err != nil || r.Answer == nil {
		t.Fatalf("replay with another email: %+v %v", r, err)
	}
	if c, err := s.Start(ctx, "form", "", "", "carol@acme.io"); err != nil || !c.Created {
		t.Fatalf("the email of a replayed request was mapped: %+v %v", c, err)
	}
	// The email of a new external-id lead is remembered.
	if e, err := s.Start(ctx, "form", "", "", "BOB@acme.io"); err != nil || e.Created || e.LeadID != "crm-7" {
		t.Fatalf("email of an external-id lead: %+v %v", e, err)
	}
	// An abandoned key can be used again.
	s.Abandon(ctx, "form", "k1")
	if a, err := s.Start(ctx, "form", "k1", "crm-7", ""); err != nil || a.Answer != nil || a.Created {
		t.Fatalf("after abandon: %+v %v", a, err)
	}
}
