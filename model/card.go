package model

import "time"

// Card documents one model version: how it was trained and how good it is
// on its holdout. The registry stores it beside the artifact.
type Card struct {
	Version     string `json:"version"`
	Kind        string `json:"kind"`
	SpecVersion string `json:"spec_version"` // feature-spec (or CSV schema) version the inputs follow
	Schema      Schema `json:"schema"`
	// Source says where the rows came from, e.g. "csv:bank.csv".
	Source          string    `json:"source,omitempty"`
	Window          *Window   `json:"training_window,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	TrainingSeconds float64   `json:"training_seconds"`
	Rows            Rows      `json:"rows"`
	Params          Params    `json:"params"`
	// Candidates are every model fitted, scored on the validation split.
	Candidates []Candidate `json:"candidates"`
	// Parity counts holdout rows on which the compiled scorer and golearn's
	// own Predict agreed; a card exists only when they all did.
	Parity  Parity  `json:"parity"`
	Metrics Metrics `json:"metrics"` // on the holdout (test) split
	// Holdout fingerprints the holdout rows (values and labels) Metrics were
	// computed on: the registry compares two models' AUC only on one holdout.
	Holdout string `json:"holdout,omitempty"`
}

// Window is the time range of the training rows.
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Rows counts the rows of each split and their positives.
type Rows struct {
	Total                int `json:"total"`
	Train                int `json:"train"`
	TrainPositives       int `json:"train_positives"`
	Calibration          int `json:"calibration"`
	CalibrationPositives int `json:"calibration_positives"`
	Test                 int `json:"test"`
	TestPositives        int `json:"test_positives"`
}

// Params are the chosen hyper-parameters.
type Params struct {
	Solver      string  `json:"solver"` // e.g. "liblinear L2R_LR"
	C           float64 `json:"c"`
	Bins        int     `json:"bins"`
	Calibration string  `json:"calibration"`
	// CalibrationCV is each method's cross-validated log loss on the
	// calibration split, when the method was chosen automatically.
	CalibrationCV map[string]float64 `json:"calibration_cv_log_loss,omitempty"`
	Inputs        int                `json:"inputs"` // encoded input dimension (LR: incl. the constant column)
	// Forest only: trees, random inputs per tree, fitting rows used.
	Trees        int `json:"trees,omitempty"`
	TreeFeatures int `json:"tree_features,omitempty"`
	ForestRows   int `json:"forest_rows,omitempty"`
}

// Candidate is one fitted model and its validation scores (on the
// calibration split); Chosen marks the one that became the artifact.
type Candidate struct {
	Kind         string  `json:"kind"`
	C            float64 `json:"c,omitempty"`
	Bins         int     `json:"bins"`
	Trees        int     `json:"trees,omitempty"`
	TreeFeatures int     `json:"tree_features,omitempty"`
	Rows         int     `json:"rows,omitempty"` // forest: fitting rows used
	Chosen       bool    `json:"chosen,omitempty"`
	AUC          float64 `json:"auc"`
	LogLoss      float64 `json:"log_loss"`
	Seconds      float64 `json:"seconds"`
}

// Parity is the result of the scorer-versus-golearn check.
type Parity struct {
	Rows  int `json:"rows"`
	Agree int `json:"agree"`
}

// Metrics are evaluation figures of calibrated probabilities against labels.
type Metrics struct {
	N         int      `json:"n"`
	Positives int      `json:"positives"`
	AUC       float64  `json:"auc"`
	LogLoss   float64  `json:"log_loss"`
	Brier     float64  `json:"brier"`
	ECE       float64  `json:"ece"` // expected calibration error over Table
	Table     []CalBin `json:"calibration_table"`
	TopDecile Decile   `json:"top_decile"`
}

// CalBin is one equal-width probability bin of the calibration table.
type CalBin struct {
	Lo       float64 `json:"lo"`
	Hi       float64 `json:"hi"`
	N        int     `json:"n"`
	MeanProb float64 `json:"mean_prob"`
	Observed float64 `json:"observed"`
}

// Decile describes the highest-scored 10% of rows.
type Decile struct {
	N         int     `json:"n"`
	Positives float64 `json:"positives"` // fractional when scores tie at the cut
	Lift      float64 `json:"lift"`      // positive rate in the decile over the overall rate
	Recall    float64 `json:"recall"`    // share of all positives the decile holds
}
