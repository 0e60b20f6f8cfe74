package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/segmentio/kafka-go"

	"github.com/leadq/leadq/features"
)

// EventWriter writes events to the lead-event topic (a *kafka.Writer).
type EventWriter interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// EventsRequest is the body of POST /v1/events.
type EventsRequest struct {
	Events []json.RawMessage `json:"events"`
}

// EventsResponse is the 202 answer of POST /v1/events.
type EventsResponse struct {
	Accepted int          `json:"accepted"`
	Errors   []EventError `json:"errors"`
}

// EventError says why the event at Index of the batch was refused.
type EventError struct {
	Index   int      `json:"index"`
	Problem *Problem `json:"problem"`
}

// postEvents validates each event with the same decoder the consumer uses and
// writes the valid ones to Kafka, keyed by lead id; 202 once Kafka has them.
func (s *Server) postEvents(c *fiber.Ctx) error {
	var req EventsRequest
	if err := decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	if len(req.Events) == 0 {
		return problem(fiber.StatusBadRequest, "no events", FieldProblem{Field: "events", Detail: "must hold at least one event"})
	}
	if len(req.Events) > s.cfg.MaxEventBatch {
		return problem(fiber.StatusRequestEntityTooLarge, "too many events",
			FieldProblem{Field: "events", Detail: "at most " + strconv.Itoa(s.cfg.MaxEventBatch) + " events per request"})
	}
	now := s.now()
	resp := EventsResponse{Errors: []EventError{}}
	msgs := make([]kafka.Message, 0, len(req.Events))
	for i, raw := range req.Events {
		e, err := features.Decode(raw, now, features.DefaultLimits())
		if err != nil {
			resp.Errors = append(resp.Errors, EventError{Index: i, Problem: eventProblem(i, err)})
			continue
		}
		msgs = append(msgs, kafka.Message{Key: []byte(e.LeadID), Value: bytes.Clone(raw)})
	}
	if len(msgs) > 0 {
		// Kafka down or slow must not hold the request (the writer itself
		// retries for longer): 503 after EventsTimeout. Whether a timed-out
		// batch reached Kafka is then unknown, as with any lost answer.
		ctx, cancel := context.WithTimeout(c.UserContext(), s.cfg.EventsTimeout)
		err := s.cfg.Events.WriteMessages(ctx, msgs...)
		cancel()
		if err != nil {
			return unavailable("kafka", err)
		}
	}
	resp.Accepted = len(msgs)
	return c.Status(fiber.StatusAccepted).JSON(resp)
}

func eventProblem(i int, err error) *Problem {
	var de *features.DecodeError
	if !errors.As(err, &de) {
		return problem(fiber.StatusBadRequest, err.Error())
	}
	field := "events[" + strconv.Itoa(i) + "]"
	if de.Field != "" {
		field += "." + de.Field
	}
	detail := string(de.Reason)
	if de.Msg != "" {
		detail += ": " + de.Msg
	}
	p := problem(fiber.StatusBadRequest, "invalid event: "+detail, FieldProblem{Field: field, Detail: detail})
	p.Type = "https://leadq.dev/problems/" + string(de.Reason)
	return p
}

// decodeStrict decodes one JSON object into v, refusing unknown fields and
// trailing data, and names the offending field in the problem.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		// More is false before a stray ']' or '}': only the end of input
		// ends the body.
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("trailing data after the JSON object")
		}
	}
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field, want := te.Field, te.Type.String()
		if field == "" {
			field, want = "body", "a JSON object"
		}
		return problem(fiber.StatusBadRequest, "wrong type", FieldProblem{Field: field, Detail: "must be " + want + ", not " + te.Value})
	case errors.As(err, &se):
		return problem(fiber.StatusBadRequest, "malformed JSON", FieldProblem{Field: "body", Detail: se.Error() + " at byte " + strconv.FormatInt(se.Offset, 10)})
	default:
		msg := err.Error()
		if f, ok := cutUnknownField(msg); ok {
			if f == "" {
				f = `""` // an empty key still names the field
			}
			return problem(fiber.StatusBadRequest, "unknown field", FieldProblem{Field: f, Detail: "not a field of this request"})
		}
		return problem(fiber.StatusBadRequest, "malformed JSON", FieldProblem{Field: "body", Detail: msg})
	}
}

// cutUnknownField extracts the name from encoding/json's unknown-field error.
func cutUnknownField(msg string) (string, bool) {
	const p = `json: unknown field "`
	if len(msg) > len(p) && msg[:len(p)] == p {
		return msg[len(p) : len(msg)-1], true
	}
	return "", false
}
