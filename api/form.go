package api

import (
	"bytes"
	"errors"
	"net/mail"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"

	"github.com/leadq/leadq/features"
)

// LeadForm is the body of POST /v1/leads and POST /v1/score: what a web form,
// landing page or chat widget knows about a lead.
type LeadForm struct {
	ExternalID  string `json:"external_id,omitempty"`
	Email       string `json:"email"`
	FirstName   string `json:"first_name,omitempty"`
	LastName    string `json:"last_name,omitempty"`
	Phone       string `json:"phone,omitempty"`
	Company     string `json:"company"`
	Title       string `json:"title,omitempty"`
	Industry    string `json:"industry,omitempty"`
	CompanySize string `json:"company_size,omitempty"`
	Country     string `json:"country,omitempty"`
	Region      string `json:"region,omitempty"`
	Timezone    string `json:"timezone,omitempty"`
	Language    string `json:"language,omitempty"`
	Source      string `json:"source,omitempty"`
	UTMSource   string `json:"utm_source,omitempty"`
	UTMMedium   string `json:"utm_medium,omitempty"`
	UTMCampaign string `json:"utm_campaign,omitempty"`
	Budget      string `json:"budget,omitempty"`
	Authority   string `json:"authority,omitempty"`
	Need        string `json:"need,omitempty"`
	Timeline    string `json:"timeline,omitempty"`
	Consent     *bool  `json:"consent,omitempty"`
}

// decodeForm decodes the body of POST /v1/leads with goccy/go-json (a few
// times faster than encoding/json on a form: most of a what-if score's time
// was decoding); any error is decoded again by decodeStrict, so every problem
// a client sees, and its wording, is encoding/json's. FuzzDecodeForm holds
// the two decoders to the same answers. The form's strings point into one
// copy of the body (Fiber reuses its buffer after the request): one
// allocation instead of one per field.
func decodeForm(body []byte, f *LeadForm) error {
	return decodeFormFrom(bytes.Clone(body), body, f)
}

// decodeFormBorrowed is decodeForm for a form used only while its request
// is served (POST /v1/score): the strings point into Fiber's own request
// buffer, so nothing that outlives the handler may keep one (the pooled
// scratch of a what-if score, model.Live's and features.Spec's are cleared).
// The copy was half of a what-if score's garbage.
func decodeFormBorrowed(body []byte, f *LeadForm) error {
	return decodeFormFrom(body, body, f)
}

// decodeFormFrom decodes src, whose strings the form keeps, and on an error
// decodes body again with encoding/json for the problem's wording.
func decodeFormFrom(src, body []byte, f *LeadForm) error {
	if err := gojson.UnmarshalWithOption(src, f, disallowUnknownFields, gojson.DecodeNoCopyString()); err == nil {
		return nil
	}
	*f = LeadForm{}
	return decodeStrict(body, f)
}

// disallowUnknownFields is goccy's Decoder.DisallowUnknownFields for
// UnmarshalWithOption, which has no exported option for it; a Decoder costs
// a fresh read buffer per call (a third of a what-if score's garbage). It
// sets the flag's bit of goccy's internal/decoder (DisallowUnknownFieldsOption,
// 1<<4 in v0.12.0). TestGoccyDisallowUnknownFields fails unless goccy
// itself, with this option, refuses an unknown field: an upgrade that moves
// the bit (or gives it another meaning) fails the build's tests.
func disallowUnknownFields(o *gojson.DecodeOption) { o.Flags |= 1 << 4 }

// maxField is the longest string any form field may hold.
const maxField = 256

// validate checks the form and lists every problem, not just the first.
func (f *LeadForm) validate() []FieldProblem {
	var out []FieldProblem
	add := func(field, detail string) { out = append(out, FieldProblem{Field: field, Detail: detail}) }
	for _, s := range []struct {
		name string
		v    *string
	}{
		{"external_id", &f.ExternalID}, {"email", &f.Email}, {"first_name", &f.FirstName}, {"last_name", &f.LastName},
		{"phone", &f.Phone}, {"company", &f.Company}, {"title", &f.Title}, {"industry", &f.Industry},
		{"company_size", &f.CompanySize}, {"country", &f.Country}, {"region", &f.Region}, {"timezone", &f.Timezone},
		{"language", &f.Language}, {"source", &f.Source}, {"utm_source", &f.UTMSource}, {"utm_medium", &f.UTMMedium},
		{"utm_campaign", &f.UTMCampaign}, {"budget", &f.Budget}, {"authority", &f.Authority}, {"need", &f.Need},
		{"timeline", &f.Timeline},
	} {
		*s.v = strings.TrimSpace(*s.v)
		if len(*s.v) > maxField {
			add(s.name, "longer than 256 bytes")
		}
		for _, r := range *s.v {
			if r < 0x20 || r == 0x7f {
				add(s.name, "contains control characters")
				break
			}
		}
	}
	switch {
	case f.Email == "":
		add("email", "required")
	case !plainEmail(f.Email) && !mailEmail(f.Email):
		add("email", "not an email address such as jane@example.com")
	}
	if f.Company == "" {
		add("company", "required")
	}
	if f.ExternalID != "" && checkLeadID(f.ExternalID) != nil {
		add("external_id", "must be printable, without spaces or braces, at most 128 bytes")
	}
	if f.Phone != "" && strings.Trim(f.Phone, "+0123456789 ()-./") != "" {
		add("phone", "only digits, spaces and + ( ) - . / are allowed")
	}
	if f.Timezone != "" {
		if _, err := time.LoadLocation(f.Timezone); err != nil || f.Timezone == "Local" {
			add("timezone", "not an IANA time zone such as Europe/Berlin")
		}
	}
	return out
}

// mailEmail says whether net/mail parses s as a bare address, exactly s,
// whose domain has a dot: the rule for a form's email.
func mailEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s && strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".")
}

// plainEmail accepts, without allocating, the common shape of email that
// mailEmail accepts: ASCII dot-atoms (RFC 5322 atext) on both sides of one
// '@', the domain with a dot. It never refuses on its own: anything else
// (quoted local parts, domain literals, UTF-8, comments) goes to mailEmail.
// net/mail's five allocations were a fifth of a what-if score's garbage.
// TestPlainEmailImpliesMailEmail and FuzzPlainEmail hold it to mailEmail.
func plainEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	return dotAtom(local) && dotAtom(domain) && strings.IndexByte(domain, '.') > 0
}

// dotAtom says whether s is atext runs joined by single dots (ASCII only).
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if s[i-1] == '.' {
				return false
			}
		case c <= ' ' || c >= 0x7f:
			return false
		case strings.IndexByte(`()<>[]:;@\,"`, c) >= 0:
			return false
		}
	}
	return true
}

// events turns the form into the stream's events for lead: the firmographic
// update and the high-intent form submission, checked and normalised by the
// same rules as every event of the stream (features.Check).
func (f *LeadForm) events(lead, idPrefix string, now time.Time, created bool) ([]features.Event, error) {
	return f.appendEvents(make([]features.Event, 0, 2), lead, idPrefix, now, created)
}

// appendEvents is events appending to dst (a what-if score reuses one).
func (f *LeadForm) appendEvents(dst []features.Event, lead, idPrefix string, now time.Time, created bool) ([]features.Event, error) {
	p := features.Props{
		Company: f.Company, Title: f.Title, Industry: f.Industry, CompanySize: f.CompanySize,
		Country: f.Country, Region: f.Region, Timezone: f.Timezone, Language: f.Language,
		Source: f.Source, UTMSource: f.UTMSource, UTMMedium: f.UTMMedium, UTMCampaign: f.UTMCampaign,
		Budget: f.Budget, Authority: f.Authority, Need: f.Need, Timeline: f.Timeline,
	}
	if f.Consent != nil {
		p.Consent = "no"
		if *f.Consent {
			p.Consent = "yes"
		}
	}
	first := features.LeadUpdated
	if created {
		first = features.LeadCreated
	}
	evs := append(dst,
		features.Event{EventID: idPrefix + "-" + first.String(), LeadID: lead, Type: first, TS: now, Props: p},
		features.Event{EventID: idPrefix + "-form_submitted", LeadID: lead, Type: features.FormSubmitted, TS: now},
	)
	for i := len(dst); i < len(evs); i++ {
		if err := features.Check(&evs[i], now, features.DefaultLimits()); err != nil {
			return nil, formProblem(err)
		}
	}
	return evs, nil
}

// formProblem maps a decoder error on a form's event back to the form field.
func formProblem(err error) error {
	var de *features.DecodeError
	if !errors.As(err, &de) {
		return err
	}
	field := strings.TrimPrefix(de.Field, "props.")
	return problem(fiber.StatusBadRequest, "invalid "+field, FieldProblem{Field: field, Detail: string(de.Reason) + ": " + de.Msg})
}

// tier buckets a probability for people: A is call-now material.
func tier(p float64) string {
	switch {
	case p >= 0.30:
		return "A"
	case p >= 0.15:
		return "B"
	case p >= 0.05:
		return "C"
	default:
		return "D"
	}
}
