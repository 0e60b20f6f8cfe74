package config

import (
	"flag"
	"strings"
	"testing"
	"time"
)

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseDefaultsAreEmbedded(t *testing.T) {
	t.Parallel()
	c, err := Parse("t", nil, lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Embedded() || c.HTTPAddr != "127.0.0.1:8080" || len(c.Roles) != 3 || c.Topic != "leadq.events" || c.PprofAddr != "" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestParseEnvAndFlags(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"LEADQ_REDIS_URL":        "redis://:s3cret@10.0.0.1:6379/2",
		"LEADQ_KAFKA_BROKERS":    "k1:9092, k2:9092",
		"LEADQ_API_KEYS":         "admin:adminsecret,form:formsecret",
		"LEADQ_RETRAIN_INTERVAL": "30m",
		"LEADQ_HTTP_ADDR":        "0.0.0.0:9000",
		"LEADQ_PPROF_ADDR":       "127.0.0.1:6060",
	}
	c, err := Parse("t", []string{"--roles", "api,consumer", "--http-addr", ":7000"}, lookup(env))
	if err != nil {
		t.Fatal(err)
	}
	if c.Embedded() || len(c.KafkaBrokers) != 2 || c.KafkaBrokers[1] != "k2:9092" {
		t.Fatalf("brokers: %+v", c.KafkaBrokers)
	}
	if c.HTTPAddr != ":7000" {
		t.Fatalf("flag must win over env, got %q", c.HTTPAddr)
	}
	if c.RetrainInterval != 30*time.Minute || !c.Has(RoleConsumer) || c.Has(RoleTrainer) || c.PprofAddr != "127.0.0.1:6060" {
		t.Fatalf("parsed: %+v", c)
	}
	s := c.String()
	for _, secret := range []string{"s3cret", "adminsecret", "formsecret"} {
		if strings.Contains(s, secret) {
			t.Fatalf("String() leaks %q: %s", secret, s)
		}
	}
	if !strings.Contains(s, "admin:***") {
		t.Fatalf("String() should list key scopes: %s", s)
	}
}

func TestParseRejectsBadSettingNamingIt(t *testing.T) {
	t.Parallel()
	both := map[string]string{"LEADQ_REDIS_URL": "redis://localhost:6379", "LEADQ_KAFKA_BROKERS": "localhost:9092"}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for bk, bv := range both {
			if _, ok := m[bk]; !ok {
				m[bk] = bv
			}
		}
		return m
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"unparseable redis url", with("LEADQ_REDIS_URL", "http://x:y:z"), nil, "LEADQ_REDIS_URL"},
		{"redis without kafka", map[string]string{"LEADQ_REDIS_URL": "redis://localhost:6379"}, nil, "LEADQ_KAFKA_BROKERS"},
		{"broker without port", with("LEADQ_KAFKA_BROKERS", "localhost"), nil, "LEADQ_KAFKA_BROKERS"},
		{"unknown role", nil, []string{"--roles", "api,dialer"}, `LEADQ_ROLES: unknown role "dialer"`},
		{"negative interval", map[string]string{"LEADQ_RETRAIN_INTERVAL": "-5m"}, nil, "LEADQ_RETRAIN_INTERVAL: must be positive"},
		{"unparseable duration", map[string]string{"LEADQ_BATCH_WAIT": "soon"}, nil, "LEADQ_BATCH_WAIT"},
		{"zero batch", nil, []string{"--batch-size", "0"}, "LEADQ_BATCH_SIZE"},
		{"bad http addr", map[string]string{"LEADQ_HTTP_ADDR": "8080"}, nil, "LEADQ_HTTP_ADDR"},
		{"bad pprof addr", map[string]string{"LEADQ_PPROF_ADDR": "6060"}, nil, "LEADQ_PPROF_ADDR"},
		{"bad key scope", map[string]string{"LEADQ_API_KEYS": "root:abcdefgh"}, nil, `LEADQ_API_KEYS: entry 1: unknown scope "root"`},
		{"short key", map[string]string{"LEADQ_API_KEYS": "form:abc"}, nil, "LEADQ_API_KEYS"},
		{"bad log level", map[string]string{"LEADQ_LOG_LEVEL": "loud"}, nil, "LEADQ_LOG_LEVEL"},
		{"same dlq", map[string]string{"LEADQ_DLQ_TOPIC": "leadq.events"}, nil, "LEADQ_DLQ_TOPIC"},
		{"zero reject cap", map[string]string{"LEADQ_REJECT_CAP": "0"}, nil, "LEADQ_REJECT_CAP"},
		{"negative reject window", map[string]string{"LEADQ_REJECT_FOR": "-1h"}, nil, "LEADQ_REJECT_FOR"},
		{"zero outbox limit", map[string]string{"LEADQ_OUTBOX_LIMIT": "0"}, nil, "LEADQ_OUTBOX_LIMIT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("t", tc.args, lookup(tc.env))
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error must be one line: %q", err)
			}
		})
	}
}

func TestParseHelp(t *testing.T) {
	t.Parallel()
	_, err := Parse("t", []string{"--help"}, lookup(nil))
	h, ok := err.(ErrHelp)
	if !ok || !strings.Contains(h.Usage, "redis-url") {
		t.Fatalf("want usage, got %v", err)
	}
}

func TestParseCallingHours(t *testing.T) {
	t.Parallel()
	h, err := ParseCallingHours("08:00-20:00,mon-fri")
	if err != nil || h.Start != 8*time.Hour || h.End != 20*time.Hour || len(h.Days) != 5 || h.Days[0] != time.Monday || h.Days[4] != time.Friday {
		t.Fatalf("%+v %v", h, err)
	}
	if h, err := ParseCallingHours("09:30-24:00,sat,sun"); err != nil || h.Start != 9*time.Hour+30*time.Minute || len(h.Days) != 2 {
		t.Fatalf("%+v %v", h, err)
	}
	if h, err := ParseCallingHours(""); h != nil || err != nil {
		t.Fatalf("empty: %+v %v", h, err)
	}
	if h, _ := ParseCallingHours("fri-mon"); h != nil {
		t.Fatal("a day range without hours accepted")
	}
	for _, bad := range []string{"8-20", "20:00-08:00", "08:00-20:00,funday", "08:00", "25:00-26:00"} {
		if _, err := ParseCallingHours(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if h, err := ParseCallingHours("08:00-20:00,fri-mon"); err != nil || len(h.Days) != 4 {
		t.Fatalf("wrapping range: %+v %v", h, err)
	}
}

// TestYesIsCommandLineOnly: a destructive command's confirmation (replay
// --yes) cannot come from the environment, where it could linger.
func TestYesIsCommandLineOnly(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{{nil, false}, {[]string{"--yes"}, true}} {
		var yes bool
		if _, err := Parse("t", tc.args, lookup(map[string]string{"LEADQ_YES": "true"}), func(fs *flag.FlagSet) {
			fs.BoolVar(&yes, "yes", false, "confirm")
		}); err != nil {
			t.Fatal(err)
		}
		if yes != tc.want {
			t.Errorf("args %v with LEADQ_YES=true: yes = %v, want %v", tc.args, yes, tc.want)
		}
	}
}
