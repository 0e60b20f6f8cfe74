package training

import (
	"math"
	"testing"

	"github.com/leadq/leadq/model"
)

// A numeric column that is missing on every training row (a feature the
// service has not populated yet) must not crash training with bins on.
func TestTrainAllMissingNumericColumn(t *testing.T) {
	ds, _ := synth(3000, 7)
	ds.Schema.Num = append(ds.Schema.Num, "never_set")
	col := make([]float64, ds.Len())
	for i := range col {
		col[i] = math.NaN()
	}
	ds.Num = append(ds.Num, col)
	_, _, err := Train(t.Context(), ds, Options{Version: "nan", Kinds: []string{model.KindLogReg}, Bins: []int{10}, Cs: []float64{1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
}
