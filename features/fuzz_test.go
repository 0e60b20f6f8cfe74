package features

import (
	"encoding/json"
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
		if std, err := json.Marshal(e.wire()); err != nil || string(std) != string(out) {
			t.Fatalf("MarshalJSON wrote %s, encoding/json %s (%v)", out, std, err)
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

// FuzzDecodeMatchesEncodingJSON: Decode (goccy/go-json first, encoding/json
// for errors) gives exactly the answer of the same decoding done with
// encoding/json alone, for every input: the same event, or the same error.
func FuzzDecodeMatchesEncodingJSON(f *testing.F) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{
		`{"event_id":"e1","lead_id":"L1","type":"page_viewed","ts":"2026-03-01T11:00:00Z","props":{"path":"/pricing","session_id":"s1"}}`,
		`{"event_id":"e2","lead_id":"L1","type":"lead_created","ts":"2026-03-01T11:00:00.123Z","props":{"company":"Acme","employees":250,"consent":true,"industry":"SaaS"}}`,
		`{"EVENT_ID":"e3","Lead_Id":"L1","type":"call_completed","ts":"2026-03-01T11:00:00Z","props":{"duration_s":"12","outcome":"connected"}}`,
		`{"event_id":"e4","lead_id":"L1","type":"page_viewed","ts":"2026-03-01T11:00:00Z","event_id":"e5","props":{}}`,
		`{"event_id":"e\u00e9","lead_id":"L1","type":"page_viewed","ts":"2026-03-01T11:00:00Z","props":{"path":"/a\ud800"}}`,
		`{"event_id":1,"lead_id":"L1"}`, `{"props":{"employees":1e999}}`, `[]`, `{"event_id":"e","props":null}`, "{\"event_id\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, gerr := Decode(b, now, Limits{})
		want, werr := decode(b, now, Limits{}, func(b []byte, w *wireEvent) error { return json.Unmarshal(b, w) })
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gerr, werr) {
			t.Fatalf("Decode(%q):\n goccy first: %+v, %v\n encoding/json: %+v, %v", b, got, gerr, want, werr)
		}
	})
}
