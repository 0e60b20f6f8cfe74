package config

import (
	"strings"
	"testing"
)

// TestRateLimitNaNRejected: "NaN" parses as a float, compares false
// with everything, and so passed the "must not be negative" check; the API
// then runs with no rate limit at all, silently.
func TestRateLimitNaNRejected(t *testing.T) {
	for _, name := range []string{"LEADQ_RATE_LIMIT", "LEADQ_FORM_RATE_LIMIT"} {
		for _, v := range []string{"NaN", "nan"} {
			_, err := Parse("t", nil, lookup(map[string]string{name: v}))
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%s: got %v, want an error naming %s", name, v, err, name)
			}
		}
	}
}

// TestCallingHoursSpacedMidnight: spaces around the dash are accepted
// ("08:00 - 20:00"), and so is 24:00 as the end ("08:00-24:00"); together
// they must be too.
func TestCallingHoursSpacedMidnight(t *testing.T) {
	for _, s := range []string{"08:00 - 20:00,mon-fri", "08:00-24:00,mon-fri", "08:00 - 24:00,mon-fri"} {
		if _, err := ParseCallingHours(s); err != nil {
			t.Errorf("ParseCallingHours(%q): %v", s, err)
		}
	}
}
