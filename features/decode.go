package features

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"
)

// Reason says why an event was rejected; the set is closed so that it can be
// a Prometheus label and a dead-letter field.
type Reason string

// Rejection reasons.
const (
	ReasonTooLarge      Reason = "too_large"      // payload over Limits.MaxBytes
	ReasonMalformedJSON Reason = "malformed_json" // not one JSON object of the contract, or an unknown top-level field
	ReasonMissingField  Reason = "missing_field"  // a required field is absent or empty
	ReasonOversizedID   Reason = "oversized_id"   // event_id or lead_id over Limits.MaxIDLen
	ReasonBadID         Reason = "bad_id"         // an id with characters outside printable ASCII, or braces
	ReasonUnknownType   Reason = "unknown_type"   // type is not one of the contract's types
	ReasonTSFuture      Reason = "ts_future"      // ts later than now + Limits.MaxFuture
	ReasonTSTooOld      Reason = "ts_too_old"     // ts before 2000-01-01
	ReasonBadNumber     Reason = "bad_number"     // a numeric prop that is NaN, ±Inf or out of range
	ReasonBadProp       Reason = "bad_prop"       // a prop of the wrong type, too long or outside its vocabulary
)

// Reasons returns every Reason, for pre-registering metric label values.
func Reasons() []Reason {
	return []Reason{ReasonTooLarge, ReasonMalformedJSON, ReasonMissingField, ReasonOversizedID,
		ReasonBadID, ReasonUnknownType, ReasonTSFuture, ReasonTSTooOld, ReasonBadNumber, ReasonBadProp}
}

// DecodeError is the only error Decode returns.
type DecodeError struct {
	Reason Reason // closed set, see Reasons
	Field  string // JSON path of the offending field ("props.status"), "" if none
	Msg    string // human-readable detail
}

// Error implements error.
func (e *DecodeError) Error() string {
	s := "features: bad event: " + string(e.Reason)
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

// Limits bound what Decode accepts. Zero fields take the defaults.
type Limits struct {
	MaxBytes   int           // whole payload; default 64 KiB
	MaxIDLen   int           // event_id and lead_id, in bytes; default 128
	MaxFuture  time.Duration // tolerated clock skew of producers; default 5 min
	MaxPropLen int           // each string prop, in bytes; default 1024
}

// DefaultLimits returns the limits used when a field of Limits is zero.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 64 << 10, MaxIDLen: 128, MaxFuture: 5 * time.Minute, MaxPropLen: 1024}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxIDLen <= 0 {
		l.MaxIDLen = d.MaxIDLen
	}
	if l.MaxFuture <= 0 {
		l.MaxFuture = d.MaxFuture
	}
	if l.MaxPropLen <= 0 {
		l.MaxPropLen = d.MaxPropLen
	}
	return l
}

// minTS is the earliest accepted event time: anything older is a producer bug.
var minTS = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func derr(r Reason, field, msg string) *DecodeError {
	return &DecodeError{Reason: r, Field: field, Msg: msg}
}

// Decode parses and validates one event. now bounds how far in the future ts
// may lie. Every error is a *DecodeError.
func Decode(b []byte, now time.Time, lim Limits) (Event, error) {
	return decode(b, now, lim, decodeWire)
}

// decodeWire decodes an event with goccy/go-json, a few times faster than
// encoding/json (decoding was the largest part of the consumer's own CPU per
// event); on any error it decodes again with encoding/json, so every error,
// and with it every dead-letter reason and field, is encoding/json's.
// FuzzDecodeMatchesEncodingJSON holds the two paths to the same answers.
func decodeWire(b []byte, w *wireEvent) error {
	if gojson.Unmarshal(b, w) == nil {
		return nil
	}
	*w = wireEvent{}
	return json.Unmarshal(b, w)
}

// decode is Decode with the JSON decoder of the wire struct as a parameter.
func decode(b []byte, now time.Time, lim Limits, unmarshal func([]byte, *wireEvent) error) (Event, error) {
	lim = lim.withDefaults()
	if len(b) > lim.MaxBytes {
		return Event{}, derr(ReasonTooLarge, "", strconv.Itoa(len(b))+" bytes")
	}
	var w wireEvent
	if err := unmarshal(b, &w); err != nil {
		return Event{}, jsonErr(err)
	}
	if k, ok := unknownKey(b); ok {
		return Event{}, derr(ReasonMalformedJSON, clip(k), "unknown field")
	}
	e := Event{EventID: w.EventID, LeadID: w.LeadID}
	if err := checkID("event_id", w.EventID, lim.MaxIDLen); err != nil {
		return Event{}, err
	}
	if err := checkID("lead_id", w.LeadID, lim.MaxIDLen); err != nil {
		return Event{}, err
	}
	if w.Type == "" {
		return Event{}, derr(ReasonMissingField, "type", "")
	}
	t, ok := ParseType(w.Type)
	if !ok {
		return Event{}, derr(ReasonUnknownType, "type", strconv.Quote(clip(w.Type)))
	}
	e.Type = t
	if w.TS == "" {
		return Event{}, derr(ReasonMissingField, "ts", "")
	}
	ts, err := time.Parse(time.RFC3339Nano, upperTZ(w.TS))
	if err != nil {
		return Event{}, derr(ReasonMalformedJSON, "ts", "not an RFC 3339 time")
	}
	e.TS = ts.UTC()
	if e.TS.Before(minTS) {
		return Event{}, derr(ReasonTSTooOld, "ts", "before 2000-01-01")
	}
	if e.TS.After(now.Add(lim.MaxFuture)) {
		return Event{}, derr(ReasonTSFuture, "ts", "more than "+lim.MaxFuture.String()+" ahead")
	}
	if err := decodeProps(&e, &w.Props, lim.MaxPropLen); err != nil {
		return Event{}, err
	}
	return e, nil
}

// upperTZ upper-cases the 'T' and 'Z' of an RFC 3339 time, which the RFC
// allows in lower case and time.Parse does not.
func upperTZ(s string) string {
	if len(s) > 10 && (s[10] == 't' || s[len(s)-1] == 'z') {
		b := []byte(s)
		if b[10] == 't' {
			b[10] = 'T'
		}
		if b[len(b)-1] == 'z' {
			b[len(b)-1] = 'Z'
		}
		return string(b)
	}
	return s
}

// checkID keeps ids safe inside Redis keys: a brace would break the cluster
// hash tag, and whitespace or control bytes make keys unreadable in tools.
func checkID(field, id string, max int) error {
	if id == "" {
		return derr(ReasonMissingField, field, "")
	}
	if len(id) > max {
		return derr(ReasonOversizedID, field, strconv.Itoa(len(id))+" bytes")
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || c == '{' || c == '}' {
			return derr(ReasonBadID, field, "byte "+strconv.Itoa(int(c))+" at "+strconv.Itoa(i))
		}
	}
	return nil
}

// jsonErr classifies an encoding/json error: a wrong type inside props is
// the producer's prop, anything else a malformed event.
func jsonErr(err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return derr(ReasonMalformedJSON, "", clip(err.Error()))
	}
	f := te.Field
	if f == "props" || strings.HasPrefix(f, "props.") {
		// Props fields are promoted from an embedded struct named Props.
		if rest, ok := strings.CutPrefix(f, "props.Props."); ok {
			f = "props." + rest
		}
		return derr(ReasonBadProp, f, "expected "+te.Type.String())
	}
	return derr(ReasonMalformedJSON, f, "expected "+te.Type.String())
}

// Check validates and normalises an event built in Go (not decoded from
// JSON) with exactly the rules Decode applies, so that the API's form path
// and the stream cannot disagree. It returns a *DecodeError.
func Check(e *Event, now time.Time, lim Limits) error {
	lim = lim.withDefaults()
	if err := checkID("event_id", e.EventID, lim.MaxIDLen); err != nil {
		return err
	}
	if err := checkID("lead_id", e.LeadID, lim.MaxIDLen); err != nil {
		return err
	}
	if e.Type >= numTypes {
		return derr(ReasonUnknownType, "type", "")
	}
	e.TS = e.TS.UTC()
	if e.TS.Before(minTS) {
		return derr(ReasonTSTooOld, "ts", "before 2000-01-01")
	}
	if e.TS.After(now.Add(lim.MaxFuture)) {
		return derr(ReasonTSFuture, "ts", "more than "+lim.MaxFuture.String()+" ahead")
	}
	if err := cleanProps(&e.Props, lim.MaxPropLen); err != nil {
		return err
	}
	for _, n := range [...]struct {
		name string
		v    float64
	}{{"employees", e.Props.Employees}, {"duration_s", e.Props.DurationS}} {
		if math.IsNaN(n.v) || math.IsInf(n.v, 0) {
			return derr(ReasonBadNumber, "props."+n.name, "not finite")
		}
		if n.v < 0 {
			return derr(ReasonBadProp, "props."+n.name, "negative")
		}
	}
	if c := e.Props.Consent; c != "" && c != "yes" && c != "no" {
		return derr(ReasonBadProp, "props.consent", "want yes, no or empty")
	}
	return checkRequired(e)
}

// decodeProps validates and normalises the decoded props into e.
func decodeProps(e *Event, wp *wireProps, maxLen int) error {
	p := &wp.Props
	if err := cleanProps(p, maxLen); err != nil {
		return err
	}
	var err error
	if p.Employees, err = number("employees", wp.Employees); err != nil {
		return err
	}
	if p.DurationS, err = number("duration_s", wp.DurationS); err != nil {
		return err
	}
	if p.Consent, err = consent(wp.Consent); err != nil {
		return err
	}
	e.Props = *p
	return checkRequired(e)
}

// cleanProps bounds and cleans every string prop in place.
func cleanProps(p *Props, maxLen int) error {
	for _, f := range [...]struct {
		name string
		s    *string
	}{
		{"company", &p.Company}, {"industry", &p.Industry}, {"company_size", &p.CompanySize},
		{"country", &p.Country}, {"region", &p.Region}, {"title", &p.Title},
		{"seniority", &p.Seniority}, {"language", &p.Language}, {"timezone", &p.Timezone},
		{"source", &p.Source}, {"utm_source", &p.UTMSource}, {"utm_medium", &p.UTMMedium},
		{"utm_campaign", &p.UTMCampaign}, {"budget", &p.Budget}, {"authority", &p.Authority},
		{"need", &p.Need}, {"timeline", &p.Timeline}, {"path", &p.Path},
		{"session_id", &p.SessionID}, {"outcome", &p.Outcome}, {"status", &p.Status},
	} {
		if *f.s == "" {
			continue
		}
		if len(*f.s) > maxLen {
			return derr(ReasonBadProp, "props."+f.name, "longer than "+strconv.Itoa(maxLen)+" bytes")
		}
		*f.s = clean(*f.s)
	}
	return nil
}

// number accepts a JSON number or a numeric string, finite and not negative.
// encoding/json already rejects NaN and Infinity literals as malformed; the
// string forms and overflowing literals such as 1e999 are caught here.
func number(field string, raw json.RawMessage) (float64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, derr(ReasonBadProp, "props."+field, "not a number")
		}
		s = strings.TrimSpace(s)
	}
	v, err := strconv.ParseFloat(s, 64)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, derr(ReasonBadNumber, "props."+field, "not finite")
	case err != nil:
		return 0, derr(ReasonBadProp, "props."+field, "not a number")
	case v < 0:
		return 0, derr(ReasonBadProp, "props."+field, "negative")
	}
	return v, nil
}

func consent(raw json.RawMessage) (string, error) {
	switch strings.ToLower(string(raw)) {
	case "", "null":
		return "", nil
	case "true", `"true"`, `"yes"`:
		return "yes", nil
	case "false", `"false"`, `"no"`:
		return "no", nil
	}
	return "", derr(ReasonBadProp, "props.consent", "expected a boolean")
}

func checkRequired(e *Event) error {
	switch e.Type {
	case StatusChanged:
		if e.Props.Status == "" {
			return derr(ReasonMissingField, "props.status", "")
		}
		s, ok := normStatus(e.Props.Status)
		if !ok {
			return derr(ReasonBadProp, "props.status", strconv.Quote(clip(e.Props.Status)))
		}
		e.Props.Status = s
	case CallOutcome:
		if e.Props.Outcome == "" {
			return derr(ReasonMissingField, "props.outcome", "")
		}
	}
	return nil
}

// clean trims s and turns control characters into spaces, allocating only
// when s needs it; the Redis script relies on values free of control bytes.
func clean(s string) string {
	dirty := false
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			dirty = true
			break
		}
	}
	if dirty {
		b := []byte(s)
		for i, c := range b {
			if c < ' ' || c == 0x7f {
				b[i] = ' '
			}
		}
		s = string(b)
	}
	return strings.TrimSpace(s)
}

// clip keeps error messages (and DLQ records) short whatever the input.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
