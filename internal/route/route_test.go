package route

import (
	"strings"
	"testing"
)

func TestRouter(t *testing.T) {
	t.Parallel()
	r, err := Parse("dach=country:DE|at|ch; ent=company_size:1001_5000|5001+,industry:software", "default")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lead map[string]string
		want string
	}{
		{map[string]string{"country": "de"}, "dach"},
		{map[string]string{"country": "de", "company_size": "5001+", "industry": "software"}, "dach"},
		{map[string]string{"country": "us", "company_size": "5001+", "industry": "software"}, "ent"},
		{map[string]string{"country": "us", "company_size": "5001+", "industry": "retail"}, "default"},
		{map[string]string{}, "default"},
	} {
		if got := r.Pool(func(f string) string { return tc.lead[f] }); got != tc.want {
			t.Errorf("%v: pool %s, want %s", tc.lead, got, tc.want)
		}
	}
	if p := r.Pools(); strings.Join(p, ",") != "default,dach,ent" {
		t.Errorf("pools %v", p)
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"dach", "dach=country", "dach=planet:mars", "da ch=country:de", "dach=country:"} {
		if _, err := Parse(s, "default"); err == nil {
			t.Errorf("%q: want an error", s)
		}
	}
	if _, err := Parse("", "bad pool"); err == nil {
		t.Error("bad default pool accepted")
	}
}
