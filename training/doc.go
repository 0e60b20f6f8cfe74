// Package training turns labelled rows into a served model: it loads lead
// datasets (any CSV with a target column), fits logistic regression with
// golearn (liblinear) and a random forest (golearn's bagged ID3 trees), keeps
// the one with the higher AUC on the calibration split (an interleaved or a
// time-ordered holdout), compiles and parity-checks the flat scorer, calibrates
// it on a separate split and evaluates it with metrics golearn lacks (ROC
// AUC, log loss, Brier, calibration table and ECE, top-decile lift).
//
// It also keeps the point-in-time training rows (Snapshots: the feature
// vector a lead had when it was surfaced, labelled by the outcome that
// followed within the horizon) and retrains from them on a schedule
// (Trainer: one replica at a time under a Redis lock, promotion only when a
// challenger beats the champion on the same holdout).
//
// golearn's liblinear binding passes Go pointers to C: every process that
// trains must run with GODEBUG=cgocheck=0 in its environment (FACTS.md).
package training
