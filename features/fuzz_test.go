package features

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"
)

// FuzzDecode: Decode never panics, rejects only with a known Reason, and
// every accepted event survives encoding and decoding again unchanged and
// compiles, folds and extracts without trouble. Seeds live in
// testdata/fuzz/FuzzDecode (one per reason and a few valid events).
func FuzzDecode(f *testing.F) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := DefaultSpec()
	num, cat := make([]float64, len(s.NumNames())), make([]string, len(s.CatNames()))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b, now, Limits{})
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || !slices.Contains(Reasons(), de.Reason) {
				t.Fatalf("Decode(%q) = %#v: not a known DecodeError", b, err)
			}
			return
		}
		out, err := e.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON(%+v): %v", e, err)
		}
		// Re-encoding may escape more (e.g. "<" as \u003c): allow the size.
		again, err := Decode(out, now, Limits{MaxBytes: 1 << 30})
		if err != nil {
			t.Fatalf("re-decoding %s: %v", out, err)
		}
		if !reflect.DeepEqual(again, e) {
			t.Fatalf("round trip changed the event:\n%+v\n%+v", e, again)
		}
		st := State{}
		Fold(st, s.Compile(e, nil))
		s.Extract(st, now, num, cat)
	})
}
