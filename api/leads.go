package api

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/queue"
	"github.com/leadq/leadq/model"
)

// FeatureStore is what the API reads and writes of the feature store.
type FeatureStore interface {
	Get(ctx context.Context, leadID string) (features.State, error)
	ApplyChanges(ctx context.Context, batch []features.Applied, dst []features.Change) ([]features.Change, error)
	Spec() *features.Spec
}

// LeadView is the body of GET /v1/leads/{id} and the lead of a claim.
type LeadView struct {
	LeadID       string         `json:"lead_id"`
	State        string         `json:"state"`
	Probability  float64        `json:"probability"`
	Tier         string         `json:"tier"`
	ModelVersion string         `json:"model_version"`
	Reasons      []model.Reason `json:"reasons"`
	Features     FeatureVector  `json:"features"`
	TriggerAt    *time.Time     `json:"trigger_at"`
	Attempts     int            `json:"attempts"`
	Pool         string         `json:"pool"`
	SLA          *SLAView       `json:"sla"`
}

// SLAView is a lead's speed-to-lead clock.
type SLAView struct {
	DueAt          *time.Time `json:"due_at"`
	FirstAttemptAt *time.Time `json:"first_attempt_at"`
	Breached       bool       `json:"breached"`
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
	v, err := s.leadView(c.UserContext(), id, st, s.now())
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// leadView assembles what leadq knows of a lead: features, score, queue state.
func (s *Server) leadView(ctx context.Context, id string, st features.State, now time.Time) (LeadView, error) {
	v := s.featureView(id, st, now, nil, nil)
	if s.cfg.Queue != nil && v.Pool != "" {
		qs, err := s.cfg.Queue.Get(ctx, v.Pool, id, now)
		switch {
		case errors.Is(err, queue.ErrNotFound):
		case err != nil:
			return v, unavailable("redis", err)
		default:
			v.State, v.Attempts = qs.State, qs.Attempts
			v.SLA = &SLAView{DueAt: timePtr(qs.SLADueAt), FirstAttemptAt: timePtr(qs.FirstAttemptAt), Breached: qs.SLABreached}
		}
	}
	return v, nil
}

// featureView is a lead's view from its feature state alone: features,
// score, lifecycle. num and cat, when given, are the vector already
// extracted at now (a pull extracts it once for the answer and the snapshot).
func (s *Server) featureView(id string, st features.State, now time.Time, num []float64, cat []string) LeadView {
	spec := s.cfg.Features.Spec()
	if num == nil {
		n, m := spec.Sizes()
		num, cat = make([]float64, n), make([]string, m)
		spec.Extract(st, now, num, cat)
	}
	v := LeadView{
		LeadID:   id,
		State:    spec.Lifecycle(st),
		Features: FeatureVector{spec, num, cat},
		Attempts: spec.Attempts(st),
		Pool:     st["_pool"],
	}
	if t, ok := spec.TriggerAt(st); ok {
		v.TriggerAt = &t
	}
	if s.cfg.Live != nil {
		reasons := make([]model.Reason, 0, 2*model.TopReasons)
		if s.cfg.Live.Spec() == spec { // the vector above is the model's input: no second extraction
			v.Probability, v.Reasons, v.ModelVersion = s.cfg.Live.ExplainVector(num, cat, reasons)
		} else {
			v.Probability, v.Reasons, v.ModelVersion = s.cfg.Live.Explain(st, now, reasons)
		}
		v.Tier = tier(v.Probability)
	}
	return v
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
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
		if id[i] < 0x21 || id[i] >= 0x7f || id[i] == '{' || id[i] == '}' {
			return problem(fiber.StatusBadRequest, "invalid lead id", FieldProblem{Field: "id", Detail: "must be printable, without spaces or braces"})
		}
	}
	return nil
}

// unavailable is the answer when a dependency fails: 503, naming it, fast.
func unavailable(dep string, err error) *Problem {
	return problem(fiber.StatusServiceUnavailable, dep+" unavailable: "+err.Error(), FieldProblem{Field: dep, Detail: err.Error()})
}
