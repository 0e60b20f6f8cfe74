package training

import "testing"

func TestZZExp(t *testing.T) {
	ds, err := LoadCSVFile("/work/shared/data/bank-marketing/bank-additional-full.csv", CSVOptions{Sep: ';', Target: "y", Drop: []string{"duration"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []Options{
		{Bins: []int{10}, Cs: []float64{1}},
		{Bins: []int{20}, Cs: []float64{1}},
		{Bins: []int{10}, Cs: []float64{10}},
		{Bins: []int{5}, Cs: []float64{1}},
		{Bins: []int{10}, Cs: []float64{1}, Calibration: "isotonic"},
		{Bins: []int{10}, Cs: []float64{1}, Clip: 3},
		{Bins: []int{10}, Cs: []float64{1}, MinCount: 1},
	} {
		_, c, err := Train(t.Context(), ds, o, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v: test AUC %.4f LL %.4f ECE %.4f | cal AUC %.4f", o, c.Metrics.AUC, c.Metrics.LogLoss, c.Metrics.ECE, c.Candidates[0].AUC)
	}
}
