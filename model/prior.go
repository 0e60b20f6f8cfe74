package model

import "math"

// PriorVersion is the version every prior score carries, so that clients and
// dashboards can tell a cold-start guess from a trained model.
const PriorVersion = "prior"

// PriorSourceColumn is the one input the prior reads: the lead's original
// (first-touch) source, as the feature spec names and normalises it
// (features/extract.go, features/vocab.go).
const PriorSourceColumn = "source_first"

// PriorAverage is the lead-to-opportunity rate of a lead whose source is
// missing or not in the prior's table.
const PriorAverage = 0.13

// PriorRate returns the cold-start conversion rate of a lead source, or
// PriorAverage for a source not in the table below.
func PriorRate(source string) float64 {
	if r, ok := priorRates[source]; ok {
		return r
	}
	return PriorAverage
}

// priorRates is the cold-start conversion rate by lead source.
//
// Source: the published figures summarised in DESIGN.md ("Why speed
// matters"): conversion differs strongly by source, website and referrals
// highest, purchased lists and email campaigns lowest, about 13%
// lead-to-opportunity on average. Those publications give the ordering and
// the average, not this exact table: the per-source values below are our
// interpolation that keeps that ordering (inbound and referred sources above
// the average, bought and cold ones below) and averages about 13% over the
// feature spec's source vocabulary. They only rank leads until the first
// trained model is promoted.
//
//	source          rate
//	referral        0.24
//	website         0.22
//	organic_search  0.18
//	chat            0.18
//	partner         0.15
//	webinar         0.14
//	event           0.12
//	paid_search     0.12
//	paid_social     0.08
//	social          0.08
//	outbound        0.06
//	email           0.05
//	purchased_list  0.04
//	(other/missing) 0.13
var priorRates = map[string]float64{
	"referral": 0.24, "website": 0.22, "organic_search": 0.18, "chat": 0.18,
	"partner": 0.15, "webinar": 0.14, "event": 0.12, "paid_search": 0.12,
	"paid_social": 0.08, "social": 0.08, "outbound": 0.06, "email": 0.05,
	"purchased_list": 0.04,
}

// priorOrder fixes the artifact layout so that Prior is deterministic.
var priorOrder = []string{"referral", "website", "organic_search", "chat", "partner", "webinar", "event",
	"paid_search", "paid_social", "social", "outbound", "email", "purchased_list"}

// Prior returns the cold-start artifact: a logistic model over the source
// column alone whose probabilities are exactly PriorRate's (identity Platt
// calibration), with version "prior" and reasons like any other model.
func Prior() *Artifact {
	logit := func(p float64) float64 { return math.Log(p / (1 - p)) }
	a := &Artifact{
		Version:     PriorVersion,
		Kind:        KindPrior,
		Schema:      Schema{Cat: []string{PriorSourceColumn}},
		Weights:     []float64{logit(PriorAverage)},
		Calibration: Calibration{Method: CalPlatt, A: 1},
	}
	enc := CatEncoding{Name: PriorSourceColumn, Offset: 1}
	for _, src := range priorOrder {
		enc.Values = append(enc.Values, src)
		enc.Share = append(enc.Share, 1/float64(len(priorOrder)))
		a.Weights = append(a.Weights, logit(PriorRate(src))-logit(PriorAverage))
	}
	a.Encoder.Cat = []CatEncoding{enc}
	return a
}
