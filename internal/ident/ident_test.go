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
