package training

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/sjwhitworth/golearn/base"
	"github.com/sjwhitworth/golearn/linear_models"
)

// ErrCgoCheck means the process was started without GODEBUG=cgocheck=0,
// which golearn's liblinear binding needs (FACTS.md).
var ErrCgoCheck = errors.New("training: golearn needs the process started with GODEBUG=cgocheck=0 in its environment")

// ErrParity means the compiled scorer disagreed with golearn's own Predict.
var ErrParity = errors.New("training: scorer disagrees with golearn")

// silenceOnce mutes liblinear, which logs every solver iteration through
// golearn's package-global logger.
var silenceOnce sync.Once

// logReg is a fitted liblinear model: its weights, oriented so that a
// positive margin means a positive prediction, and the golearn model itself,
// kept for the parity check.
type logReg struct {
	w     []float64
	model *linear_models.Model
}

// fitLogReg fits L2-regularised logistic regression with golearn's liblinear
// binding. It uses the low-level API because LogisticRegression keeps its
// model unexported, so its weights could not be exported; Predict on this
// model is the exact call LogisticRegression.Predict makes per row.
// The C model is never freed: golearn has no free function.
func fitLogReg(x [][]float64, y []float64, c, eps float64) (lr *logReg, err error) {
	if len(x) == 0 {
		return nil, errors.New("training: no rows to fit")
	}
	silenceOnce.Do(func() { base.SetLogger(log.New(io.Discard, "", 0)) })
	// liblinear orders classes by first appearance and thresholds the
	// margin for the first: put a positive row first so that w points at
	// "converts" (exportWeights still checks the order it wrote).
	first := -1
	for i, v := range y {
		if v == 1 {
			first = i
			break
		}
	}
	if first < 0 || !hasNegative(y) {
		return nil, errors.New("training: the fitting rows need both positive and negative labels")
	}
	x[0], x[first] = x[first], x[0]
	y[0], y[first] = y[first], y[0]
	defer func() {
		x[0], x[first] = x[first], x[0]
		y[0], y[first] = y[first], y[0]
	}()
	defer func() {
		// The cgocheck failure is an ordinary panic in the cgo call; turn
		// it into an error that says what to do.
		if r := recover(); r != nil {
			if msg := fmt.Sprint(r); strings.Contains(msg, "cgo") && strings.Contains(msg, "Go pointer") {
				err = ErrCgoCheck
				return
			}
			panic(r)
		}
	}()
	prob := linear_models.NewProblem(x, y, 0)
	param := linear_models.NewParameter(linear_models.L2R_LR, c, eps)
	m := linear_models.Train(prob, param)
	w, err := exportWeights(m, len(x[0]))
	if err != nil {
		return nil, err
	}
	return &logReg{w: w, model: m}, nil
}

func hasNegative(y []float64) bool {
	for _, v := range y {
		if v != 1 {
			return true
		}
	}
	return false
}

// predict is golearn's own prediction for one dense row: true if positive.
func (lr *logReg) predict(x []float64) bool {
	return linear_models.Predict(lr.model, x) == 1
}

// exportWeights reads the weights through linear_models.Export, golearn's
// only way out: liblinear's text model, weights printed with %.16g.
func exportWeights(m *linear_models.Model, dim int) ([]float64, error) {
	f, err := os.CreateTemp("", "leadq-liblinear-*.txt")
	if err != nil {
		return nil, fmt.Errorf("training: export weights: %w", err)
	}
	path := f.Name()
	f.Close()
	defer os.Remove(path)
	if err := linear_models.Export(m, path); err != nil {
		return nil, fmt.Errorf("training: export weights: %w", err)
	}
	f, err = os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("training: export weights: %w", err)
	}
	defer f.Close()
	return parseLiblinear(f, dim)
}

// parseLiblinear parses liblinear's save_model output for a binary model
// and returns the first dim weights, negated if liblinear's first class is
// not the positive one (so that margin > 0 always means positive).
func parseLiblinear(r io.Reader, dim int) ([]float64, error) {
	sc := bufio.NewScanner(r)
	var labels []string
	var w []float64
	inW := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case inW:
			if line == "" {
				continue
			}
			v, err := strconv.ParseFloat(line, 64)
			if err != nil {
				return nil, fmt.Errorf("training: liblinear model line %q: %w", line, err)
			}
			w = append(w, v)
		case line == "w":
			inW = true
		case strings.HasPrefix(line, "nr_class "):
			if line != "nr_class 2" {
				return nil, fmt.Errorf("training: liblinear model has %q, want 2 classes", line)
			}
		case strings.HasPrefix(line, "label "):
			labels = strings.Fields(line)[1:]
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("training: read liblinear model: %w", err)
	}
	if len(w) < dim {
		return nil, fmt.Errorf("training: liblinear model has %d weights, want at least %d", len(w), dim)
	}
	w = w[:dim] // liblinear keeps one unused weight past the last feature
	switch {
	case len(labels) == 2 && labels[0] == "1" && labels[1] == "0":
	case len(labels) == 2 && labels[0] == "0" && labels[1] == "1":
		for i := range w {
			w[i] = -w[i]
		}
	default:
		return nil, fmt.Errorf("training: liblinear model has labels %q, want 1 and 0", labels)
	}
	return w, nil
}
