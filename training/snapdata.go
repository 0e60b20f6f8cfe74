package training

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/model"
)

// DatasetStats describe the rows Dataset read.
type DatasetStats struct {
	Rows      int       `json:"rows"`      // labelled rows in the dataset
	Positives int       `json:"positives"` // of which positive
	Pending   int       `json:"pending"`   // unlabelled or pending rows younger than the horizon: left out
	Foreign   int       `json:"foreign"`   // rows of another spec version or shape: left out
	From      time.Time `json:"from"`      // time of the first row in the dataset
	To        time.Time `json:"to"`        // time of the last row in the dataset
}

// snapRow is one snapshot as read back.
type snapRow struct {
	at   int64
	lead string
	num  []float64
	cat  []string
	pos  bool
}

// Dataset builds the training set of every snapshot taken since since, in
// time order, with the spec's names as its schema. A snapshot is positive or
// negative by its label; an unlabelled (or only pending-labelled) one is
// negative once it is older than the horizon and is left out before, since
// its outcome is not known yet.
func (s *Snapshots) Dataset(ctx context.Context, since time.Time) (*Dataset, DatasetStats, error) {
	now := s.cfg.Now()
	cutoff := now.Add(-s.cfg.Horizon).UnixMilli()
	var rows []snapRow
	var st DatasetStats
	nNum, nCat := len(s.spec.NumNames()), len(s.spec.CatNames())
	for d := since.UTC().Truncate(24 * time.Hour); !d.After(now); d = d.Add(24 * time.Hour) {
		day := dayOf(d)
		labels, err := s.rdb.HGetAll(ctx, s.labelKey(day)).Result()
		if err != nil {
			return nil, st, fmt.Errorf("training: labels of %s: %w", day, err)
		}
		seen := map[string]bool{} // ids: a retried write may have added an entry twice
		err = s.scanDay(ctx, day, func(v map[string]any) {
			r, ok := s.parseRow(v, nNum, nCat)
			id := str(v["id"])
			switch {
			case !ok:
				st.Foreign++
				return
			case r.at < since.UnixMilli() || seen[id]:
				return
			}
			seen[id] = true
			lab := labels[id]
			switch {
			case strings.HasPrefix(lab, strconv.Itoa(classPos)):
				r.pos = true
			case strings.HasPrefix(lab, strconv.Itoa(classNeg)):
			case r.at > cutoff:
				st.Pending++
				return
			}
			rows = append(rows, r)
		})
		if err != nil {
			return nil, st, err
		}
	}
	slices.SortStableFunc(rows, func(a, b snapRow) int { return cmp.Compare(a.at, b.at) })
	ds := &Dataset{
		Schema: model.Schema{Num: s.spec.NumNames(), Cat: s.spec.CatNames()},
		Num:    make([][]float64, nNum), Cat: make([][]string, nCat),
		Label: make([]bool, len(rows)),
		Time:  make([]int64, len(rows)), Group: make([]string, len(rows)),
	}
	for j := range ds.Num {
		ds.Num[j] = make([]float64, len(rows))
	}
	for j := range ds.Cat {
		ds.Cat[j] = make([]string, len(rows))
	}
	for i, r := range rows {
		for j, v := range r.num {
			ds.Num[j][i] = v
		}
		for j, v := range r.cat {
			ds.Cat[j][i] = v
		}
		ds.Label[i], ds.Time[i], ds.Group[i] = r.pos, r.at, r.lead
		if r.pos {
			st.Positives++
		}
	}
	st.Rows = len(rows)
	if len(rows) > 0 {
		st.From, st.To = time.UnixMilli(rows[0].at).UTC(), time.UnixMilli(rows[len(rows)-1].at).UTC()
	}
	return ds, st, nil
}

// scanDay calls f with every entry of a day's stream, in pages.
func (s *Snapshots) scanDay(ctx context.Context, day string, f func(map[string]any)) error {
	const page = 2000
	start := "-"
	for {
		msgs, err := s.rdb.XRangeN(ctx, s.dayKey(day), start, "+", page).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("training: snapshots of %s: %w", day, err)
		}
		for _, m := range msgs {
			f(m.Values)
		}
		if len(msgs) < page {
			return nil
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}

// parseRow decodes one stream entry; ok is false for a row of another spec.
func (s *Snapshots) parseRow(v map[string]any, nNum, nCat int) (snapRow, bool) {
	if str(v["spec"]) != s.spec.Version {
		return snapRow{}, false
	}
	at, err := strconv.ParseInt(str(v["at"]), 10, 64)
	if err != nil {
		return snapRow{}, false
	}
	r := snapRow{at: at, lead: str(v["lead"]), num: make([]float64, 0, nNum), cat: strings.Split(str(v["c"]), catSep)}
	for f := range strings.SplitSeq(str(v["n"]), ",") {
		x, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return snapRow{}, false
		}
		r.num = append(r.num, x)
	}
	return r, len(r.num) == nNum && len(r.cat) == nCat
}

func str(v any) string { s, _ := v.(string); return s }

// ExportCSV writes the snapshot dataset since since as CSV (see WriteCSV).
func (s *Snapshots) ExportCSV(ctx context.Context, w io.Writer, since time.Time) error {
	ds, _, err := s.Dataset(ctx, since)
	if err != nil {
		return err
	}
	return WriteCSV(w, ds, "converted")
}

// WriteCSV writes ds with a header row: the numeric columns, the categorical
// ones, then target as yes/no. Missing values are empty cells, so LoadCSV
// with the same target reads the file back.
func WriteCSV(w io.Writer, ds *Dataset, target string) error {
	if err := ds.Validate(); err != nil {
		return err
	}
	if slices.Contains(ds.Schema.Num, target) || slices.Contains(ds.Schema.Cat, target) {
		return fmt.Errorf("training: target column %q is also a feature", target)
	}
	cw := csv.NewWriter(w)
	rec := append(append(slices.Clone(ds.Schema.Num), ds.Schema.Cat...), target)
	if err := cw.Write(rec); err != nil {
		return err
	}
	for i := range ds.Len() {
		rec = rec[:0]
		for j := range ds.Num {
			v := ds.Num[j][i]
			if math.IsNaN(v) {
				rec = append(rec, "")
			} else {
				rec = append(rec, strconv.FormatFloat(v, 'g', -1, 64))
			}
		}
		for j := range ds.Cat {
			rec = append(rec, ds.Cat[j][i])
		}
		if ds.Label[i] {
			rec = append(rec, "yes")
		} else {
			rec = append(rec, "no")
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
