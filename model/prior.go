package model

import "math"

// PriorVersion is the version every prior score carries, so that clients and
// dashboards can tell a cold-start guess from a trained model.
const PriorVersion = "prior"

// PriorSourceColumn is the one input the prior reads: the lead's source.
const PriorSourceColumn = "source"

// PriorAverage is the lead-to-opportunity rate of a lead whose source is
// missing or not in PriorRates.
const PriorAverage = 0.13

// PriorRates is the cold-start conversion rate by lead source.
//
// Source: the published figures summarised in DESIGN.md ("Why speed
// matters"): conversion differs strongly by source, website and referrals
// highest, purchased lists and email campaigns lowest, about 13%
// lead-to-opportunity on average. Those publications give the ordering and
// the average, not this exact table: the per-source values below are our
// interpolation that keeps that ordering and averages 13% over the eight
// sources. They only rank leads until the first trained model is promoted.
//
//	source          rate
//	referral        0.24
//	website         0.22
//	partner         0.15
//	event           0.13
//	paid_search     0.12
//	social          0.09
//	email           0.05
//	purchased_list  0.04
//	(other/missing) 0.13
var PriorRates = map[string]float64{
	"referral":       0.24,
	"website":        0.22,
	"partner":        0.15,
	"event":          0.13,
	"paid_search":    0.12,
	"social":         0.09,
	"email":          0.05,
	"purchased_list": 0.04,
}

// priorOrder fixes the artifact layout so that Prior is deterministic.
var priorOrder = []string{"referral", "website", "partner", "event", "paid_search", "social", "email", "purchased_list"}

// Prior returns the cold-start artifact: a logistic model over the source
// column alone whose probabilities are exactly PriorRates (identity Platt
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
		a.Weights = append(a.Weights, logit(PriorRates[src])-logit(PriorAverage))
	}
	a.Encoder.Cat = []CatEncoding{enc}
	return a
}
