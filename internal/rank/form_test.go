package rank

import (
	"errors"
	"io"
	"log/slog"
	"maps"
	"testing"
	"time"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/queue"
	"github.com/leadq/leadq/internal/testenv"
	"github.com/leadq/leadq/model"
)

func formEvents(lead, req, region string, now time.Time) []features.Applied {
	p := features.Props{Company: "Acme", Region: region, Source: "referral", Title: "VP Sales"}
	return []features.Applied{
		{Event: features.Event{EventID: req + "-lead_created", LeadID: lead, Type: features.LeadCreated, TS: now, Props: p}, Partition: -1, Direct: true},
		{Event: features.Event{EventID: req + "-form_submitted", LeadID: lead, Type: features.FormSubmitted, TS: now}, Partition: -1, Direct: true},
	}
}

// TestSubmitNewLead: a new lead's form leaves the hash the general apply
// would (plus its pool) and is queued in its pool; a "new" lead that had
// state after all gets the events applied on top and ends in the pool of the
// whole state, and only there.
func TestSubmitNewLead(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rdb, prefix := testenv.Redis(t)
	spec := features.DefaultSpec()
	store := features.NewStore(rdb, prefix, spec)
	ob := features.NewOutbox(rdb, prefix)
	qcfg := queue.DefaultConfig()
	qcfg.Prefix = prefix
	q, err := queue.New(rdb, qcfg)
	if err != nil {
		t.Fatal(err)
	}
	r := New(rdb, store, model.NewLive(spec), q, mustRouter(t, "na=region:na;emea=region:emea"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	now := time.Now().UTC().Truncate(time.Millisecond)

	pl, err := r.Submit(ctx, ob, "L-new", formEvents("L-new", "r1", "na", now), true, now)
	if err != nil || pl.Pool != "na" || pl.Placement.State != "queued" || pl.P <= 0 {
		t.Fatalf("Submit = %+v, %v", pl, err)
	}
	if _, err := store.ApplyDirect(ctx, ob, formEvents("L-ref", "r1", "na", now), nil); err != nil {
		t.Fatal(err)
	}
	want, _ := store.Get(ctx, "L-ref")
	want[poolField] = "na" // the same request id: the same _x: markers
	if got, _ := store.Get(ctx, "L-new"); !maps.Equal(got, want) {
		t.Fatalf("new lead's hash:\n got %v\nwant %v", got, want)
	}
	if st, err := q.Get(ctx, "na", "L-new", now); err != nil || st.State != "queued" {
		t.Fatalf("queue: %+v, %v", st, err)
	}

	// Events under the id came first: a later lead_updated moved it to emea.
	later := features.Applied{Event: features.Event{EventID: "k1", LeadID: "L-old", Type: features.LeadUpdated,
		TS: now.Add(time.Minute), Props: features.Props{Region: "emea"}}, Partition: 0, Offset: 5}
	if _, err := store.Apply(ctx, []features.Applied{later}); err != nil {
		t.Fatal(err)
	}
	form := formEvents("L-old", "r2", "na", now)
	pl, err = r.Submit(ctx, ob, "L-old", form, true, now)
	if err != nil || pl.Pool != "emea" {
		t.Fatalf("Submit over existing state = %+v, %v", pl, err)
	}
	whole := features.State{}
	spec.FoldApplied(whole, []features.Applied{later})
	spec.FoldApplied(whole, form)
	whole[poolField] = "emea"
	if got, _ := store.Get(ctx, "L-old"); !maps.Equal(got, whole) {
		t.Fatalf("merged hash:\n got %v\nwant %v", got, whole)
	}
	if _, err := q.Get(ctx, "na", "L-old", now); !errors.Is(err, queue.ErrNotFound) {
		t.Errorf("lead left in the pool of the form alone: %v", err)
	}
	if st, err := q.Get(ctx, "emea", "L-old", now); err != nil || st.State != "queued" {
		t.Errorf("queue emea: %+v, %v", st, err)
	}
}
