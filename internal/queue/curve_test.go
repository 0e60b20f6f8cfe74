package queue

import (
	"math"
	"strings"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b)) }

func TestDefaultCurvePublishedRatios(t *testing.T) {
	t.Parallel()
	c := DefaultCurve()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	v := func(d time.Duration) float64 { return c.Value(d) }
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"c(0) = 1", v(0), 1},
		{"flat inside the five-minute window", v(5 * time.Minute), 1},
		{"21x lower at 30 min than at 5 min", v(5*time.Minute) / v(30*time.Minute), 21},
		{"7x lower at 2 h than at 30 min", v(30*time.Minute) / v(2*time.Hour), 7},
		{"60x below the one-hour value at 24 h", v(time.Hour) / v(24*time.Hour), 60},
		{"a further 5x fall to day 21 (assumption)", v(24*time.Hour) / v(21*24*time.Hour-time.Nanosecond), 5},
	} {
		if math.Abs(tc.got-tc.want) > 1e-6*tc.want {
			t.Errorf("%s: got %g, want %g", tc.name, tc.got, tc.want)
		}
	}
	if got := v(time.Hour); got >= 0.1 {
		t.Errorf("contact value at 1 h is %g: the figures say more than 10x below the start", got)
	}
	if v(21*24*time.Hour) != 0 || v(-time.Minute) != 1 {
		t.Errorf("c(horizon) = %g (want 0: nurture), c(-1m) = %g (want 1)", v(21*24*time.Hour), v(-time.Minute))
	}
}

func TestCurveContinuousAndMonotone(t *testing.T) {
	t.Parallel()
	c := DefaultCurve()
	segs := c.Segments()
	for k, s := range segs {
		// Each piece ends exactly where the next begins: c is continuous.
		end := s.Value * math.Exp(-s.Rate*(s.End-s.Start).Seconds())
		if !near(end, c.Knots[k+1].Value) {
			t.Errorf("segment %d ends at %g, knot %d is %g", k, end, k+1, c.Knots[k+1].Value)
		}
		if k+1 < len(segs) && math.Abs(c.Value(s.End-time.Nanosecond)-c.Value(s.End)) > 1e-9 {
			t.Errorf("jump at %s: %g vs %g", s.End, c.Value(s.End-time.Nanosecond), c.Value(s.End))
		}
	}
	prev := 1.0
	for d := time.Duration(0); d < c.Horizon(); d += 7 * time.Minute {
		if v := c.Value(d); v > prev || v <= 0 {
			t.Fatalf("c(%s) = %g after %g: must be positive and never rise", d, v, prev)
		} else {
			prev = v
		}
		if k := c.Segment(d); d < segs[k].Start || d >= segs[k].End {
			t.Fatalf("Segment(%s) = %d covers [%s, %s)", d, k, segs[k].Start, segs[k].End)
		}
	}
}

func TestCurveValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		knots []Knot
		want  string
	}{
		{[]Knot{{0, 1}}, "at least two"},
		{[]Knot{{time.Second, 1}, {time.Minute, 0.5}}, "c(0) = 1"},
		{[]Knot{{0, 1}, {0, 0.5}}, "knot 1: age"},
		{[]Knot{{0, 1}, {time.Minute, 1.5}}, "knot 1: value"},
		{[]Knot{{0, 1}, {time.Minute, 0}}, "knot 1: value"},
	} {
		err := Curve{Knots: tc.knots}.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error containing %q", tc.knots, err, tc.want)
		}
	}
}

func TestConfigValidateNamesField(t *testing.T) {
	t.Parallel()
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Lease = 0 }, "Lease"},
		{func(c *Config) { c.RepCap = 0 }, "RepCap"},
		{func(c *Config) { c.RepDailyCap = -1 }, "RepDailyCap"},
		{func(c *Config) { c.Nurture = -time.Hour }, "Nurture"},
		{func(c *Config) { c.AttemptFactors = []float64{1, 0} }, "Profile.AttemptFactors[1]"},
		{func(c *Config) { c.MaxAttempts = 0 }, "Profile.MaxAttempts"},
		{func(c *Config) { c.RetrySpacing = nil }, "Profile.RetrySpacing"},
		{func(c *Config) { c.Budgets = []Budget{{MinP: 2, MaxAttempts: 3}} }, "Profile.Budgets[0]"},
		{func(c *Config) { c.Curve.Knots = c.Curve.Knots[:1] }, "Profile.Curve"},
		{func(c *Config) { c.Pools = map[string]Profile{"emea": {}} }, `Pools["emea"].Curve`},
		{func(c *Config) { c.Pools = map[string]Profile{"a{b}": DefaultConfig().Profile} }, "Pools: pool"},
		{func(c *Config) { c.Tag = "x}" }, "Tag"},
		{func(c *Config) { c.Epoch = time.Time{} }, "Epoch"},
		{func(c *Config) { c.Reasons = []string{"ok", ""} }, "Reasons[1]"},
		{func(c *Config) { c.RejectFor = 0 }, "RejectFor"},
		{func(c *Config) { c.RejectCap = 0 }, "RejectCap"},
	} {
		c := DefaultConfig()
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("got %v, want an error starting with %q", err, tc.want)
		}
	}
}

func TestProfileAttempts(t *testing.T) {
	t.Parallel()
	p := DefaultConfig().Profile
	p.Budgets = []Budget{{MinP: 0.2, MaxAttempts: 7}, {MinP: 0.5, MaxAttempts: 9}}
	for _, tc := range []struct {
		p    float64
		want int
	}{{0.1, 6}, {0.2, 7}, {0.49, 7}, {0.5, 9}, {1, 9}} {
		if got := p.Attempts(tc.p); got != tc.want {
			t.Errorf("Attempts(%g) = %d, want %d", tc.p, got, tc.want)
		}
	}
	if p.AttemptFactor(0) != 1 || p.AttemptFactor(99) != 0.25 {
		t.Errorf("AttemptFactor(0) = %g, AttemptFactor(99) = %g", p.AttemptFactor(0), p.AttemptFactor(99))
	}
}

func TestClaimIDRoutesAndIsRandom(t *testing.T) {
	t.Parallel()
	id := claimToken("emea:smb") + "." + randomSuffix() + ".lead.7"
	if p, l, err := parseClaim(id); err != nil || p != "emea:smb" || l != "lead.7" {
		t.Fatalf("parseClaim(%q) = %q, %q, %v", id, p, l, err)
	}
	if randomSuffix() == randomSuffix() {
		t.Fatal("two claim suffixes are equal")
	}
	for _, bad := range []string{"", "nodot", "!!!.x.y", claimToken("a{b}") + "." + randomSuffix() + ".x",
		claimToken("p") + ".short.x", claimToken("p") + "." + randomSuffix(), claimToken("p") + "." + randomSuffix() + "."} {
		if _, _, err := parseClaim(bad); err == nil {
			t.Errorf("parseClaim(%q) accepted a malformed id", bad)
		}
	}
}
