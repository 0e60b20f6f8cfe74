package api

import (
	"context"
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/leadq/leadq/model"
	"github.com/leadq/leadq/training"
)

// ModelRegistry is what the API reads and changes of the model registry.
type ModelRegistry interface {
	Versions(ctx context.Context) ([]model.Entry, error)
	Rollback(ctx context.Context) (string, error)
}

// ModelView is the body of GET /v1/model: the model this replica serves.
type ModelView struct {
	Version string      `json:"version"`
	Card    *model.Card `json:"card"`
}

func (s *Server) getModel(c *fiber.Ctx) error {
	cur := s.cfg.Live.Current()
	return c.JSON(ModelView{Version: cur.Version, Card: cur.Card})
}

func (s *Server) getModelVersions(c *fiber.Ctx) error {
	vs, err := s.cfg.Models.Versions(c.UserContext())
	if err != nil {
		return unavailable("redis", err)
	}
	if vs == nil {
		vs = []model.Entry{}
	}
	return c.JSON(fiber.Map{"serving": s.cfg.Live.Version(), "versions": vs})
}

// postRetrain trains now, on this replica, under the same lock as the
// schedule; 409 while another replica trains.
func (s *Server) postRetrain(c *fiber.Ctx) error {
	res, err := s.cfg.Retrain(c.UserContext())
	switch {
	case errors.Is(err, training.ErrBusy):
		return problem(fiber.StatusConflict, "another replica is training now; try again when it is done")
	case err != nil:
		return problem(fiber.StatusInternalServerError, "retrain failed: "+err.Error())
	}
	return c.JSON(res)
}

func (s *Server) postRollback(c *fiber.Ctx) error {
	v, err := s.cfg.Models.Rollback(c.UserContext())
	switch {
	case errors.Is(err, model.ErrNoChampion):
		return problem(fiber.StatusConflict, "no promoted model to roll back from: the prior is serving")
	case err != nil:
		return unavailable("redis", err)
	}
	if v == "" {
		v = model.PriorVersion
	}
	return c.JSON(fiber.Map{"champion": v})
}
