package api

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/queue"
)

// Queue is what the API uses of the call queue.
type Queue interface {
	Next(ctx context.Context, sdrID string, pools []string, now time.Time) (queue.Claim, error)
	Peek(ctx context.Context, pools []string, limit int, now time.Time) ([]queue.Item, error)
	Extend(ctx context.Context, claimID, sdrID string, now time.Time) (time.Time, error)
	Release(ctx context.Context, claimID, sdrID string, now time.Time) error
	Outcome(ctx context.Context, rep queue.Report, now time.Time) (queue.Result, error)
	Get(ctx context.Context, pool, leadID string, now time.Time) (queue.State, error)
}

// Snapshots records point-in-time feature vectors and labels them.
type Snapshots interface {
	RecordVector(ctx context.Context, leadID, via string, num []float64, cat []string, at time.Time) error
	Label(ctx context.Context, leadID, outcome string, at time.Time) (int, error)
}

// SnapshotRecorder records point-in-time feature vectors off the request
// path (training.SnapshotWriter); it takes ownership of num and cat. Flush
// waits until everything recorded before it is written.
type SnapshotRecorder interface {
	Record(ctx context.Context, leadID, via string, num []float64, cat []string, at time.Time) error
	Flush(ctx context.Context) error
}

// QueueItem is one ranked lead of GET /v1/queue, with the parts of its priority.
type QueueItem struct {
	LeadID        string  `json:"lead_id"`
	Priority      float64 `json:"priority"`
	Probability   float64 `json:"probability"`
	ContactFactor float64 `json:"contact_factor"`
	AttemptFactor float64 `json:"attempt_factor"`
	AgeSeconds    float64 `json:"age_seconds"`
	Segment       int     `json:"segment"`
	Pool          string  `json:"pool"`
	Attempts      int     `json:"attempts"`
	SLABreached   bool    `json:"sla_breached"`
}

// pools reads a comma-separated pool list, defaulting to every routed pool.
func (s *Server) pools(raw string) []string {
	var out []string
	for _, p := range strings.Split(raw, ",") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) { // a pool listed twice is one pool
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return s.cfg.Pools
	}
	return out
}

func (s *Server) getQueue(c *fiber.Ctx) error {
	limit := 50
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > queue.MaxPeek {
			return problem(fiber.StatusBadRequest, "invalid limit", FieldProblem{Field: "limit", Detail: "an integer from 1 to " + strconv.Itoa(queue.MaxPeek)})
		}
		limit = n
	}
	items, err := s.cfg.Queue.Peek(c.UserContext(), s.pools(c.Query("pools")), limit, s.now())
	if err != nil {
		return queueError(err, "pools")
	}
	out := make([]QueueItem, len(items))
	for i, it := range items {
		out[i] = QueueItem{LeadID: it.LeadID, Priority: it.Priority, Probability: it.P, ContactFactor: it.ContactFactor,
			AttemptFactor: it.AttemptFactor, AgeSeconds: it.AgeSeconds, Segment: it.Segment, Pool: it.Pool,
			Attempts: it.Attempts, SLABreached: it.SLABreached}
	}
	return c.JSON(fiber.Map{"items": out})
}

// NextRequest is the body of POST /v1/queue/next.
type NextRequest struct {
	SDRID string   `json:"sdr_id"`
	Pools []string `json:"pools,omitempty"`
}

// ClaimView is the 200 answer of POST /v1/queue/next.
type ClaimView struct {
	ClaimID        string    `json:"claim_id"`
	LeaseExpiresAt time.Time `json:"lease_expires_at"`
	Priority       float64   `json:"priority"`
	Lead           LeadView  `json:"lead"`
}

// postNext claims the best eligible lead for a rep; 204 when none is.
func (s *Server) postNext(c *fiber.Ctx) error {
	var req NextRequest
	if err := decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	if req.SDRID == "" {
		return problem(fiber.StatusBadRequest, "sdr_id is required", FieldProblem{Field: "sdr_id", Detail: "required"})
	}
	pools := req.Pools
	if len(pools) == 0 {
		pools = s.cfg.Pools
	}
	ctx, now := c.UserContext(), s.now()
	cl, err := s.cfg.Queue.Next(ctx, req.SDRID, pools, now)
	switch {
	case errors.Is(err, queue.ErrEmpty):
		return c.SendStatus(fiber.StatusNoContent)
	case errors.Is(err, queue.ErrRepAtCap):
		return problem(fiber.StatusConflict, "this rep already holds as many open claims as allowed: report an outcome or release a claim first")
	case errors.Is(err, queue.ErrRepDailyCap):
		return problem(fiber.StatusConflict, "this rep reached the daily claim limit")
	case err != nil:
		return queueError(err, "sdr_id")
	}
	// The pull script returns the lead's features when the queue is set up
	// for it (Config.LeadData, standalone Redis): one round trip fewer.
	st := features.State(cl.Data)
	if cl.Data == nil {
		if st, err = s.cfg.Features.Get(ctx, cl.LeadID); err != nil {
			return unavailable("redis", err)
		}
	}
	// One extraction serves the answer and the training snapshot.
	spec := s.cfg.Features.Spec()
	n, m := spec.Sizes()
	num, cat := make([]float64, n), make([]string, m)
	spec.Extract(st, now, num, cat)
	view := s.featureView(cl.LeadID, st, now, num, cat)
	// The queue part comes from the claim itself: the lead is claimed now.
	view.Pool, view.State, view.Attempts = cl.Pool, queue.StateClaimed, cl.Attempts
	view.SLA = &SLAView{DueAt: timePtr(cl.SLADueAt), FirstAttemptAt: timePtr(cl.FirstAttemptAt), Breached: cl.SLABreached}
	// The point-in-time training row: what the service saw when it surfaced
	// the lead. A failure costs one training row, not the call.
	s.recordSnapshot(ctx, cl.LeadID, "claim", num, cat, now)
	answer := ClaimView{ClaimID: cl.ID, LeaseExpiresAt: cl.LeaseExpiresAt, Priority: cl.Priority, Lead: view}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	body, err := gojson.Marshal(&answer)
	if err != nil {
		return err
	}
	return c.Send(body)
}

// recordSnapshot records a point-in-time training row, off the request path
// through the SnapshotWriter when there is one. It takes ownership of num and cat.
func (s *Server) recordSnapshot(ctx context.Context, leadID, via string, num []float64, cat []string, at time.Time) {
	var err error
	switch {
	case s.cfg.SnapshotWriter != nil:
		err = s.cfg.SnapshotWriter.Record(ctx, leadID, via, num, cat, at)
	case s.cfg.Snapshots != nil:
		err = s.cfg.Snapshots.RecordVector(ctx, leadID, via, num, cat, at)
	default:
		return
	}
	if err != nil {
		s.cfg.Log.Warn("training snapshot failed", "lead", leadID, "via", via, "err", err)
	}
}

// ClaimRequest is the body of the claim extend and release routes.
type ClaimRequest struct {
	SDRID string `json:"sdr_id"`
}

func (s *Server) postExtend(c *fiber.Ctx) error {
	var req ClaimRequest
	if err := decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	until, err := s.cfg.Queue.Extend(c.UserContext(), c.Params("id"), req.SDRID, s.now())
	if err != nil {
		return queueError(err, "sdr_id")
	}
	return c.JSON(fiber.Map{"claim_id": c.Params("id"), "lease_expires_at": until})
}

func (s *Server) postRelease(c *fiber.Ctx) error {
	var req ClaimRequest
	if err := decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	if err := s.cfg.Queue.Release(c.UserContext(), c.Params("id"), req.SDRID, s.now()); err != nil {
		return queueError(err, "sdr_id")
	}
	return c.JSON(fiber.Map{"claim_id": c.Params("id"), "released": true})
}

// OutcomeRequest is the body of POST /v1/leads/{id}/outcome.
type OutcomeRequest struct {
	ClaimID    string     `json:"claim_id"`
	SDRID      string     `json:"sdr_id"`
	Outcome    string     `json:"outcome"`
	CallbackAt *time.Time `json:"callback_at,omitempty"`
	Note       string     `json:"note,omitempty"`
	Reason     string     `json:"reason,omitempty"`
}

// OutcomeView is the answer of POST /v1/leads/{id}/outcome.
type OutcomeView struct {
	LeadID        string     `json:"lead_id"`
	State         string     `json:"state"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	Attempts      int        `json:"attempts"`
}

func (s *Server) postOutcome(c *fiber.Ctx) error {
	id, err := leadIDParam(c)
	if err != nil {
		return err
	}
	var req OutcomeRequest
	if err := decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	var missing []FieldProblem
	for _, f := range []struct{ name, v string }{{"claim_id", req.ClaimID}, {"sdr_id", req.SDRID}, {"outcome", req.Outcome}} {
		if f.v == "" {
			missing = append(missing, FieldProblem{Field: f.name, Detail: "required"})
		}
	}
	if len(req.Note) > 2000 {
		missing = append(missing, FieldProblem{Field: "note", Detail: "longer than 2000 bytes"})
	}
	if len(missing) > 0 {
		return problem(fiber.StatusBadRequest, "invalid outcome", missing...)
	}
	rep := queue.Report{LeadID: id, ClaimID: req.ClaimID, SDRID: req.SDRID, Outcome: req.Outcome, Reason: req.Reason}
	if req.CallbackAt != nil {
		rep.CallbackAt = *req.CallbackAt
	}
	ctx, now := c.UserContext(), s.now()
	res, err := s.cfg.Queue.Outcome(ctx, rep, now)
	if err != nil {
		return queueError(err, "outcome")
	}
	if s.cfg.Snapshots != nil {
		// The claim's snapshot may still wait in the writer's buffer: a
		// label only reaches snapshots already written.
		if s.cfg.SnapshotWriter != nil {
			if err := s.cfg.SnapshotWriter.Flush(ctx); err != nil {
				s.cfg.Log.Warn("flushing snapshots before a label failed", "lead", id, "err", err)
			}
		}
		if _, err := s.cfg.Snapshots.Label(ctx, id, req.Outcome, now); err != nil {
			s.cfg.Log.Warn("labelling snapshots failed", "lead", id, "outcome", req.Outcome, "err", err)
		}
	}
	return c.JSON(OutcomeView{LeadID: res.LeadID, State: res.State, NextAttemptAt: timePtr(res.NextAttemptAt), Attempts: res.Attempts})
}

// queueError maps the queue's errors to problems; field names the request
// field an ErrInvalid most likely concerns.
func queueError(err error, field string) error {
	switch {
	case errors.Is(err, queue.ErrStaleClaim):
		return problem(fiber.StatusConflict, "stale claim: unknown, expired, already resolved or another rep's; nothing changed", FieldProblem{Field: "claim_id", Detail: "not an open claim of this rep"})
	case errors.Is(err, queue.ErrNotFound):
		return problem(fiber.StatusNotFound, err.Error())
	case errors.Is(err, queue.ErrInvalid):
		msg := strings.TrimPrefix(err.Error(), queue.ErrInvalid.Error()+": ")
		for _, f := range []string{"pool", "outcome", "reason", "sdr_id", "lead"} {
			if strings.Contains(msg, f) {
				field = strings.Replace(f, "lead", "id", 1)
				if f == "pool" {
					field = "pools"
				}
				break
			}
		}
		return problem(fiber.StatusBadRequest, msg, FieldProblem{Field: field, Detail: msg})
	default:
		return unavailable("redis", err)
	}
}
