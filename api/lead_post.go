package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/ident"
	"github.com/leadq/leadq/internal/rank"
	"github.com/leadq/leadq/model"
)

// Ranker scores a lead and places it in the call queue.
type Ranker interface {
	Place(ctx context.Context, leadID string, st features.State, now time.Time) (rank.Placed, error)
	// Submit applies a form's events with their outbox copies for Kafka,
	// scores the lead and places it (one round trip for a new lead).
	Submit(ctx context.Context, ob *features.Outbox, leadID string, batch []features.Applied, created bool, now time.Time) (rank.Placed, error)
}

// Idents deduplicates leads and idempotent requests.
type Idents interface {
	Start(ctx context.Context, scope, key, externalID, email string) (ident.Form, error)
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
// id and claim the Idempotency-Key (one round trip), then apply
// lead_created/updated and form_submitted at once together with their copies
// in the Redis outbox, which a forwarder writes to Kafka (the consumer's copy
// is then a no-op), score, and place the lead in the queue inside its
// five-minute window (for a new lead all in one more round trip).
// Idempotency-Key replays the first answer.
func (s *Server) postLead(c *fiber.Ctx) error {
	var f LeadForm
	if err := decodeForm(c.Body(), &f); err != nil {
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
	// A repeat of an answered request needs no Kafka: with a key, the
	// outbox is checked after the answer is looked up (and the key given
	// back if the outbox refuses); without one, before anything is written.
	if key == "" {
		if err := s.outboxReady(); err != nil {
			return err
		}
	}
	form, err := s.cfg.Idents.Start(ctx, "form", key, f.ExternalID, f.Email)
	switch {
	case errors.Is(err, ident.ErrInProgress):
		// Retry-After tells a client (client.CreateLead does) that this
		// conflict ends by itself, unlike a stale claim's.
		c.Set(fiber.HeaderRetryAfter, "1")
		return problem(fiber.StatusConflict, "a request with this Idempotency-Key is in progress; retry shortly")
	case err != nil:
		return unavailable("redis", err)
	case form.Answer != nil:
		c.Set("Idempotent-Replayed", "true")
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Status(form.Answer.Status).Send(form.Answer.Body)
	}
	reqID := randomID()
	if key != "" {
		if err := s.outboxReady(); err != nil {
			s.cfg.Idents.Abandon(context.WithoutCancel(ctx), "form", key)
			return err
		}
		h := sha256.Sum256([]byte(key))
		reqID = hex.EncodeToString(h[:12]) // retries carry the same event ids
	}
	status, body, err := s.createLead(ctx, &f, form, reqID, now)
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

// outboxReady refuses a new form while its events could not reach Kafka.
func (s *Server) outboxReady() error {
	switch {
	case s.cfg.Outbox == nil:
		return unavailable("kafka", errors.New("this server has no outbox to forward form events to Kafka"))
	case s.cfg.OutboxLimit > 0 && s.cfg.Outbox.Backlog() >= int64(s.cfg.OutboxLimit):
		// Kafka has not taken the forms' events for a while: refuse new
		// ones rather than fill Redis (the queue lives there too).
		return unavailable("kafka", fmt.Errorf("%d form events wait to be written to Kafka (LEADQ_OUTBOX_LIMIT %d)",
			s.cfg.Outbox.Backlog(), s.cfg.OutboxLimit))
	}
	return nil
}

func (s *Server) createLead(ctx context.Context, f *LeadForm, form ident.Form, reqID string, now time.Time) (int, []byte, error) {
	id, created := form.LeadID, form.Created
	evs, err := f.events(id, "form-"+reqID, now, created)
	if err != nil {
		return 0, nil, err
	}
	batch := make([]features.Applied, len(evs))
	for i, e := range evs {
		batch[i] = features.Applied{Event: e, Partition: -1, Direct: true}
	}
	placed, err := s.cfg.Ranker.Submit(ctx, s.cfg.Outbox, id, batch, created, now)
	if err != nil {
		return 0, nil, unavailable("redis", err)
	}
	s.recordSnapshot(ctx, id, "form", placed.Num, placed.Cat, now) // takes num and cat
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
