package ident

import (
	"testing"
	"time"

	"github.com/leadq/leadq/internal/testenv"
)

// The email a lead with an external id is remembered by must be normalised
// the way every lookup normalises it (lower case and trimmed), or a later
// form with only that email makes a second lead for the same person.
func TestExternalIDEmailNormalisedLikeLookups(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	s := New(rdb, prefix, time.Hour)
	ctx := t.Context()
	f, err := s.Start(ctx, "form", "", "crm-7", " Joe@Acme.io")
	if err != nil || !f.Created || f.LeadID != "crm-7" {
		t.Fatalf("%+v %v", f, err)
	}
	g, err := s.Start(ctx, "form", "", "", "joe@acme.io")
	if err != nil {
		t.Fatal(err)
	}
	if g.Created || g.LeadID != "crm-7" {
		t.Fatalf("Start: the same email (trimmed, lower case) made lead %s (created %v), want crm-7", g.LeadID, g.Created)
	}
	if _, _, err := s.Resolve(ctx, "crm-8", "Ann@Acme.io "); err != nil {
		t.Fatal(err)
	}
	if id, created, _ := s.Resolve(ctx, "", "ann@acme.io"); created || id != "crm-8" {
		t.Fatalf("Resolve: the same email made lead %s (created %v), want crm-8", id, created)
	}
}
