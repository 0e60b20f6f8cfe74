package api

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/model"
)

func scoreServer() *Server {
	return New(Config{BodyLimit: 1 << 16, Registry: prometheus.NewRegistry(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		APIKeys: testKeys, Live: model.NewLive(features.DefaultSpec())})
}

const goodForm = `{"email":"jane@acme.io","company":"Acme","source":"referral","country":"DE","title":"VP Sales","consent":true}`

func TestPostScore(t *testing.T) {
	t.Parallel()
	s := scoreServer()
	code, resp, _ := postJSON(t, s, "/v1/score", "form-secret", goodForm)
	if code != 200 || resp["model_version"] != "prior" || resp["tier"] == nil {
		t.Fatalf("%d %v", code, resp)
	}
	// The prior is the published rate of the source: referral beats a purchased list.
	p := resp["probability"].(float64)
	_, cold, _ := postJSON(t, s, "/v1/score", "form-secret", strings.Replace(goodForm, "referral", "purchased list", 1))
	if q := cold["probability"].(float64); !(p > q) || p <= 0 || p >= 1 {
		t.Fatalf("referral %v vs purchased list %v", p, q)
	}
	if code, _, _ := postJSON(t, s, "/v1/score", "dialer-secret", goodForm); code != 403 {
		t.Fatalf("dialer key: %d", code)
	}
}

func TestPostScoreValidation(t *testing.T) {
	t.Parallel()
	s := scoreServer()
	long := strings.Repeat("x", 300)
	for _, tc := range []struct {
		name, body, field string
	}{
		{"missing email", `{"company":"Acme"}`, "email"},
		{"bad email", `{"email":"jane at acme","company":"Acme"}`, "email"},
		{"display-name email", `{"email":"Jane <jane@acme.io>","company":"Acme"}`, "email"},
		{"missing company", `{"email":"jane@acme.io"}`, "company"},
		{"unknown field", `{"email":"jane@acme.io","company":"Acme","favourite_colour":"red"}`, "favourite_colour"},
		{"wrong type", `{"email":"jane@acme.io","company":"Acme","consent":"maybe"}`, "consent"},
		{"number for string", `{"email":"jane@acme.io","company":7}`, "company"},
		{"too long", `{"email":"jane@acme.io","company":"` + long + `"}`, "company"},
		{"control chars", `{"email":"jane@acme.io","company":"Ac\u0000me"}`, "company"},
		{"bad phone", `{"email":"jane@acme.io","company":"Acme","phone":"call me"}`, "phone"},
		{"bad timezone", `{"email":"jane@acme.io","company":"Acme","timezone":"Mars/Olympus"}`, "timezone"},
		{"bad external id", `{"email":"jane@acme.io","company":"Acme","external_id":"a b"}`, "external_id"},
		{"malformed", `{"email":`, "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, resp, ct := postJSON(t, s, "/v1/score", "form-secret", tc.body)
			if code != 400 || ct != "application/problem+json" {
				t.Fatalf("%d %s %v", code, ct, resp)
			}
			errs, _ := resp["errors"].([]any)
			for _, e := range errs {
				if e.(map[string]any)["field"] == tc.field {
					return
				}
			}
			t.Fatalf("problem does not name %q: %v", tc.field, resp)
		})
	}
}
