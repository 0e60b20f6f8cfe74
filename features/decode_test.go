package features

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const okTS = "2026-03-01T11:59:00Z"

// ev builds an event body with one field replaced (or added) by raw JSON.
func ev(field, raw string) string {
	parts := map[string]string{
		"event_id": `"e1"`, "lead_id": `"L1"`, "type": `"page_viewed"`, "ts": `"` + okTS + `"`,
		"props": `{"path":"/pricing"}`,
	}
	if raw == "" {
		delete(parts, field)
	} else {
		parts[field] = raw
	}
	var b strings.Builder
	b.WriteByte('{')
	for _, k := range []string{"event_id", "lead_id", "type", "ts", "props", field} {
		v, ok := parts[k]
		if !ok {
			continue
		}
		delete(parts, k)
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + k + `":` + v)
	}
	b.WriteByte('}')
	return b.String()
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		reason Reason
		field  string
	}{
		{"too large", `{"pad":"` + strings.Repeat("x", 70<<10) + `"}`, ReasonTooLarge, ""},
		{"empty", ``, ReasonMalformedJSON, ""},
		{"not json", `hello`, ReasonMalformedJSON, ""},
		{"truncated", ev("", "")[:20], ReasonMalformedJSON, ""},
		{"array", `[1,2]`, ReasonMalformedJSON, ""},
		{"trailing data", ev("", "") + ` {}`, ReasonMalformedJSON, ""},
		{"unknown field", ev("color", `"red"`), ReasonMalformedJSON, "color"},
		{"id is a number", ev("lead_id", `42`), ReasonMalformedJSON, "lead_id"},
		{"bad ts", ev("ts", `"yesterday"`), ReasonMalformedJSON, "ts"},
		{"NaN literal", ev("props", `{"employees":NaN}`), ReasonMalformedJSON, ""},
		{"props not an object", ev("props", `[1]`), ReasonBadProp, "props"},
		{"missing event_id", ev("event_id", ""), ReasonMissingField, "event_id"},
		{"empty lead_id", ev("lead_id", `""`), ReasonMissingField, "lead_id"},
		{"missing type", ev("type", ""), ReasonMissingField, "type"},
		{"missing ts", ev("ts", ""), ReasonMissingField, "ts"},
		{"status_changed without status", ev("type", `"status_changed"`), ReasonMissingField, "props.status"},
		{"call_outcome without outcome", ev("type", `"call_outcome"`), ReasonMissingField, "props.outcome"},
		{"oversized event_id", ev("event_id", `"`+strings.Repeat("a", 129)+`"`), ReasonOversizedID, "event_id"},
		{"oversized lead_id", ev("lead_id", `"`+strings.Repeat("a", 200)+`"`), ReasonOversizedID, "lead_id"},
		{"brace in lead_id", ev("lead_id", `"a}b"`), ReasonBadID, "lead_id"},
		{"space in event_id", ev("event_id", `"a b"`), ReasonBadID, "event_id"},
		{"non-ascii lead_id", ev("lead_id", `"l\u00e9ad"`), ReasonBadID, "lead_id"},
		{"unknown type", ev("type", `"page_liked"`), ReasonUnknownType, "type"},
		{"ts in the future", ev("ts", `"2026-03-01T12:06:00Z"`), ReasonTSFuture, "ts"},
		{"ts before 2000", ev("ts", `"1999-12-31T23:59:59Z"`), ReasonTSTooOld, "ts"},
		{"overflowing number", ev("props", `{"employees":1e999}`), ReasonBadNumber, "props.employees"},
		{"NaN string", ev("props", `{"employees":"NaN"}`), ReasonBadNumber, "props.employees"},
		{"Infinity string", ev("props", `{"duration_s":"-Infinity"}`), ReasonBadNumber, "props.duration_s"},
		{"number is text", ev("props", `{"employees":"many"}`), ReasonBadProp, "props.employees"},
		{"negative number", ev("props", `{"employees":-3}`), ReasonBadProp, "props.employees"},
		{"string prop is a number", ev("props", `{"company":7}`), ReasonBadProp, "props.company"},
		{"prop too long", ev("props", `{"title":"`+strings.Repeat("t", 1025)+`"}`), ReasonBadProp, "props.title"},
		{"consent not boolean", ev("props", `{"consent":"perhaps"}`), ReasonBadProp, "props.consent"},
		{"unknown status", `{"event_id":"e","lead_id":"L","type":"status_changed","ts":"` + okTS + `","props":{"status":"won"}}`, ReasonBadProp, "props.status"},
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(tt.in), now, Limits{})
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%.80s) = %v, want a *DecodeError", tt.in, err)
			}
			if de.Reason != tt.reason || de.Field != tt.field {
				t.Errorf("Decode(%.80s) = %s/%q, want %s/%q (%v)", tt.in, de.Reason, de.Field, tt.reason, tt.field, err)
			}
			if !slices.Contains(Reasons(), de.Reason) {
				t.Errorf("reason %q is not in Reasons()", de.Reason)
			}
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	in := `{"event_id":"e-1","lead_id":"crm:00Q5e@x.io","type":"lead_created","ts":"2026-03-01T13:04:00+01:00",
	 "props":{"company":"  Acme\tInc ","industry":"Software","employees":"250","consent":true,
	 "title":"VP Sales","status":"ignored here","utm_content":{"nested":[1,2,3e999]},"duration_s":null}}`
	e, err := Decode([]byte(in), now, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := Event{EventID: "e-1", LeadID: "crm:00Q5e@x.io", Type: LeadCreated,
		TS: time.Date(2026, 3, 1, 12, 4, 0, 0, time.UTC),
		Props: Props{Company: "Acme Inc", Industry: "Software", Employees: 250, Consent: "yes",
			Title: "VP Sales", Status: "ignored here"}}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("Decode =\n%+v\nwant\n%+v", e, want)
	}
	st, err := Decode([]byte(`{"event_id":"e","lead_id":"L","type":"status_changed","ts":"2026-03-01T11:00:00.123Z","props":{"status":"MQL"}}`), now, Limits{})
	if err != nil || st.Props.Status != "mql" {
		t.Errorf("status_changed: %+v, %v", st, err)
	}
	if _, err := Decode([]byte(`{"event_id":"e","lead_id":"L","type":"email_opened","ts":"2026-03-01T11:00:00Z","props":null}`), now, Limits{}); err != nil {
		t.Errorf("null props: %v", err)
	}
	if _, err := Decode([]byte(`{"event_id":"e","lead_id":"L","type":"email_opened","ts":"2026-03-01T11:00:00Z"}`), now, Limits{MaxBytes: 100}); err != nil {
		t.Errorf("no props: %v", err)
	}
}

func TestEventRoundTrip(t *testing.T) {
	t.Parallel()
	for _, e := range genEvents(newRand(5), "L", 200) {
		b, err := e.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(b, testNow, Limits{})
		if err != nil {
			t.Fatalf("Decode(%s): %v", b, err)
		}
		e.Props.Status = norm(e.Props.Status)
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("round trip of %s:\n%+v\nwant\n%+v", b, got, e)
		}
	}
}

func TestUnknownKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`{"event_id":1,"LEAD_ID":[1,{"x":"}"}],"ts":null,"props":{"zz":1}}`: "",
		`{"type":"a\"b","extra":true}`:                                      "extra",
		`{"props":{},"\u0074s":"x","\u0078":1}`:                             "x",
		` { "ts" : 1 , "tz" : 2 } `:                                         "tz",
		`{}`:                                                                "",
		`null`:                                                              "",
	} {
		got, _ := unknownKey([]byte(in))
		if got != want {
			t.Errorf("unknownKey(%s) = %q, want %q", in, got, want)
		}
	}
}
