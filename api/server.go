package api

import (
	"context"
	"fmt"
	gojson "github.com/goccy/go-json"
	"log/slog"
	"net"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/config"
	"github.com/leadq/leadq/model"
	"github.com/leadq/leadq/training"
)

// Checker is a dependency the readiness probe asks.
type Checker struct {
	Name  string
	Check func(ctx context.Context) error
}

// Config is what the HTTP server needs from its caller.
type Config struct {
	BodyLimit int
	Checks    []Checker
	Registry  *prometheus.Registry
	Log       *slog.Logger
	APIKeys   []config.APIKey
	Features  FeatureStore
	Events    EventWriter
	Live      *model.Live   // the model this replica serves
	Models    ModelRegistry // model versions, rollback
	// RateLimit is each API key's requests per second (burst: one second's
	// worth); FormRateLimit is form submissions per second per client
	// address. Zero disables a limit.
	RateLimit, FormRateLimit float64
	// CORSOrigins lists the web origins allowed to call the form routes.
	CORSOrigins []string
	Queue       Queue
	Snapshots   Snapshots
	Pools       []string // every routed pool: the default of a pull or peek
	Ranker      Ranker
	Idents      Idents

	// Stats reads the dashboard's figures (GET /v1/stats); nil answers 503.
	Stats StatsReader

	// Retrain trains a model now (POST /v1/model/retrain).
	Retrain func(ctx context.Context) (*training.Result, error)
	// MaxEventBatch is the most events one POST /v1/events may carry.
	MaxEventBatch int
	// EventsTimeout bounds how long POST /v1/events waits for Kafka to
	// acknowledge a batch before answering 503; default 5 s.
	EventsTimeout time.Duration
	Now           func() time.Time // the clock; time.Now when nil
	// Outbox holds the events of forms until they are forwarded to Kafka
	// (features.Outbox.Forward); POST /v1/leads needs it.
	Outbox *features.Outbox
	// OutboxLimit is how many form events may wait in the outbox (Kafka
	// down or slow) before POST /v1/leads answers 503; 0 = no limit.
	OutboxLimit int

	// SnapshotWriter, when set, takes snapshots at claim off the request
	// path instead of Snapshots.RecordVector (training.SnapshotWriter).
	SnapshotWriter SnapshotRecorder
}

// Server is leadq's Fiber application.
type Server struct {
	app     *fiber.App
	cfg     Config
	keys    *keyring
	perKey  *limiters
	perIP   *limiters
	badKeys *limiters // requests with unknown keys, per client address
	now     func() time.Time
	latency *prometheus.HistogramVec
}

// New builds the application and registers every route.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.EventsTimeout <= 0 {
		cfg.EventsTimeout = 5 * time.Second
	}
	s := &Server{cfg: cfg, keys: newKeyring(cfg.APIKeys), now: cfg.Now, badKeys: newLimiters(10, 20)}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.RateLimit > 0 {
		s.perKey = newLimiters(cfg.RateLimit, max(1, int(cfg.RateLimit)))
	}
	if cfg.FormRateLimit > 0 {
		s.perIP = newLimiters(cfg.FormRateLimit, max(1, int(2*cfg.FormRateLimit)))
	}
	s.app = fiber.New(fiber.Config{
		AppName:               "leadq",
		BodyLimit:             cfg.BodyLimit,
		ErrorHandler:          s.errorHandler,
		DisableStartupMessage: true,
		// goccy/go-json writes the same JSON as encoding/json (HTML-escaped,
		// map keys sorted) at a fraction of its CPU: a tenth of a what-if
		// score's server time went to encoding its answer.
		JSONEncoder:  gojson.Marshal,
		ReadTimeout:  10 * time.Second,
		WriteTimeout: 10 * time.Second,
		IdleTimeout:  60 * time.Second,
	})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "leadq_http_request_duration_seconds",
		Help:    "HTTP request latency by route, method and status.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	}, []string{"route", "method", "status"})
	cfg.Registry.MustRegister(s.latency)

	s.app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		s.cfg.Log.Error("panic in handler", "method", c.Method(), "path", c.Path(), "panic", e, "stack", string(debug.Stack()))
	}}), s.observe)
	s.app.Get("/healthz", s.healthz)
	s.app.Get("/readyz", s.readyz)
	s.app.Get("/", s.getDashboard)
	s.app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{Registry: cfg.Registry})))

	v1 := s.app.Group("/v1")
	if len(cfg.CORSOrigins) > 0 {
		// Only the form routes are meant for browsers; the others get no
		// CORS headers, so a web page cannot call them.
		c := cors.New(cors.Config{
			AllowOrigins: strings.Join(cfg.CORSOrigins, ","),
			AllowMethods: "POST,OPTIONS",
			AllowHeaders: "Authorization,Content-Type,Idempotency-Key",
			MaxAge:       600,
		})
		v1.Use("/leads", func(ctx *fiber.Ctx) error {
			if ctx.Path() == "/v1/leads" {
				return c(ctx)
			}
			return ctx.Next()
		})
		v1.Use("/score", c)
	}
	v1.Get("/leads/:id", s.require("dialer"), s.getLead)
	v1.Post("/leads", s.require("form"), s.postLead)
	v1.Post("/leads/:id/outcome", s.require("dialer"), s.postOutcome)
	v1.Get("/queue", s.require("dialer"), s.getQueue)
	v1.Get("/stats", s.require("dialer"), s.getStats)
	v1.Post("/queue/next", s.require("dialer"), s.postNext)
	v1.Post("/claims/:id/extend", s.require("dialer"), s.postExtend)
	v1.Post("/claims/:id/release", s.require("dialer"), s.postRelease)
	s.registerDocs(mustSpecJSON())
	v1.Post("/events", s.require("ingest"), s.postEvents)
	v1.Post("/score", s.require("form"), s.postScore)
	v1.Get("/model", s.require("admin"), s.getModel)
	v1.Get("/model/versions", s.require("admin"), s.getModelVersions)
	v1.Post("/model/retrain", s.require("admin"), s.postRetrain)
	v1.Post("/model/rollback", s.require("admin"), s.postRollback)
	return s
}

// App exposes the Fiber app for tests (app.Test) and route listing.
func (s *Server) App() *fiber.App { return s.app }

// Serve listens on addr until ctx ends, then stops taking requests and waits
// up to drain for in-flight ones.
func (s *Server) Serve(ctx context.Context, addr string, drain time.Duration) error {
	// Listen here, not in the goroutine: a shutdown that comes before the
	// server took the listener (ctx ended during start-up) finds no listener
	// to close and returns at once, and Serve would then listen for good.
	ln, err := net.Listen(s.app.Config().Network, addr)
	if err != nil {
		return fmt.Errorf("failed to listen: %w", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.app.Listener(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	err = s.app.ShutdownWithTimeout(drain)
	_ = ln.Close() // ends the server's accept loop even if the shutdown came first
	if serr := <-errc; err == nil {
		err = serr
	}
	return err
}

// statusLabels spells the status codes 100–599 once (strconv.Itoa
// allocates for numbers past 99: one allocation per request otherwise).
var statusLabels = func() (s [500]string) {
	for i := range s {
		s[i] = strconv.Itoa(100 + i)
	}
	return s
}()

func statusLabel(code int) string {
	if code >= 100 && code < 600 {
		return statusLabels[code-100]
	}
	return strconv.Itoa(code)
}

// observe records one latency sample per request, labelled by route pattern
// (not the raw path, to keep label cardinality bounded).
func (s *Server) observe(c *fiber.Ctx) error {
	start := requestTime(c)
	err := c.Next()
	status := c.Response().StatusCode()
	if err != nil {
		if fe, ok := err.(*fiber.Error); ok {
			status = fe.Code
		} else if p, ok := err.(*Problem); ok {
			status = p.Status
		} else {
			status = fiber.StatusInternalServerError
		}
	}
	s.latency.WithLabelValues(c.Route().Path, methodLabel(c.Method()), statusLabel(status)).Observe(time.Since(start).Seconds())
	return err
}

// methods are the label values of the latency histogram's method label.
var methods = [...]string{fiber.MethodGet, fiber.MethodPost, fiber.MethodHead, fiber.MethodPut,
	fiber.MethodDelete, fiber.MethodPatch, fiber.MethodOptions, fiber.MethodConnect, fiber.MethodTrace}

// methodLabel returns a constant for m: c.Method() points into fasthttp's
// request buffer, which the next request on the connection overwrites, and
// Prometheus keeps the label values it is first given. (It also bounds the
// label: any other method is "OTHER".)
func methodLabel(m string) string {
	for _, k := range methods {
		if m == k {
			return k
		}
	}
	return "OTHER"
}

// requestTime is when fasthttp finished reading the request and called the
// handler: one clock read per request, shared by the middleware (a clock
// read costs ~70 ns on this project's VM).
func requestTime(c *fiber.Ctx) time.Time {
	if t := c.Context().Time(); !t.IsZero() {
		return t
	}
	return time.Now() // a RequestCtx not served by fasthttp's server (tests)
}

func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// readyz answers 200 when every dependency answers, else 503 naming those down.
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	var down []FieldProblem
	for _, ch := range s.cfg.Checks {
		if err := ch.Check(ctx); err != nil {
			// /readyz needs no key: the error (addresses, hosts) goes to the
			// log, not to whoever asks.
			s.cfg.Log.Warn("readiness check failed", "dependency", ch.Name, "err", err)
			down = append(down, FieldProblem{Field: ch.Name, Detail: "unreachable"})
		}
	}
	if len(down) > 0 {
		names := down[0].Field
		for _, d := range down[1:] {
			names += ", " + d.Field
		}
		return problem(fiber.StatusServiceUnavailable, "not ready: "+names+" unreachable", down...)
	}
	return c.JSON(fiber.Map{"status": "ready"})
}
