package api

import (
	"context"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/leadq/leadq/features"
)

// FeatureStore is what the API reads of the feature store.
type FeatureStore interface {
	Get(ctx context.Context, leadID string) (features.State, error)
	Spec() *features.Spec
}

// LeadView is the body of GET /v1/leads/{id}.
type LeadView struct {
	LeadID    string         `json:"lead_id"`
	State     string         `json:"state"`
	Features  map[string]any `json:"features"`
	TriggerAt *time.Time     `json:"trigger_at"`
	Attempts  int            `json:"attempts"`
}

func (s *Server) getLead(c *fiber.Ctx) error {
	id, err := leadIDParam(c)
	if err != nil {
		return err
	}
	st, err := s.cfg.Features.Get(c.UserContext(), id)
	if err != nil {
		return unavailable("redis", err)
	}
	if len(st) == 0 {
		return problem(fiber.StatusNotFound, "no lead with id "+id)
	}
	spec := s.cfg.Features.Spec()
	now := s.now()
	v := LeadView{
		LeadID:   id,
		State:    spec.Lifecycle(st),
		Features: spec.Named(st, now),
		Attempts: spec.Attempts(st),
	}
	if t, ok := spec.TriggerAt(st); ok {
		v.TriggerAt = &t
	}
	return c.JSON(v)
}

// leadIDParam returns the unescaped, checked {id} path parameter.
func leadIDParam(c *fiber.Ctx) (string, error) {
	id, err := url.PathUnescape(c.Params("id"))
	if err != nil {
		return "", problem(fiber.StatusBadRequest, "invalid lead id", FieldProblem{Field: "id", Detail: "bad percent-encoding"})
	}
	return id, checkLeadID(id)
}

// checkLeadID applies the event contract's id rules to a path parameter.
func checkLeadID(id string) error {
	if id == "" || len(id) > 128 {
		return problem(fiber.StatusBadRequest, "invalid lead id", FieldProblem{Field: "id", Detail: "must be 1 to 128 bytes"})
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] == 0x7f || id[i] == '{' || id[i] == '}' {
			return problem(fiber.StatusBadRequest, "invalid lead id", FieldProblem{Field: "id", Detail: "must be printable, without spaces or braces"})
		}
	}
	return nil
}

// unavailable is the answer when a dependency fails: 503, naming it, fast.
func unavailable(dep string, err error) *Problem {
	return problem(fiber.StatusServiceUnavailable, dep+" unavailable: "+err.Error(), FieldProblem{Field: dep, Detail: err.Error()})
}
