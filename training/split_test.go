package training

import (
	"fmt"
	"slices"
	"testing"

	"github.com/leadq/leadq/model"
)

// TestSplitByTimeHoldsOutTheLatestLeads: 30 leads with 1 to 3 snapshots
// each, interleaved in time; the test split must be the leads whose latest
// snapshot is newest, calibration the ones just before, and no lead may
// have rows on two sides.
func TestSplitByTimeHoldsOutTheLatestLeads(t *testing.T) {
	t.Parallel()
	ds := &Dataset{Schema: model.Schema{Num: []string{"x"}}, Num: [][]float64{nil}}
	last := map[string]int64{}
	for i := range 60 {
		lead := fmt.Sprintf("L%d", (i*7)%30) // each lead recurs, out of order
		if i%3 == 2 && i > 40 {
			lead = fmt.Sprintf("L%d", i) // some leads with one snapshot
		}
		at := int64(1000 + i*10)
		ds.Num[0] = append(ds.Num[0], float64(i))
		ds.Label = append(ds.Label, i%2 == 0)
		ds.Time = append(ds.Time, at)
		ds.Group = append(ds.Group, lead)
		last[lead] = max(last[lead], at)
	}
	if err := ds.Validate(); err != nil {
		t.Fatal(err)
	}
	fit, cal, test, err := splitRows(ds, Options{Holdout: HoldoutTime, TestEvery: 5, CalEvery: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(fit)+len(cal)+len(test) != 60 || len(test) < 12 || len(cal) < 12 {
		t.Fatalf("fit %d, cal %d, test %d", len(fit), len(cal), len(test))
	}
	side := map[string]string{}
	newest := func(rows []int) (lo, hi int64) {
		lo = 1 << 62
		for _, i := range rows {
			lo, hi = min(lo, last[ds.Group[i]]), max(hi, last[ds.Group[i]])
		}
		return lo, hi
	}
	for name, rows := range map[string][]int{"fit": fit, "cal": cal, "test": test} {
		if !slices.IsSorted(rows) {
			t.Errorf("%s rows not ascending: %v", name, rows)
		}
		for _, i := range rows {
			if s, ok := side[ds.Group[i]]; ok && s != name {
				t.Errorf("lead %s is in %s and %s", ds.Group[i], s, name)
			}
			side[ds.Group[i]] = name
		}
	}
	_, fitHi := newest(fit)
	calLo, calHi := newest(cal)
	testLo, _ := newest(test)
	if !(fitHi < calLo && calHi < testLo) {
		t.Errorf("latest snapshot per lead: fit ≤ %d, cal %d..%d, test ≥ %d: want fit < cal < test", fitHi, calLo, calHi, testLo)
	}
	// The fingerprint follows the split.
	inter, err := HoldoutFingerprint(ds, Options{})
	if err != nil {
		t.Fatal(err)
	}
	timed, err := HoldoutFingerprint(ds, Options{Holdout: HoldoutTime, CalEvery: 4})
	if err != nil || inter == timed || timed != fingerprint(ds, test) {
		t.Errorf("fingerprints: interleaved %s, time %s (%v), want the time split's test rows", inter, timed, err)
	}
}

// Without times or groups the time split takes the last rows of the file.
func TestSplitByTimeDefaultsToRowOrder(t *testing.T) {
	t.Parallel()
	ds := &Dataset{Label: make([]bool, 20)}
	fit, cal, test, err := splitRows(ds, Options{Holdout: HoldoutTime, TestEvery: 5, CalEvery: 4})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(test, []int{16, 17, 18, 19}) || !slices.Equal(cal, []int{12, 13, 14, 15}) || len(fit) != 12 || fit[11] != 11 {
		t.Errorf("fit %v cal %v test %v", fit, cal, test)
	}
	if _, _, _, err := splitRows(ds, Options{Holdout: "random"}); err == nil {
		t.Error("holdout random accepted")
	}
}
