// Package model is the conversion model as the service serves it: the JSON
// artifact a trainer produces (input schema, encoder and weights, or a
// flattened random forest; calibration),
// the flat allocation-free Scorer compiled from it, the reasons behind a
// score, the cold-start prior, the model card that documents a version, the
// Live holder every request scores with and the Redis registry that decides
// which version is the champion and tells every replica when it changes.
//
// It depends only on features (the spec a Live extracts and binds by name);
// training/ produces artifacts and the API and queue consume Live.
package model
