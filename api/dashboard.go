package api

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// dashboardHTML is the sales managers' live view: one self-contained page
// that polls GET /v1/stats with a key the user pastes once.
//
//go:embed dashboard.html
var dashboardHTML []byte

// dashboardCSP lets the page run its own inline script and style and call
// this origin's API, and nothing else: no CDN, no third-party beacon.
const dashboardCSP = "default-src 'none'; connect-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"

// getDashboard serves the page without a key: it holds no data, and the
// figures it shows come from /v1/stats, which needs one.
func (s *Server) getDashboard(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderContentSecurityPolicy, dashboardCSP)
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Frame-Options", "DENY")
	return c.Send(dashboardHTML)
}
