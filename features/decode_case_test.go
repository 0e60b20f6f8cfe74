package features

import (
	"testing"
)

// TestDecodeLowercaseRFC3339: RFC 3339 section 5.6 (note) allows "t"
// and "z" in lower case; the contract says times are RFC 3339.
func TestDecodeLowercaseRFC3339(t *testing.T) {
	for _, ts := range []string{"2026-03-01t11:00:00z", "2026-03-01T11:00:00z"} {
		b := []byte(`{"event_id":"e1","lead_id":"l1","type":"page_viewed","ts":"` + ts + `","props":{}}`)
		if _, err := Decode(b, testNow, DefaultLimits()); err != nil {
			t.Errorf("ts %q: %v", ts, err)
		}
	}
}
