package training

import (
	"cmp"
	"fmt"
	"slices"
)

// Holdout modes (Options.Holdout).
const (
	// HoldoutInterleave makes 0-based row i a test row when
	// i%TestEvery == TestEvery-1: the fair split for a file whose rows
	// drift with their order (the bank benchmark requires it).
	HoldoutInterleave = "interleave"
	// HoldoutTime holds out the latest rows: what a model trained now will
	// face is the future, so that is what it is judged on. Rows are ordered
	// by Dataset.Time (row order when it is nil) and grouped by
	// Dataset.Group, so that all snapshots of one lead are on one side.
	HoldoutTime = "time"
)

// splitRows assigns every row of ds to the fitting, calibration or test
// split as o.Holdout says. Each split lists its rows in ascending order.
func splitRows(ds *Dataset, o Options) (fit, cal, test []int, err error) {
	switch o.Holdout {
	case HoldoutInterleave:
		fit, cal, test = split(ds.Len(), o.TestEvery, o.CalEvery)
		return fit, cal, test, nil
	case HoldoutTime:
		fit, cal, test = splitByTime(ds, o.TestEvery, o.CalEvery)
		return fit, cal, test, nil
	}
	return nil, nil, nil, fmt.Errorf("%w: holdout %q is not %s or %s", ErrOptions, o.Holdout, HoldoutInterleave, HoldoutTime)
}

// splitByTime orders groups (leads) by their latest row and gives the latest
// groups to test until it holds n/testEvery rows, the groups before them to
// calibration until it holds 1/calEvery of the rest, and the remainder to
// fitting: calibration (which also picks the model) is the recent past of
// the test period, and no lead straddles two splits.
func splitByTime(ds *Dataset, testEvery, calEvery int) (fit, cal, test []int) {
	n := ds.Len()
	at := func(i int) int64 {
		if ds.Time != nil {
			return ds.Time[i]
		}
		return int64(i)
	}
	type group struct {
		last int64
		rows []int
	}
	var groups []*group
	byKey := map[string]*group{}
	for i := range n {
		var g *group
		if ds.Group != nil {
			g = byKey[ds.Group[i]]
		}
		if g == nil {
			g = &group{last: at(i)}
			groups = append(groups, g)
			if ds.Group != nil {
				byKey[ds.Group[i]] = g
			}
		}
		g.rows = append(g.rows, i)
		g.last = max(g.last, at(i))
	}
	// Latest first; ties by first row, latest first, so the order is total.
	slices.SortStableFunc(groups, func(a, b *group) int {
		return cmp.Or(cmp.Compare(b.last, a.last), cmp.Compare(b.rows[0], a.rows[0]))
	})
	wantTest := n / testEvery
	wantCal := (n - wantTest) / calEvery
	for _, g := range groups {
		switch {
		case len(test) < wantTest:
			test = append(test, g.rows...)
		case len(cal) < wantCal:
			cal = append(cal, g.rows...)
		default:
			fit = append(fit, g.rows...)
		}
	}
	slices.Sort(fit)
	slices.Sort(cal)
	slices.Sort(test)
	return fit, cal, test
}

// HoldoutRows returns the rows of ds that Train with opts holds out for
// testing, ascending: what card.Metrics were computed on.
func HoldoutRows(ds *Dataset, opts Options) ([]int, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	_, _, test, err := splitRows(ds, o)
	return test, err
}
