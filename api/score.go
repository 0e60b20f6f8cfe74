package api

import (
	"sync"

	"github.com/gofiber/fiber/v2"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/model"
)

// ScoreResponse is the body of POST /v1/score.
type ScoreResponse struct {
	Probability  float64        `json:"probability"`
	Tier         string         `json:"tier"`
	ModelVersion string         `json:"model_version"`
	Reasons      []model.Reason `json:"reasons"`
}

// postScore scores a form payload as a new lead, storing nothing (what-if).
func (s *Server) postScore(c *fiber.Ctx) error {
	sc := scoreScratch.Get().(*scoreBuf)
	defer sc.release()
	f := &sc.form
	if err := decodeFormBorrowed(c.Body(), f); err != nil {
		return err
	}
	if errs := f.validate(); len(errs) > 0 {
		return problem(fiber.StatusBadRequest, "invalid lead", errs...)
	}
	now := s.now()
	evs, err := f.appendEvents(sc.evs[:0], "what-if", "score", now, true)
	if err != nil {
		return err
	}
	sc.evs = evs
	spec := s.cfg.Live.Spec()
	if n, m := spec.Sizes(); len(sc.num) != n || len(sc.cat) != m {
		sc.num, sc.cat = make([]float64, n), make([]string, m)
	}
	// A what-if lead has only the form's events: its vector comes straight
	// from them (features.Spec.ExtractNew), with no state map to fold into.
	spec.ExtractNew(evs, now, sc.num, sc.cat)
	p, reasons, version := s.cfg.Live.ExplainVector(sc.num, sc.cat, sc.reasons[:0])
	sc.resp = ScoreResponse{Probability: p, Tier: tier(p), ModelVersion: version, Reasons: reasons}
	return c.JSON(&sc.resp) // encoded before release: a pointer saves boxing a copy
}

// scoreBuf is one what-if scoring's scratch space, reused through
// scoreScratch: the form, its events, the feature vector and the reasons.
type scoreBuf struct {
	form    LeadForm
	evs     []features.Event
	num     []float64
	cat     []string
	reasons []model.Reason
	resp    ScoreResponse
}

var scoreScratch = sync.Pool{New: func() any {
	return &scoreBuf{reasons: make([]model.Reason, 0, 2*model.TopReasons)}
}}

func (b *scoreBuf) release() {
	clear(b.cat) // drop references to the form's strings
	clear(b.evs)
	b.form = LeadForm{}
	b.resp = ScoreResponse{}
	clear(b.reasons[:cap(b.reasons)]) // ExplainVector appends into the backing array
	scoreScratch.Put(b)
}
