package api

import (
	"errors"
	"testing"
	"time"

	"github.com/leadq/leadq/features"
)

// FuzzLeadForm feeds arbitrary bodies to the form decoder and validator: they
// never panic, a refusal is always a problem naming a field, and an accepted
// form always becomes events the stream's decoder accepts.
func FuzzLeadForm(f *testing.F) {
	for _, seed := range []string{
		goodForm,
		`{"email":"a@b.co","company":"x","consent":false,"timezone":"Europe/Berlin","phone":"+49 (30) 123-45"}`,
		`{"email":"a@b.co","company":"x","external_id":"crm-1","company_size":"51-200","budget":"yes"}`,
		`{"email":"","company":""}`, `{}`, `[]`, `{"email":1}`, `{"email":"a@b.co","company":"\u0000"}`,
		`{"email":"a@b.co","company":"x","x":1}`, `{"email":"a@b.co","company":"x"} trailing`,
	} {
		f.Add([]byte(seed))
	}
	now := time.Now()
	f.Fuzz(func(t *testing.T, body []byte) {
		var form LeadForm
		if err := decodeStrict(body, &form); err != nil {
			var p *Problem
			if !errors.As(err, &p) || p.Status != 400 || len(p.Errors) == 0 || p.Errors[0].Field == "" {
				t.Fatalf("decode refusal is not a 400 naming a field: %#v", err)
			}
			return
		}
		if errs := form.validate(); len(errs) > 0 {
			for _, e := range errs {
				if e.Field == "" || e.Detail == "" {
					t.Fatalf("validation problem without field or detail: %+v", e)
				}
			}
			return
		}
		evs, err := form.events("L-fuzz", "fuzz", now, true)
		if err != nil {
			var p *Problem
			if !errors.As(err, &p) || p.Status != 400 {
				t.Fatalf("a valid form made events the decoder refused without a 400: %v", err)
			}
			return
		}
		if len(evs) != 2 {
			t.Fatalf("want 2 events, got %d", len(evs))
		}
		// What the API writes to Kafka must pass the stream's own decoder.
		for _, e := range evs {
			raw, err := e.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := features.Decode(raw, now, features.DefaultLimits()); err != nil {
				t.Fatalf("the stream refuses a form event: %v: %s", err, raw)
			}
		}
	})
}
