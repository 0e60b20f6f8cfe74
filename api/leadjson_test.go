package api

import (
	"encoding/json"
	gojson "github.com/goccy/go-json"
	"testing"
	"time"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/model"
)

// TestLeadJSONMatches checks the hand-written encoding of a claim answer is
// byte for byte what encoding/json writes for the same values.
func TestLeadJSONMatches(t *testing.T) {
	t.Parallel()
	spec := features.DefaultSpec()
	now := time.Date(2026, 11, 20, 9, 0, 0, 123456789, time.UTC)
	mem := newMem(t)
	num, cat := make([]float64, len(spec.NumNames())), make([]string, len(spec.CatNames()))
	spec.Extract(mem.leads["L1"], now, num, cat)
	odd := append([]float64(nil), num...)
	for i := range odd {
		odd[i] = []float64{0, -0.5, 1e-7, 3.5e21, 123456.789, -2e-9, 1, 1e20}[i%8]
	}
	oddCat := append([]string(nil), cat...)
	for i := range oddCat {
		oddCat[i] = []string{"", "plain", `quo"te`, "back\\slash", "<html>&", "naïve", "tab\there", "\u2028"}[i%8]
	}
	due := now.Add(5 * time.Minute)
	local := now.In(time.FixedZone("x", 3600))
	for name, v := range map[string]ClaimView{
		"empty": {},
		"typical": {ClaimID: "ZGVm.abc.L1", LeaseExpiresAt: now, Priority: 0.123456789, Lead: LeadView{
			LeadID: "L1", State: "claimed", Probability: 0.3, Tier: "A", ModelVersion: "prior",
			Reasons:  []model.Reason{{Feature: "source=website", Value: 1, Impact: 0.5}, {Feature: "n", Value: -3.25, Impact: -1e-8}},
			Features: FeatureVector{spec, num, cat}, TriggerAt: &now, Attempts: 2, Pool: "default",
			SLA: &SLAView{DueAt: &due, FirstAttemptAt: &now, Breached: true},
		}},
		"odd values": {ClaimID: `we"ird<id>`, LeaseExpiresAt: local, Priority: 1e-12, Lead: LeadView{
			LeadID: "ü", Reasons: []model.Reason{}, Features: FeatureVector{spec, odd, oddCat},
			SLA: &SLAView{},
		}},
	} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := gojson.Marshal(&v); err != nil || string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

// BenchmarkClaimJSON compares the claim answer's encodings.
func BenchmarkClaimJSON(b *testing.B) {
	spec := features.DefaultSpec()
	now := time.Now()
	num, cat := make([]float64, len(spec.NumNames())), make([]string, len(spec.CatNames()))
	spec.Extract(features.State{}, now, num, cat)
	v := ClaimView{ClaimID: "ZGVm.abc.L1", LeaseExpiresAt: now, Priority: 0.12, Lead: LeadView{
		LeadID: "L1", State: "claimed", Probability: 0.3, Tier: "A", ModelVersion: "prior",
		Reasons:  []model.Reason{{Feature: "source=website", Value: 1, Impact: 0.5}},
		Features: FeatureVector{spec, num, cat}, TriggerAt: &now, Pool: "default", SLA: &SLAView{DueAt: &now},
	}}
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(v)
		}
	})
	b.Run("goccy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = gojson.Marshal(v)
		}
	})
}
