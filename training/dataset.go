package training

import (
	"fmt"

	"github.com/leadq/leadq/model"
)

// Dataset is a labelled table held by column: numeric columns as float64
// (NaN for missing) and categorical columns as strings, in Schema order.
type Dataset struct {
	Schema model.Schema
	Num    [][]float64 // Num[j][i] is numeric column j of row i
	Cat    [][]string  // Cat[j][i] is categorical column j of row i
	Label  []bool      // true for a positive (converted) row
	// Time (unix ms) and Group (e.g. the lead id) of each row are optional;
	// the time-ordered holdout uses them (see HoldoutTime).
	Time  []int64
	Group []string
}

// Len is the number of rows.
func (d *Dataset) Len() int { return len(d.Label) }

// Row copies row i into num and cat, which must have the schema's lengths.
func (d *Dataset) Row(i int, num []float64, cat []string) {
	for j := range d.Num {
		num[j] = d.Num[j][i]
	}
	for j := range d.Cat {
		cat[j] = d.Cat[j][i]
	}
}

// Validate checks that every column has one value per row.
func (d *Dataset) Validate() error {
	if len(d.Num) != len(d.Schema.Num) || len(d.Cat) != len(d.Schema.Cat) {
		return fmt.Errorf("training: dataset has %d+%d columns, schema %d+%d",
			len(d.Num), len(d.Cat), len(d.Schema.Num), len(d.Schema.Cat))
	}
	for j, c := range d.Num {
		if len(c) != d.Len() {
			return fmt.Errorf("training: column %q has %d values, want %d", d.Schema.Num[j], len(c), d.Len())
		}
	}
	for j, c := range d.Cat {
		if len(c) != d.Len() {
			return fmt.Errorf("training: column %q has %d values, want %d", d.Schema.Cat[j], len(c), d.Len())
		}
	}
	if (d.Time != nil && len(d.Time) != d.Len()) || (d.Group != nil && len(d.Group) != d.Len()) {
		return fmt.Errorf("training: %d row times and %d groups for %d rows", len(d.Time), len(d.Group), d.Len())
	}
	return nil
}

// positives counts positive labels among rows.
func (d *Dataset) positives(rows []int) int {
	n := 0
	for _, i := range rows {
		if d.Label[i] {
			n++
		}
	}
	return n
}
