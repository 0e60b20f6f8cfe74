package training

import (
	"bytes"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/testenv"
)

// leadState folds one lead's creation event (with the given source) into a
// feature state.
func leadState(spec *features.Spec, lead, source string, at time.Time) features.State {
	st := features.State{}
	features.Fold(st, spec.Compile(features.Event{EventID: lead + "-c", LeadID: lead, Type: features.LeadCreated,
		TS: at, Props: features.Props{Source: source, Industry: "software"}}, nil))
	return st
}

// TestSnapshotLabelDataset records snapshots, labels them with outcomes in
// and out of the horizon and in both orders, and checks which rows the
// dataset holds with which labels and values.
func TestSnapshotLabelDataset(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	ctx := t.Context()
	spec := features.DefaultSpec()
	now := time.Now().UTC().Truncate(time.Millisecond)
	s, err := NewSnapshots(rdb, spec, SnapshotConfig{Prefix: prefix, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	record := func(lead, source string, at time.Time) {
		t.Helper()
		if err := s.Record(ctx, lead, "claim", leadState(spec, lead, source, at.Add(-time.Hour)), at); err != nil {
			t.Fatal(err)
		}
	}
	label := func(lead, outcome string, at time.Time, want int) {
		t.Helper()
		if n, err := s.Label(ctx, lead, outcome, at); err != nil || n != want {
			t.Errorf("Label(%s, %s) = %d, %v; want %d", lead, outcome, n, err, want)
		}
	}
	record("old", "email", ago(40*day))        // unlabelled, past the horizon: negative
	record("young", "email", ago(10*day))      // unlabelled, within it: left out
	record("conv", "website", ago(10*day))     // converted 7 days later: positive
	record("conv", "website", ago(5*day))      // positive too
	record("conv", "website", ago(1*day))      // taken after the outcome: left out
	record("flip", "referral", ago(20*day))    // disqualified, then converted: positive
	record("flop", "referral", ago(20*day))    // converted, then disqualified: positive
	record("late", "partner", ago(60*day))     // converted 58 days later: beyond the horizon, negative
	record("tired", "event", ago(10*day))      // attempts exhausted, within the horizon: left out
	record("tired2", "event", ago(35*day))     // attempts exhausted, past it: negative
	record("dq", "purchased_list", ago(3*day)) // disqualified: a final negative at once

	label("conv", "converted", ago(3*day), 2)
	label("conv", "converted", ago(3*day), 0) // idempotent
	label("conv", "no_answer", ago(2*day), 0) // not a training outcome
	label("flip", "disqualified", ago(19*day), 1)
	label("flip", "Converted", ago(2*day), 1)
	label("flop", "meeting_booked", ago(19*day), 1)
	label("flop", "disqualified", ago(2*day), 0)
	label("late", "converted", ago(2*day), 0)
	label("tired", "attempts_exhausted", ago(9*day), 1)
	label("tired2", "attempts_exhausted", ago(34*day), 1)
	label("dq", "disqualified", ago(2*day), 1)

	ds, st, err := s.Dataset(ctx, ago(90*day))
	if err != nil {
		t.Fatal(err)
	}
	// In time order: late(-60, neg), old(-40, neg), tired2(-35, neg),
	// flip(-20, pos), flop(-20, pos), conv(-10, pos), conv(-5, pos), dq(-3, neg).
	wantSrc := []string{"partner", "email", "event", "referral", "referral", "website", "website", "purchased_list"}
	wantY := []bool{false, false, false, true, true, true, true, false}
	src := ds.Cat[slices.Index(ds.Schema.Cat, "source_first")]
	if !slices.Equal(src, wantSrc) || !slices.Equal(ds.Label, wantY) {
		t.Errorf("sources %q labels %v\nwant    %q        %v", src, ds.Label, wantSrc, wantY)
	}
	if st.Rows != 8 || st.Positives != 4 || st.Pending != 3 || st.Foreign != 0 ||
		!st.From.Equal(ago(60*day)) || !st.To.Equal(ago(3*day)) {
		t.Errorf("stats %+v", st)
	}
	if !slices.Equal(ds.Schema.Num, spec.NumNames()) || !slices.Equal(ds.Schema.Cat, spec.CatNames()) {
		t.Error("schema is not the spec's")
	}
	// The stored vector is the one extracted at the snapshot time.
	num, cat := make([]float64, len(spec.NumNames())), make([]string, len(spec.CatNames()))
	spec.Extract(leadState(spec, "conv", "website", ago(5*day).Add(-time.Hour)), ago(5*day), num, cat)
	gotNum, gotCat := make([]float64, len(num)), make([]string, len(cat))
	ds.Row(6, gotNum, gotCat)
	if !slices.Equal(gotNum, num) || !slices.Equal(gotCat, cat) {
		t.Errorf("row 6 = %v %q\nwant    %v %q", gotNum, gotCat, num, cat)
	}
	if ds.Num[slices.Index(ds.Schema.Num, "age_s")][6] != 3600 {
		t.Errorf("age_s of row 6 = %v, want 3600 (an hour old when surfaced)", gotNum)
	}

	// since cuts the window.
	if ds2, _, err := s.Dataset(ctx, ago(30*day)); err != nil || ds2.Len() != 5 {
		t.Errorf("Dataset(since 30 days) has %d rows, %v; want 5", ds2.Len(), err)
	}

	// CSV export reads back through the CSV loader.
	var buf bytes.Buffer
	if err := s.ExportCSV(ctx, &buf, ago(90*day)); err != nil {
		t.Fatal(err)
	}
	back, err := LoadCSV(&buf, CSVOptions{Target: "converted"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Label, ds.Label) || back.Len() != ds.Len() {
		t.Errorf("CSV round trip labels %v, want %v", back.Label, ds.Label)
	}
	j := slices.Index(back.Schema.Num, "age_s")
	if j < 0 || back.Num[j][6] != 3600 {
		t.Errorf("CSV round trip lost age_s: %v", back.Schema.Num)
	}
}

func TestSnapshotRejectsBadInput(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	spec := features.DefaultSpec()
	s, err := NewSnapshots(rdb, spec, SnapshotConfig{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecordVector(t.Context(), "l", "form", []float64{1}, nil, time.Now()); err == nil {
		t.Error("a vector of the wrong length was recorded")
	}
	if _, err := NewSnapshots(rdb, spec, SnapshotConfig{Positive: []string{"x"}, Negative: []string{"x"}}); err == nil {
		t.Error("an outcome in two classes was accepted")
	}
	if _, err := NewSnapshots(rdb, spec, SnapshotConfig{Horizon: 40 * 24 * time.Hour, Retention: 24 * time.Hour}); err == nil {
		t.Error("retention shorter than the horizon was accepted")
	}
}

func TestWriteCSVMissing(t *testing.T) {
	t.Parallel()
	ds := &Dataset{Num: [][]float64{{1.5, math.NaN()}}, Cat: [][]string{{"a", ""}}, Label: []bool{true, false}}
	ds.Schema.Num, ds.Schema.Cat = []string{"x"}, []string{"c"}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, ds, "y"); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "x,c,y\n1.5,a,yes\n,,no\n"; got != want {
		t.Errorf("CSV %q, want %q", got, want)
	}
	if err := WriteCSV(&buf, ds, "x"); err == nil {
		t.Error("a target that is also a feature was accepted")
	}
}
