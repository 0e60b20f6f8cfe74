package api

import (
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
	var f LeadForm
	if err := decodeStrict(c.Body(), &f); err != nil {
		return err
	}
	if errs := f.validate(); len(errs) > 0 {
		return problem(fiber.StatusBadRequest, "invalid lead", errs...)
	}
	now := s.now()
	evs, err := f.events("what-if", "score", now, true)
	if err != nil {
		return err
	}
	spec := s.cfg.Live.Spec()
	st := features.State{}
	var ops []features.Op
	for _, e := range evs {
		ops = spec.Compile(e, ops[:0])
		features.Fold(st, ops)
	}
	p, reasons, version := s.cfg.Live.Explain(st, now, make([]model.Reason, 0, 2*model.TopReasons))
	return c.JSON(ScoreResponse{Probability: p, Tier: tier(p), ModelVersion: version, Reasons: reasons})
}
