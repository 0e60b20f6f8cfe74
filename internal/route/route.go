// Package route places a lead in a pool (territory) by routing rules over its
// firmographics; a rep pulls from the pools they serve.
package route

import (
	"fmt"
	"slices"
	"strings"
)

// Rule sends a lead to Pool when every condition holds (all fields match one
// of their values). Values are compared after the feature spec's
// normalisation (lower case, underscores: "51_200", "de", "software").
type Rule struct {
	Pool  string
	Match map[string][]string
}

// Router places a lead in the pool of the first rule it matches, else in
// Default.
type Router struct {
	Rules   []Rule
	Default string
}

// RoutingFields are the lead fields a rule may test.
var RoutingFields = []string{"region", "country", "industry", "company_size", "language", "source_first", "source_last", "seniority"}

// Parse reads rules written as
//
//	pool=field:v1|v2,field:v3;pool2=field:v4
//
// e.g. "dach=country:de|at|ch;enterprise=company_size:1001_5000|5001+".
// Rules are tried in order; a lead matching none goes to the default pool.
func Parse(s, def string) (Router, error) {
	r := Router{Default: def}
	if def == "" || !validPool(def) {
		return r, fmt.Errorf("default pool %q: want letters, digits, '-' or '_'", def)
	}
	for i, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		pool, conds, ok := strings.Cut(part, "=")
		if !ok || !validPool(pool) {
			return r, fmt.Errorf("rule %d %q: want pool=field:value|value,...", i+1, part)
		}
		rule := Rule{Pool: pool, Match: map[string][]string{}}
		for _, c := range strings.Split(conds, ",") {
			field, vals, ok := strings.Cut(strings.TrimSpace(c), ":")
			if !ok || vals == "" {
				return r, fmt.Errorf("rule %d (%s): condition %q: want field:value|value", i+1, pool, c)
			}
			if !slices.Contains(RoutingFields, field) {
				return r, fmt.Errorf("rule %d (%s): unknown field %q (want one of %s)", i+1, pool, field, strings.Join(RoutingFields, ", "))
			}
			for _, v := range strings.Split(vals, "|") {
				rule.Match[field] = append(rule.Match[field], strings.ToLower(strings.TrimSpace(v)))
			}
		}
		r.Rules = append(r.Rules, rule)
	}
	return r, nil
}

// Pool returns the pool of a lead whose routing fields are given by get.
func (r Router) Pool(get func(field string) string) string {
	for _, rule := range r.Rules {
		ok := true
		for field, vals := range rule.Match {
			if !slices.Contains(vals, get(field)) {
				ok = false
				break
			}
		}
		if ok {
			return rule.Pool
		}
	}
	return r.Default
}

// Pools lists every pool the router can return, default first.
func (r Router) Pools() []string {
	out := []string{r.Default}
	for _, rule := range r.Rules {
		if !slices.Contains(out, rule.Pool) {
			out = append(out, rule.Pool)
		}
	}
	return out
}

func validPool(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
