// Package config is the one place leadq reads its settings: LEADQ_-prefixed
// environment variables and command-line flags, with defaults, validation and
// a printable form with secrets masked.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/internal/route"
)

// Roles a process can run; `leadq serve` runs all of them by default.
const (
	RoleAPI      = "api"
	RoleConsumer = "consumer"
	RoleTrainer  = "trainer"
)

// AllRoles lists every role in start-up order.
var AllRoles = []string{RoleAPI, RoleConsumer, RoleTrainer}

// Config is every setting of `leadq serve`. Field comments name the env var.
type Config struct {
	HTTPAddr        string        // LEADQ_HTTP_ADDR
	RedisURL        string        // LEADQ_REDIS_URL; empty with no Kafka = embedded
	KafkaBrokers    []string      // LEADQ_KAFKA_BROKERS, comma-separated
	APIKeys         string        // LEADQ_API_KEYS, scope:secret pairs (secret)
	Roles           []string      // LEADQ_ROLES
	Topic           string        // LEADQ_TOPIC
	DLQTopic        string        // LEADQ_DLQ_TOPIC
	AlertTopic      string        // LEADQ_ALERT_TOPIC
	GroupID         string        // LEADQ_GROUP_ID
	Partitions      int           // LEADQ_PARTITIONS, for topics leadq creates
	KeyPrefix       string        // LEADQ_KEY_PREFIX
	BatchSize       int           // LEADQ_BATCH_SIZE
	BatchWait       time.Duration // LEADQ_BATCH_WAIT
	RetrainInterval time.Duration // LEADQ_RETRAIN_INTERVAL
	ShutdownTimeout time.Duration // LEADQ_SHUTDOWN_TIMEOUT
	BodyLimit       int           // LEADQ_BODY_LIMIT, bytes
	MaxEventBatch   int           // LEADQ_MAX_EVENT_BATCH
	OutboxLimit     int           // LEADQ_OUTBOX_LIMIT, form events waiting for Kafka before forms get 503
	RateLimit       float64       // LEADQ_RATE_LIMIT, requests/s per API key
	FormRateLimit   float64       // LEADQ_FORM_RATE_LIMIT, form requests/s per client address
	CORSOrigins     []string      // LEADQ_CORS_ORIGINS
	Routes          string        // LEADQ_ROUTES, pool routing rules
	DefaultPool     string        // LEADQ_DEFAULT_POOL
	Lease           time.Duration // LEADQ_LEASE
	RejectFor       time.Duration // LEADQ_REJECT_FOR, how long a rep's rejection keeps the lead from them
	RejectCap       int           // LEADQ_REJECT_CAP, rejections per rep and pool remembered
	SLA             time.Duration // LEADQ_SLA
	RepDailyCap     int           // LEADQ_REP_DAILY_CAP, 0 = none
	CallingHours    string        // LEADQ_CALLING_HOURS, e.g. "08:00-20:00,mon-fri"; "" = any hour
	RepCap          int           // LEADQ_REP_CAP
	LogLevel        string        // LEADQ_LOG_LEVEL
	LogFormat       string        // LEADQ_LOG_FORMAT
	PprofAddr       string        // LEADQ_PPROF_ADDR, "" = no profiling listener
}

// Embedded reports whether neither Redis nor Kafka is configured, which makes
// leadq start its in-process servers.
func (c Config) Embedded() bool { return c.RedisURL == "" && len(c.KafkaBrokers) == 0 }

// Has reports whether the process runs the role.
func (c Config) Has(role string) bool { return slices.Contains(c.Roles, role) }

// Parse reads flags from args and LEADQ_ variables through lookup (os.LookupEnv
// in production, a map in tests), then validates. The error names the setting.
// extra registers a subcommand's own flags (leadq replay's --from) on the same set.
func Parse(name string, args []string, lookup func(string) (string, bool), extra ...func(*flag.FlagSet)) (Config, error) {
	var c Config
	var brokers, roles, corsOrigins string
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&c.HTTPAddr, "http-addr", "127.0.0.1:8080", "HTTP listen address")
	fs.StringVar(&c.RedisURL, "redis-url", "", "Redis URL (redis://host:port/db); empty with no Kafka brokers starts the embedded servers")
	fs.StringVar(&brokers, "kafka-brokers", "", "Kafka bootstrap brokers, comma-separated")
	fs.StringVar(&c.APIKeys, "api-keys", "", "API keys as scope:secret pairs, comma-separated")
	fs.StringVar(&roles, "roles", strings.Join(AllRoles, ","), "roles to run: api,consumer,trainer")
	fs.StringVar(&c.Topic, "topic", "leadq.events", "Kafka topic of lead events")
	fs.StringVar(&c.DLQTopic, "dlq-topic", "leadq.events.dlq", "Kafka dead-letter topic")
	fs.StringVar(&c.AlertTopic, "alert-topic", "leadq.alerts", "Kafka topic of the queue's events (sla_breached)")
	fs.StringVar(&c.GroupID, "group-id", "leadq", "Kafka consumer group")
	fs.IntVar(&c.Partitions, "partitions", 4, "partitions of topics leadq creates")
	fs.StringVar(&c.KeyPrefix, "key-prefix", "lq:", "prefix of every Redis key")
	fs.IntVar(&c.BatchSize, "batch-size", 2000, "events applied to Redis per batch")
	fs.DurationVar(&c.BatchWait, "batch-wait", 20*time.Millisecond, "longest wait to fill a batch")
	fs.DurationVar(&c.RetrainInterval, "retrain-interval", time.Hour, "how often the trainer retrains")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 20*time.Second, "how long shutdown may drain in-flight work")
	fs.IntVar(&c.BodyLimit, "body-limit", 1<<20, "largest HTTP request body in bytes")
	fs.IntVar(&c.MaxEventBatch, "max-event-batch", 500, "most events one POST /v1/events may carry")
	fs.IntVar(&c.OutboxLimit, "outbox-limit", 200000, "form events that may wait in the Redis outbox for Kafka before POST /v1/leads answers 503")
	fs.Float64Var(&c.RateLimit, "rate-limit", 5000, "requests per second per API key (0: no limit)")
	fs.Float64Var(&c.FormRateLimit, "form-rate-limit", 5, "form submissions per second per client address (0: no limit)")
	fs.StringVar(&corsOrigins, "cors-origins", "", "web origins allowed to call the form routes, comma-separated (e.g. https://www.example.com)")
	fs.StringVar(&c.Routes, "routes", "", "pool routing rules: pool=field:v1|v2,field:v3;pool2=... (fields: region, country, industry, company_size, language, source_first, source_last, seniority)")
	fs.StringVar(&c.DefaultPool, "default-pool", "default", "pool of leads no routing rule matches")
	fs.DurationVar(&c.Lease, "lease", 10*time.Minute, "how long a claimed lead is exclusively a rep's")
	fs.DurationVar(&c.RejectFor, "reject-for", 7*24*time.Hour, "how long a lead a rep rejected is kept from that rep")
	fs.IntVar(&c.RejectCap, "reject-cap", 200, "rejections remembered per rep and pool (the oldest are forgotten first); bounds a pull's work")
	fs.DurationVar(&c.SLA, "sla", 5*time.Minute, "speed-to-lead target: first call attempt within this of the trigger")
	fs.IntVar(&c.RepDailyCap, "rep-daily-cap", 0, "claims a rep may make per UTC day (0: no limit)")
	fs.StringVar(&c.CallingHours, "calling-hours", "08:00-20:00,mon-fri", "local hours when a lead with a known timezone may be called, e.g. 09:00-17:30,mon-fri (empty: any hour)")
	fs.IntVar(&c.RepCap, "rep-cap", 1, "open claims a rep may hold at once")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "text", "text or json")
	fs.StringVar(&c.PprofAddr, "pprof-addr", "", "listen address of Go's pprof profiles (/debug/pprof/), apart from the API; empty: off. Bind it to loopback: profiles expose internals")
	for _, x := range extra {
		x(fs)
	}
	fs.SetOutput(new(strings.Builder)) // usage is printed by the caller
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return c, ErrHelp{Usage: usage(fs)}
	}
	if err != nil {
		return c, err
	}
	if err := applyEnv(fs, lookup); err != nil {
		return c, err
	}
	c.KafkaBrokers = splitList(brokers)
	c.Roles = splitList(roles)
	c.CORSOrigins = splitList(corsOrigins)
	return c, c.Validate()
}

// ErrHelp carries the usage text when -h or --help was given.
type ErrHelp struct{ Usage string }

func (e ErrHelp) Error() string { return e.Usage }

// Validate checks every setting and names the first bad one.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return fmt.Errorf("LEADQ_HTTP_ADDR %q: %v", c.HTTPAddr, err)
	}
	if c.PprofAddr != "" {
		if _, _, err := net.SplitHostPort(c.PprofAddr); err != nil {
			return fmt.Errorf("LEADQ_PPROF_ADDR %q: %v", c.PprofAddr, err)
		}
	}
	if c.RedisURL != "" {
		// url.Parse's error quotes the URL, and its password when that has
		// characters such as # / % not percent-encoded: neither is shown.
		if _, err := url.Parse(c.RedisURL); err != nil {
			return errors.New("LEADQ_REDIS_URL: not a valid URL (not shown: it may hold a password); percent-encode characters such as # / ? % @ : in the password")
		}
		if _, err := redis.ParseURL(c.RedisURL); err != nil {
			return fmt.Errorf("LEADQ_REDIS_URL %q: %v", maskURL(c.RedisURL), err)
		}
	}
	if (c.RedisURL == "") != (len(c.KafkaBrokers) == 0) {
		return errors.New("LEADQ_REDIS_URL and LEADQ_KAFKA_BROKERS: set both (production) or neither (embedded servers)")
	}
	for _, b := range c.KafkaBrokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return fmt.Errorf("LEADQ_KAFKA_BROKERS %q: %v", b, err)
		}
	}
	if len(c.Roles) == 0 {
		return errors.New("LEADQ_ROLES: at least one of api,consumer,trainer")
	}
	for _, r := range c.Roles {
		if !slices.Contains(AllRoles, r) {
			return fmt.Errorf("LEADQ_ROLES: unknown role %q (want api, consumer or trainer)", r)
		}
	}
	if _, err := ParseAPIKeys(c.APIKeys); err != nil {
		return fmt.Errorf("LEADQ_API_KEYS: %v", err)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"LEADQ_BATCH_WAIT", c.BatchWait},
		{"LEADQ_RETRAIN_INTERVAL", c.RetrainInterval},
		{"LEADQ_SHUTDOWN_TIMEOUT", c.ShutdownTimeout},
		{"LEADQ_LEASE", c.Lease},
		{"LEADQ_REJECT_FOR", c.RejectFor},
		{"LEADQ_SLA", c.SLA},
	} {
		if d.v <= 0 {
			return fmt.Errorf("%s: must be positive, got %s", d.name, d.v)
		}
	}
	for _, n := range []struct {
		name   string
		v, max int
	}{
		{"LEADQ_PARTITIONS", c.Partitions, 10000},
		{"LEADQ_BATCH_SIZE", c.BatchSize, 100000},
		{"LEADQ_BODY_LIMIT", c.BodyLimit, 64 << 20},
		{"LEADQ_MAX_EVENT_BATCH", c.MaxEventBatch, 100000},
		{"LEADQ_OUTBOX_LIMIT", c.OutboxLimit, 100000000},
		{"LEADQ_REP_CAP", c.RepCap, 1000},
		{"LEADQ_REJECT_CAP", c.RejectCap, 100000},
	} {
		if n.v <= 0 || n.v > n.max {
			return fmt.Errorf("%s: must be between 1 and %d, got %d", n.name, n.max, n.v)
		}
	}
	if c.Topic == "" || c.DLQTopic == "" || c.AlertTopic == "" || c.Topic == c.DLQTopic || c.AlertTopic == c.Topic || c.AlertTopic == c.DLQTopic {
		return errors.New("LEADQ_TOPIC, LEADQ_DLQ_TOPIC and LEADQ_ALERT_TOPIC: must be set and differ")
	}
	if c.GroupID == "" {
		return errors.New("LEADQ_GROUP_ID: must be set")
	}
	if _, err := route.Parse(c.Routes, c.DefaultPool); err != nil {
		return fmt.Errorf("LEADQ_ROUTES: %v", err)
	}
	if _, err := ParseCallingHours(c.CallingHours); err != nil {
		return fmt.Errorf("LEADQ_CALLING_HOURS %q: %v", c.CallingHours, err)
	}
	if c.RepDailyCap < 0 {
		return errors.New("LEADQ_REP_DAILY_CAP: must not be negative (0 means no limit)")
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"LEADQ_RATE_LIMIT", c.RateLimit}, {"LEADQ_FORM_RATE_LIMIT", c.FormRateLimit}} {
		if !(r.v >= 0) { // also NaN, which compares false with everything
			return fmt.Errorf("%s: must be a number not below 0 (0 means no limit), got %g", r.name, r.v)
		}
	}
	for _, o := range c.CORSOrigins {
		if u, err := url.Parse(o); o != "*" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "") {
			return fmt.Errorf("LEADQ_CORS_ORIGINS: %q is not an origin such as https://www.example.com", o)
		}
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		return fmt.Errorf("LEADQ_LOG_LEVEL: unknown level %q", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("LEADQ_LOG_FORMAT: unknown format %q (want text or json)", c.LogFormat)
	}
	return nil
}

// String renders the config for the start-up log with secrets masked.
func (c Config) String() string {
	keys, _ := ParseAPIKeys(c.APIKeys)
	scopes := make([]string, 0, len(keys))
	for _, k := range keys {
		scopes = append(scopes, k.Scope+":***")
	}
	return fmt.Sprintf("http_addr=%s redis_url=%s kafka_brokers=%s api_keys=[%s] roles=%s topic=%s dlq_topic=%s alert_topic=%s group_id=%s partitions=%d key_prefix=%s batch_size=%d batch_wait=%s retrain_interval=%s shutdown_timeout=%s body_limit=%d max_event_batch=%d outbox_limit=%d rate_limit=%g form_rate_limit=%g cors_origins=%s routes=%q default_pool=%s lease=%s reject_for=%s reject_cap=%d sla=%s calling_hours=%q rep_daily_cap=%d rep_cap=%d log_level=%s log_format=%s pprof_addr=%s",
		c.HTTPAddr, orEmbedded(maskURL(c.RedisURL)), orEmbedded(strings.Join(c.KafkaBrokers, ",")), strings.Join(scopes, ","),
		strings.Join(c.Roles, ","), c.Topic, c.DLQTopic, c.AlertTopic, c.GroupID, c.Partitions, c.KeyPrefix, c.BatchSize, c.BatchWait,
		c.RetrainInterval, c.ShutdownTimeout, c.BodyLimit, c.MaxEventBatch, c.OutboxLimit, c.RateLimit, c.FormRateLimit, strings.Join(c.CORSOrigins, ","), c.Routes, c.DefaultPool, c.Lease, c.RejectFor, c.RejectCap, c.SLA, c.CallingHours, c.RepDailyCap, c.RepCap, c.LogLevel, c.LogFormat, orOff(c.PprofAddr))
}

func orOff(s string) string {
	if s == "" {
		return "(off)"
	}
	return s
}

func orEmbedded(s string) string {
	if s == "" {
		return "(embedded)"
	}
	return s
}

// maskURL hides a password in a URL so it can be logged.
func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(not a valid URL, not shown)"
	}
	if u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxx")
	}
	return u.String()
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func usage(fs *flag.FlagSet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage of %s (every flag is also an env var: --http-addr is LEADQ_HTTP_ADDR):\n", fs.Name())
	fs.SetOutput(&b)
	fs.PrintDefaults()
	return b.String()
}

// EnvName is the environment variable of a flag: --http-addr is LEADQ_HTTP_ADDR.
func EnvName(flagName string) string {
	return "LEADQ_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// commandLineOnly are flags no environment variable may set: a
// confirmation of a destructive command (replay --yes) must be typed.
var commandLineOnly = map[string]bool{"yes": true}

// applyEnv sets every flag not given on the command line from its LEADQ_
// variable, so flags win over the environment and the environment over defaults.
func applyEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || given[f.Name] || commandLineOnly[f.Name] {
			return
		}
		if v, ok := lookup(EnvName(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s %q: %v", EnvName(f.Name), v, e)
			}
		}
	})
	return err
}
