package api

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// Problem is an RFC 9457 problem+json body. Errors lists field-level issues.
type Problem struct {
	Type     string         `json:"type"`
	Title    string         `json:"title"`
	Status   int            `json:"status"`
	Detail   string         `json:"detail,omitempty"`
	Instance string         `json:"instance,omitempty"`
	Errors   []FieldProblem `json:"errors,omitempty"`
}

// FieldProblem names one field of a request and what is wrong with it.
type FieldProblem struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// Error makes *Problem an error so handlers can return it.
func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

// problem builds a Problem with the standard title of the status.
func problem(status int, detail string, fields ...FieldProblem) *Problem {
	return &Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Errors: fields}
}

// errorHandler is the single place that turns any error into a response.
// Unexpected errors are logged with the route: the client only sees a 500.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	var p *Problem
	var fe *fiber.Error
	switch {
	case errors.As(err, &p):
	case errors.As(err, &fe):
		p = problem(fe.Code, fe.Message)
	default:
		p = problem(fiber.StatusInternalServerError, "internal error")
	}
	if p.Status >= 500 {
		s.cfg.Log.Error("request failed", "method", c.Method(), "path", c.Path(), "status", p.Status, "err", err)
	}
	if p.Instance == "" {
		p.Instance = c.Path()
	}
	return writeProblem(c, p)
}

func writeProblem(c *fiber.Ctx, p *Problem) error {
	c.Status(p.Status)
	if err := c.JSON(p); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/problem+json")
	return nil
}
