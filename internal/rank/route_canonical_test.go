package rank

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/route"
	"github.com/leadq/leadq/model"
)

// TestRouteRulesAsDocumented: route.Parse's own example,
// "dach=country:de|at|ch;enterprise=company_size:1001_5000|5001+", and
// values written as leads send them ("Germany", "Financial Services"), must
// route the leads they name; the rule values have to be compared in the
// spec's canonical form, as the extracted features are.
func TestRouteRulesAsDocumented(t *testing.T) {
	spec := features.DefaultSpec()
	store := features.NewStore(nil, "x:", spec)
	now := time.Now().UTC()
	for _, tc := range []struct {
		rules string
		props features.Props
		want  string
	}{
		{"dach=country:de|at|ch;enterprise=company_size:1001_5000|5001+", features.Props{Company: "Big", Country: "us", CompanySize: "5001+"}, "enterprise"},
		{"dach=country:germany|austria", features.Props{Company: "Acme", Country: "DE"}, "dach"},
		{"fin=industry:Financial Services", features.Props{Company: "Bank", Industry: "banking"}, "fin"},
	} {
		router, err := route.Parse(tc.rules, "row")
		if err != nil {
			t.Fatalf("%s: %v", tc.rules, err)
		}
		r := New(nil, store, model.NewLive(spec), nil, router, slog.New(slog.NewTextHandler(io.Discard, nil)))
		st := spec.NewLeadState([]features.Applied{
			{Event: features.Event{EventID: "e1", LeadID: "L", Type: features.LeadCreated, TS: now, Props: tc.props}, Partition: -1, Direct: true},
			{Event: features.Event{EventID: "e2", LeadID: "L", Type: features.FormSubmitted, TS: now}, Partition: -1, Direct: true},
		})
		pl, _, _ := r.score("L", st, now, false)
		if pl.Pool != tc.want {
			t.Errorf("rules %q, lead %+v: routed to %q, want %q", tc.rules, tc.props, pl.Pool, tc.want)
		}
	}
}
