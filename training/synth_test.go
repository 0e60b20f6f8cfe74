package training

import (
	"math"
	"math/rand/v2"

	"github.com/leadq/leadq/model"
)

// synth makes n rows whose true conversion probability is known: a logistic
// function of two numeric columns (one with 5% missing values and one with
// negative values, which golearn would mishandle without the shift), a
// non-linear bump in a third, and two categorical columns. It returns the
// dataset and each row's true probability.
func synth(n int, seed uint64) (*Dataset, []float64) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ds := &Dataset{
		Schema: model.Schema{Num: []string{"visits", "delta", "age"}, Cat: []string{"source", "size"}},
		Num:    make([][]float64, 3),
		Cat:    make([][]string, 2),
	}
	sources := []string{"website", "referral", "email", "purchased_list"}
	srcEffect := []float64{0.8, 1.0, -0.6, -1.2}
	sizes := []string{"small", "mid", "large"}
	truth := make([]float64, n)
	for i := range n {
		visits := rng.ExpFloat64() * 3
		delta := rng.NormFloat64() * 2
		age := 20 + rng.Float64()*50
		s := rng.IntN(len(sources))
		z := rng.IntN(len(sizes))
		logit := -2.2 + 0.35*visits - 0.5*delta + srcEffect[s] + 0.3*float64(z)
		if age > 40 && age < 55 {
			logit += 0.7 // the bump a linear term cannot see, bins can
		}
		truth[i] = 1 / (1 + math.Exp(-logit))
		if rng.Float64() < 0.05 {
			visits = math.NaN()
		}
		ds.Num[0] = append(ds.Num[0], visits)
		ds.Num[1] = append(ds.Num[1], delta)
		ds.Num[2] = append(ds.Num[2], age)
		ds.Cat[0] = append(ds.Cat[0], sources[s])
		ds.Cat[1] = append(ds.Cat[1], sizes[z])
		ds.Label = append(ds.Label, rng.Float64() < truth[i])
	}
	return ds, truth
}
