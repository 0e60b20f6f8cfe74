package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/model"
)

// TestPostScoreTyped: POST /v1/score, which scores a form's vector built
// straight from its events, answers what scoring the fold of those events
// (the state a stored lead would have) answers, for random forms.
func TestPostScoreTyped(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 4, 10, 11, 12, 13e6, time.UTC)
	live := model.NewLive(features.DefaultSpec())
	s := New(Config{BodyLimit: 1 << 16, Registry: prometheus.NewRegistry(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		APIKeys: testKeys, Live: live, Now: func() time.Time { return now }})
	r := rand.New(rand.NewPCG(3, 4))
	pick := func(vs ...string) string { return vs[r.IntN(len(vs))] }
	for i := range 60 {
		f := LeadForm{Email: "a@b.co", Company: pick("Acme", "Globex"), Title: pick("", "VP Sales", "Engineer"),
			Source: pick("", "referral", "purchased list", "website", "webinar"), UTMMedium: pick("", "cpc", "email"),
			Country: pick("", "DE", "US"), CompanySize: pick("", "51-200", "5001+"), Budget: pick("", "approved")}
		body, _ := json.Marshal(f)
		code, resp, _ := postJSON(t, s, "/v1/score", "form-secret", string(body))
		if code != 200 {
			t.Fatalf("%d %v", code, resp)
		}
		var got ScoreResponse
		if raw, err := json.Marshal(resp); err != nil || json.Unmarshal(raw, &got) != nil {
			t.Fatalf("%v: %v", resp, err)
		}
		if errs := f.validate(); len(errs) > 0 {
			t.Fatal(errs)
		}
		evs, err := f.events("what-if", "score", now, true)
		if err != nil {
			t.Fatal(err)
		}
		st := features.State{}
		for _, e := range evs {
			features.Fold(st, live.Spec().Compile(e, nil))
		}
		p, reasons, version := live.Explain(st, now, nil)
		want := ScoreResponse{Probability: p, Tier: tier(p), ModelVersion: version, Reasons: reasons}
		wantJSON, _ := json.Marshal(want)
		var wantBack ScoreResponse
		_ = json.Unmarshal(wantJSON, &wantBack) // compare as the client sees both
		if !reflect.DeepEqual(got, wantBack) {
			t.Fatalf("form %d %s:\n got %+v\nwant %+v", i, body, got, wantBack)
		}
	}
}
