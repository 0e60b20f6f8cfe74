package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gofiber/fiber/v2"
)

// specYAML is the OpenAPI 3 document of every route; openapi_test.go checks
// that it and the registered routes agree and that responses match it.
//
//go:embed openapi.yaml
var specYAML []byte

// docsHTML renders /openapi.json in a browser without anything from a CDN.
//
//go:embed docs.html
var docsHTML []byte

// loadSpec parses and validates the embedded OpenAPI document and returns it
// with its JSON rendering. An error is a programming error in openapi.yaml.
func loadSpec() (*openapi3.T, []byte, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(specYAML)
	if err != nil {
		return nil, nil, fmt.Errorf("api: parse openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, nil, fmt.Errorf("api: invalid openapi.yaml: %w", err)
	}
	js, err := json.Marshal(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("api: render openapi.yaml as JSON: %w", err)
	}
	return doc, js, nil
}

// specJSON loads the embedded spec once per process: every Server serves the
// same bytes, and tests that build many servers validate it only once.
var specJSON = sync.OnceValues(func() ([]byte, error) {
	_, js, err := loadSpec()
	return js, err
})

// mustSpecJSON returns the spec as JSON and panics if openapi.yaml is broken,
// which TestSpecLoads reports first with the reason.
func mustSpecJSON() []byte {
	js, err := specJSON()
	if err != nil {
		panic(err)
	}
	return js
}

// docsCSP lets the docs page run its own inline script and style and fetch
// the spec from this origin, and nothing else.
const docsCSP = "default-src 'none'; connect-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"

// registerDocs serves the spec at GET /openapi.json and a page rendering it at
// GET /docs. Both are public: the spec holds no secrets.
func (s *Server) registerDocs(spec []byte) {
	s.app.Get("/openapi.json", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		c.Set(fiber.HeaderCacheControl, "no-cache")
		return c.Send(spec)
	})
	s.app.Get("/docs", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		c.Set(fiber.HeaderContentSecurityPolicy, docsCSP)
		c.Set(fiber.HeaderCacheControl, "no-cache")
		return c.Send(docsHTML)
	})
}
