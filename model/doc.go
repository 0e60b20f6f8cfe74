// Package model is the conversion model as the service serves it: the JSON
// artifact a trainer produces (input schema, encoder, weights, calibration),
// the flat allocation-free Scorer compiled from it, the reasons behind a
// score, the cold-start prior and the model card that documents a version.
//
// It depends on nothing else in leadq; training/ produces artifacts and the
// API and queue consume Scorers.
package model
