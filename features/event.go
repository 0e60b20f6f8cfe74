package features

import (
	"encoding/json"
	"strconv"
	"time"

	gojson "github.com/goccy/go-json"
)

// Type is the kind of a behavioural event; its JSON form is the snake_case name.
type Type uint8

// Event types of contract v1. The props each type reads are listed on [Props].
const (
	TypeUnknown       Type = iota // not a valid event type
	LeadCreated                   // a lead entered the system (form, import, CRM)
	LeadUpdated                   // firmographics, source or BANT answers changed
	FormSubmitted                 // a web form was submitted (high intent)
	DemoRequested                 // a demo was requested (high intent)
	ContactSales                  // "contact sales" was used (high intent)
	CallbackRequested             // the lead asked to be called back (high intent)
	PageViewed                    // a tracked page view
	ContentDownloaded             // an e-book, whitepaper or similar was downloaded
	WebinarRegistered             // registration for a webinar
	WebinarAttended               // attendance of a webinar
	EmailOpened                   // a marketing or sales email was opened
	EmailClicked                  // a link in an email was clicked
	EmailReplied                  // the lead replied to an email (high intent)
	EmailBounced                  // an email to the lead bounced
	Unsubscribed                  // the lead unsubscribed from email
	CallAttempted                 // a dialer attempted a call
	CallOutcome                   // a dialer reported how a call went
	StatusChanged                 // the CRM changed the lifecycle status
	numTypes
)

var typeNames = [numTypes]string{
	"", "lead_created", "lead_updated", "form_submitted", "demo_requested",
	"contact_sales", "callback_requested", "page_viewed", "content_downloaded",
	"webinar_registered", "webinar_attended", "email_opened", "email_clicked",
	"email_replied", "email_bounced", "unsubscribed", "call_attempted",
	"call_outcome", "status_changed",
}

// String returns the wire name of t ("" for TypeUnknown).
func (t Type) String() string {
	if t >= numTypes {
		return ""
	}
	return typeNames[t]
}

// ParseType returns the type named s on the wire.
func ParseType(s string) (Type, bool) {
	// A linear scan over 18 short names beats a map for strings this short.
	for t := LeadCreated; t < numTypes; t++ {
		if typeNames[t] == s {
			return t, true
		}
	}
	return TypeUnknown, false
}

// Types returns every valid event type in declaration order.
func Types() []Type {
	out := make([]Type, 0, numTypes-1)
	for t := LeadCreated; t < numTypes; t++ {
		out = append(out, t)
	}
	return out
}

// MarshalText encodes t by its wire name.
func (t Type) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText decodes a wire name; unknown names are an error.
func (t *Type) UnmarshalText(b []byte) error {
	v, ok := ParseType(string(b))
	if !ok {
		return &DecodeError{Reason: ReasonUnknownType, Field: "type", Msg: strconv.Quote(string(b))}
	}
	*t = v
	return nil
}

// Event is one decoded, validated behavioural event. TS is in UTC.
type Event struct {
	EventID string
	LeadID  string
	Type    Type
	TS      time.Time
	Props   Props
}

// Props are the event properties the feature spec reads; others are ignored.
//
// lead_created and lead_updated carry the firmographic, source and BANT
// fields (any event may carry them, e.g. a form_submitted from a web form):
// Company, Industry, CompanySize (band such as "51-200") or Employees,
// Country, Region, Title, Seniority, Language, Timezone, Source, UTMSource,
// UTMMedium, UTMCampaign, Budget, Authority, Need, Timeline and Consent.
// page_viewed reads Path (pricing, product, docs and careers pages are
// recognised) and SessionID. call_outcome requires Outcome (DurationS is
// optional). status_changed requires Status, one of MQL, SQL, accepted,
// rejected, returned, nurture, converted, disqualified (any case).
// Strings are trimmed, control characters become spaces, "" means absent.
type Props struct {
	Company     string  `json:"company,omitempty"`
	Industry    string  `json:"industry,omitempty"`
	CompanySize string  `json:"company_size,omitempty"`
	Employees   float64 `json:"employees,omitempty"`
	Country     string  `json:"country,omitempty"`
	Region      string  `json:"region,omitempty"`
	Title       string  `json:"title,omitempty"`
	Seniority   string  `json:"seniority,omitempty"`
	Language    string  `json:"language,omitempty"`
	Timezone    string  `json:"timezone,omitempty"`
	Source      string  `json:"source,omitempty"`
	UTMSource   string  `json:"utm_source,omitempty"`
	UTMMedium   string  `json:"utm_medium,omitempty"`
	UTMCampaign string  `json:"utm_campaign,omitempty"`
	Budget      string  `json:"budget,omitempty"`
	Authority   string  `json:"authority,omitempty"`
	Need        string  `json:"need,omitempty"`
	Timeline    string  `json:"timeline,omitempty"`
	Consent     string  `json:"-"` // "yes", "no" or "" (absent); JSON bool on the wire
	Path        string  `json:"path,omitempty"`
	SessionID   string  `json:"session_id,omitempty"`
	Outcome     string  `json:"outcome,omitempty"`
	DurationS   float64 `json:"duration_s,omitempty"`
	Status      string  `json:"status,omitempty"`
}

// wireEvent is the JSON shape, decoded in one pass. Unknown props are
// allowed (producers add tracking fields); unknown top-level fields are not,
// and topLevelKeys checks those.
type wireEvent struct {
	EventID string    `json:"event_id"`
	LeadID  string    `json:"lead_id"`
	Type    string    `json:"type"`
	TS      string    `json:"ts"`
	Props   wireProps `json:"props"`
}

// wireKeys are wireEvent's JSON names, in the order of its fields.
var wireKeys = [...]string{"event_id", "lead_id", "type", "ts", "props"}

// wireProps mirrors Props with the loosely typed fields kept raw, so that
// their errors can name the field and reason precisely.
type wireProps struct {
	Props
	Employees json.RawMessage `json:"employees"`
	DurationS json.RawMessage `json:"duration_s"`
	Consent   json.RawMessage `json:"consent"`
}

// outProps adds the consent flag back for encoding.
type outProps struct {
	Props
	Consent *bool `json:"consent,omitempty"`
}

// MarshalJSON encodes e in the wire format that [Decode] accepts, with
// goccy/go-json, which writes the bytes encoding/json writes (FuzzDecode
// checks every event it decodes) at a fraction of the CPU.
func (e Event) MarshalJSON() ([]byte, error) { return gojson.Marshal(e.wire()) }

// outEvent is an event as it goes on the wire.
type outEvent struct {
	EventID string   `json:"event_id"`
	LeadID  string   `json:"lead_id"`
	Type    string   `json:"type"`
	TS      string   `json:"ts"`
	Props   outProps `json:"props"`
}

func (e Event) wire() *outEvent {
	p := outProps{Props: e.Props}
	if e.Props.Consent != "" {
		v := e.Props.Consent == "yes"
		p.Consent = &v
	}
	return &outEvent{e.EventID, e.LeadID, e.Type.String(), e.TS.UTC().Format(time.RFC3339Nano), p}
}
