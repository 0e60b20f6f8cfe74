package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/segmentio/kafka-go"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/ident"
	"github.com/leadq/leadq/internal/rank"
	"github.com/leadq/leadq/model"
)

// Ranker scores a lead and places it in the call queue.
type Ranker interface {
	Place(ctx context.Context, leadID string, st features.State, now time.Time) (rank.Placed, error)
}

// Idents deduplicates leads and idempotent requests.
type Idents interface {
	Resolve(ctx context.Context, externalID, email string) (string, bool, error)
	Begin(ctx context.Context, scope, key string) (*ident.Answer, error)
	Finish(ctx context.Context, scope, key string, a ident.Answer) error
	Abandon(ctx context.Context, scope, key string)
}

// LeadResponse is the answer of POST /v1/leads.
type LeadResponse struct {
	LeadID       string         `json:"lead_id"`
	Probability  float64        `json:"probability"`
	Tier         string         `json:"tier"`
	ModelVersion string         `json:"model_version"`
	Reasons      []model.Reason `json:"reasons"`
	Pool         string         `json:"pool"`
	Priority     float64        `json:"priority"`
	State        string         `json:"state"`
}

// postLead creates or updates a lead from a form: dedup by email or external
// id, write lead_created/updated and form_submitted to Kafka, apply them at
// once (the consumer's copy is then a no-op), score, and place the lead in
// the queue inside its five-minute window. Idempotency-Key replays the first
// answer.
func (s *Server) postLead(c *fiber.Ctx) error {
	var f LeadForm
	if err := decodeStrict(c.Body(), &f); err != nil {
		return err
	}
	if errs := f.validate(); len(errs) > 0 {
		return problem(fiber.StatusBadRequest, "invalid lead", errs...)
	}
	ctx, now := c.UserContext(), s.now()
	key := c.Get("Idempotency-Key")
	if len(key) > 200 {
		return problem(fiber.StatusBadRequest, "Idempotency-Key longer than 200 bytes", FieldProblem{Field: "Idempotency-Key", Detail: "at most 200 bytes"})
	}
	reqID := randomID()
	if key != "" {
		ans, err := s.cfg.Idents.Begin(ctx, "form", key)
		switch {
		case errors.Is(err, ident.ErrInProgress):
			return problem(fiber.StatusConflict, "a request with this Idempotency-Key is in progress; retry shortly")
		case err != nil:
			return unavailable("redis", err)
		case ans != nil:
			c.Set("Idempotent-Replayed", "true")
			c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
			return c.Status(ans.Status).Send(ans.Body)
		}
		h := sha256.Sum256([]byte(key))
		reqID = hex.EncodeToString(h[:12]) // retries carry the same event ids
	}
	status, body, err := s.createLead(ctx, &f, reqID, now)
	if err != nil {
		if key != "" {
			s.cfg.Idents.Abandon(context.WithoutCancel(ctx), "form", key)
		}
		return err
	}
	if key != "" {
		if err := s.cfg.Idents.Finish(ctx, "form", key, ident.Answer{Status: status, Body: body}); err != nil {
			s.cfg.Log.Warn("storing an idempotent answer failed", "err", err)
		}
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Status(status).Send(body)
}

func (s *Server) createLead(ctx context.Context, f *LeadForm, reqID string, now time.Time) (int, []byte, error) {
	id, created, err := s.cfg.Idents.Resolve(ctx, f.ExternalID, f.Email)
	if err != nil {
		return 0, nil, unavailable("redis", err)
	}
	evs, err := f.events(id, "form-"+reqID, now, created)
	if err != nil {
		return 0, nil, err
	}
	raws := make([][]byte, len(evs))
	for i, e := range evs {
		if raws[i], err = e.MarshalJSON(); err != nil {
			return 0, nil, err
		}
	}
	// Kafka first: it is the log. If applying fails afterwards the consumer
	// applies the copy; if Kafka fails nothing was written anywhere.
	msgs := make([]kafka.Message, len(raws))
	for i, raw := range raws {
		msgs[i] = kafka.Message{Key: []byte(id), Value: raw, Headers: []kafka.Header{{Key: features.DirectHeader, Value: []byte("1")}}}
	}
	if err := s.cfg.Events.WriteMessages(ctx, msgs...); err != nil {
		return 0, nil, unavailable("kafka", err)
	}
	batch := make([]features.Applied, len(evs))
	for i, e := range evs {
		batch[i] = features.Applied{Event: e, Partition: -1, Direct: true}
	}
	if _, err := s.cfg.Features.ApplyChanges(ctx, batch, nil); err != nil {
		return 0, nil, unavailable("redis", err)
	}
	// A new lead's state is exactly the fold of its two events: skip a read.
	st := features.State{}
	if created {
		s.cfg.Features.Spec().FoldApplied(st, batch)
	} else if st, err = s.cfg.Features.Get(ctx, id); err != nil {
		return 0, nil, unavailable("redis", err)
	}
	placed, err := s.cfg.Ranker.Place(ctx, id, st, now)
	if err != nil {
		return 0, nil, unavailable("redis", err)
	}
	if s.cfg.Snapshots != nil {
		if err := s.cfg.Snapshots.RecordVector(ctx, id, "form", placed.Num, placed.Cat, now); err != nil {
			s.cfg.Log.Warn("snapshot at form failed", "lead", id, "err", err)
		}
	}
	resp := LeadResponse{LeadID: id, Probability: placed.P, Tier: tier(placed.P), ModelVersion: placed.Version,
		Reasons: placed.Reasons, Pool: placed.Pool, Priority: placed.Placement.Priority, State: placed.Placement.State}
	body, err := json.Marshal(resp)
	if err != nil {
		return 0, nil, err
	}
	status := fiber.StatusOK
	if created {
		status = fiber.StatusCreated
	}
	return status, body, nil
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
