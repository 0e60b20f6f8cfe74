package training

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// CSVOptions say how to read a lead CSV.
type CSVOptions struct {
	Sep    rune   // field separator; 0 means ','
	Target string // name of the label column (required)
	// Positive lists the target values (case-insensitive) that mark a
	// positive row; every other value is negative. Empty means the usual
	// spellings: yes/no, y/n, true/false, t/f, 1/0, positive/negative, and
	// anything else is an error, so that a typo cannot become a label.
	Positive []string
	Drop     []string // columns to ignore, e.g. ones known only after the outcome
}

// ErrCSV marks a CSV the loader cannot use; the message names row and column.
var ErrCSV = errors.New("training: unusable CSV")

var (
	defaultPositive = []string{"yes", "y", "true", "t", "1", "positive"}
	defaultNegative = []string{"no", "n", "false", "f", "0", "negative"}
	// missingTokens mark a missing value. A numeric column may contain them
	// (they become NaN); a categorical column keeps them as their own
	// category, since "unknown" often carries signal of its own.
	missingTokens = []string{"", "na", "n/a", "nan", "null", "none", "?", "unknown"}
)

// MissingCategory is the category an empty categorical cell becomes.
const MissingCategory = "(missing)"

// LoadCSVFile opens path and loads it with LoadCSV.
func LoadCSVFile(path string, opts CSVOptions) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("training: %w", err)
	}
	defer f.Close()
	return LoadCSV(f, opts)
}

// LoadCSV reads a CSV with a header row. Each column other than the target
// and the dropped ones becomes numeric if every non-missing value parses as
// a number, else categorical. Errors name the row as a spreadsheet does (the
// header is row 1) and the column.
func LoadCSV(r io.Reader, opts CSVOptions) (*Dataset, error) {
	cr := csv.NewReader(r)
	if opts.Sep != 0 {
		cr.Comma = opts.Sep
	}
	cr.FieldsPerRecord = -1 // checked below, with a better message
	cr.LazyQuotes = true
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrCSV, err)
	}
	header = slices.Clone(header)
	header[0] = strings.TrimPrefix(header[0], "\ufeff")
	cols, target, err := pickColumns(header, opts)
	if err != nil {
		return nil, err
	}
	var raw [][]string // raw[k][i]: kept column k, data row i
	raw = make([][]string, len(cols))
	var labels []bool
	var rows []int // spreadsheet row number of each data row, for errors
	for row := 1; ; {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCSV, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a line of blanks; csv.Reader already skips empty ones
		}
		row++
		if len(rec) != len(header) {
			return nil, fmt.Errorf("%w: row %d: %d fields, the header has %d", ErrCSV, row, len(rec), len(header))
		}
		y, err := parseLabel(strings.TrimSpace(rec[target]), opts.Positive)
		if err != nil {
			return nil, fmt.Errorf("%w: row %d, column %q: %v", ErrCSV, row, opts.Target, err)
		}
		labels = append(labels, y)
		rows = append(rows, row)
		for k, c := range cols {
			raw[k] = append(raw[k], strings.TrimSpace(rec[c]))
		}
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("%w: no data rows", ErrCSV)
	}
	ds := &Dataset{Label: labels}
	for k, c := range cols {
		name := header[c]
		num, isNum, err := parseNumeric(name, raw[k], rows)
		switch {
		case err != nil:
			return nil, err
		case isNum:
			ds.Schema.Num = append(ds.Schema.Num, name)
			ds.Num = append(ds.Num, num)
		default:
			for i, v := range raw[k] {
				if v == "" {
					raw[k][i] = MissingCategory
				}
			}
			ds.Schema.Cat = append(ds.Schema.Cat, name)
			ds.Cat = append(ds.Cat, raw[k])
		}
	}
	return ds, nil
}

// pickColumns returns the indexes of the feature columns and of the target.
func pickColumns(header []string, opts CSVOptions) (cols []int, target int, err error) {
	if opts.Target == "" {
		return nil, 0, fmt.Errorf("%w: no target column given", ErrCSV)
	}
	seen := map[string]bool{}
	target = -1
	for i, h := range header {
		h = strings.TrimSpace(h)
		header[i] = h
		if h == "" {
			return nil, 0, fmt.Errorf("%w: column %d has an empty name", ErrCSV, i+1)
		}
		if seen[h] {
			return nil, 0, fmt.Errorf("%w: column %q appears twice in the header", ErrCSV, h)
		}
		seen[h] = true
		if h == opts.Target {
			target = i
		}
	}
	if target < 0 {
		return nil, 0, fmt.Errorf("%w: no target column %q among %q (wrong --sep?)", ErrCSV, opts.Target, header)
	}
	drop := map[string]bool{}
	for _, d := range opts.Drop {
		if !seen[d] {
			return nil, 0, fmt.Errorf("%w: cannot drop column %q: not in the header", ErrCSV, d)
		}
		drop[d] = true
	}
	for i, h := range header {
		if i != target && !drop[h] {
			cols = append(cols, i)
		}
	}
	return cols, target, nil
}

func parseLabel(v string, positive []string) (bool, error) {
	lv := strings.ToLower(v)
	if len(positive) > 0 {
		if v == "" {
			return false, errors.New("missing target value")
		}
		return slices.ContainsFunc(positive, func(p string) bool { return strings.EqualFold(p, v) }), nil
	}
	switch {
	case slices.Contains(defaultPositive, lv):
		return true, nil
	case slices.Contains(defaultNegative, lv):
		return false, nil
	case v == "":
		return false, errors.New("missing target value")
	}
	return false, fmt.Errorf("target value %q is neither yes/true/1 nor no/false/0; say which values are positive with --positive", v)
}

func isMissing(v string) bool {
	return slices.Contains(missingTokens, strings.ToLower(v))
}

// parseNumeric parses a column as numbers if it is one. A column that is
// almost all numbers but has a few stray words is an error rather than a
// categorical column with thousands of one-off values.
func parseNumeric(name string, vals []string, rows []int) (out []float64, ok bool, err error) {
	out = make([]float64, len(vals))
	present, bad, firstBad := 0, 0, -1
	for i, v := range vals {
		if isMissing(v) {
			out[i] = math.NaN()
			continue
		}
		present++
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			bad++
			if firstBad < 0 {
				firstBad = i
			}
			continue
		}
		out[i] = f
	}
	switch {
	case present == 0 || bad == present:
		return nil, false, nil
	case bad == 0:
		return out, true, nil
	case bad*20 < present && present >= 20:
		return nil, false, fmt.Errorf("%w: row %d, column %q: %q is not a number, though %d of %d values in this column are; fix the value or drop the column",
			ErrCSV, rows[firstBad], name, vals[firstBad], present-bad, present)
	}
	return nil, false, nil
}
