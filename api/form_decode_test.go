package api

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	gojson "github.com/goccy/go-json"
)

// FuzzDecodeForm: whatever the body, decodeForm's answer is decodeStrict's
// (encoding/json's): the same form, or a problem naming the same field.
func FuzzDecodeForm(f *testing.F) {
	for _, seed := range []string{
		goodForm, benchForm, `{}`, ` { } `, `[]`, `{"email":1}`, `{"Email":"a@b.co"}`, `{"email":"a\u00e9@b.co"}`,
		`{"email":"a@b.co","company":"x","x":1}`, `{"email":"a@b.co"} trailing`, `{"email":"a@b.co"}}`,
		`{"consent":true}`, `{"consent":truex}`, `{"consent":null}`, `{"consent":false,"consent":true}`,
		`{"company":"Ünïcødé"}`, "{\"company\":\"\xff\"}", "{\"company\":\"a\tb\"}", `{"email":"a","email":"b"}`,
		`{"email" : "a@b.co" , "company" : "x" }`, `{"email":"a@b.co",}`, `{"email":`, `{"email":"a@b.co"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got, want LeadForm
		gotErr := decodeForm(body, &got)
		wantErr := decodeStrict(body, &want)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%q: decodeForm error %v, decodeStrict error %v", body, gotErr, wantErr)
		}
		if gotErr != nil {
			if !reflect.DeepEqual(gotErr, wantErr) {
				t.Fatalf("%q: decodeForm error %#v, decodeStrict error %#v", body, gotErr, wantErr)
			}
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\ndecodeForm   %+v\ndecodeStrict %+v", body, got, want)
		}
	})
}

// TestDecodeFormUsualBodies: the forms web pages send (any key order,
// spacing, non-ASCII text, escapes, other casing) decode as encoding/json
// decodes them.
func TestDecodeFormUsualBodies(t *testing.T) {
	t.Parallel()
	keys := []string{"external_id", "email", "first_name", "last_name", "phone", "company", "title", "industry",
		"company_size", "country", "region", "timezone", "language", "source", "utm_source", "utm_medium",
		"utm_campaign", "budget", "authority", "need", "timeline", "consent"}
	words := []string{"", "Acme", "jane@acme.io", "Ünïcødé GmbH", "VP of Sales", "東京", "a b  c", "+49 (30) 1"}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		r.Shuffle(len(keys), func(a, b int) { keys[a], keys[b] = keys[b], keys[a] })
		sp := []string{"", " ", "\n\t"}[r.IntN(3)]
		var parts []string
		for _, k := range keys[:r.IntN(len(keys)+1)] {
			v := `"` + words[r.IntN(len(words))] + `"`
			if k == "consent" {
				v = []string{"true", "false"}[r.IntN(2)]
			}
			parts = append(parts, fmt.Sprintf("%s%q%s:%s%s", sp, k, sp, sp, v))
		}
		body := []byte(sp + "{" + strings.Join(parts, ",") + sp + "}" + sp)
		var got, want LeadForm
		gotErr := decodeForm(body, &got)
		if err := decodeStrict(body, &want); err != nil || gotErr != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d: %s\ndecodeForm %+v (%v)\njson %+v (%v)", i, body, got, gotErr, want, err)
		}
	}
}

func BenchmarkDecodeForm(b *testing.B) {
	body := []byte(benchForm)
	for _, d := range []struct {
		name string
		f    func([]byte, *LeadForm) error
	}{{"goccy", decodeForm}, {"encoding-json", func(b []byte, f *LeadForm) error { return decodeStrict(b, f) }}} {
		b.Run(d.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var f LeadForm
				if err := d.f(body, &f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestGoccyDisallowUnknownFields: disallowUnknownFields sets goccy's own
// unknown-field check (decodeForm relies on it, not on the fallback).
func TestGoccyDisallowUnknownFields(t *testing.T) {
	t.Parallel()
	var f LeadForm
	if err := gojson.UnmarshalWithOption([]byte(`{"email":"a@b.io","company":"Acme","emial":"x"}`), &f, disallowUnknownFields); err == nil {
		t.Fatal("goccy with disallowUnknownFields accepted an unknown field: has its option bit moved?")
	}
	body := []byte(`{"email":"a@b.io","company":"Acme"}`)
	f = LeadForm{}
	if err := gojson.UnmarshalWithOption(body, &f, disallowUnknownFields); err != nil || f.Email != "a@b.io" || f.Company != "Acme" {
		t.Fatalf("goccy with disallowUnknownFields: %+v, %v", f, err)
	}
	copy(body, bytes.Repeat([]byte("z"), len(body))) // decoded strings must be copies, not views of the body
	if f.Email != "a@b.io" || f.Company != "Acme" {
		t.Fatalf("decoded strings share the body's bytes: %+v", f)
	}
}

// TestDecodeStrictTrailingData: anything after the object, even a stray
// closing bracket (json.Decoder.More reports false before one), is refused.
func TestDecodeStrictTrailingData(t *testing.T) {
	t.Parallel()
	for _, tail := range []string{"]", "}", " {}", "x", ",", "\n]"} {
		var f LeadForm
		if err := decodeStrict([]byte(`{"email":"a@b.io","company":"Acme"}`+tail), &f); err == nil {
			t.Errorf("trailing %q accepted", tail)
		}
		f = LeadForm{}
		if err := decodeForm([]byte(`{"email":"a@b.io","company":"Acme"}`+tail), &f); err == nil {
			t.Errorf("decodeForm: trailing %q accepted", tail)
		}
	}
	var f LeadForm
	if err := decodeStrict([]byte(" {\"email\":\"a@b.io\",\"company\":\"Acme\"} \n\t"), &f); err != nil {
		t.Errorf("trailing whitespace refused: %v", err)
	}
}
