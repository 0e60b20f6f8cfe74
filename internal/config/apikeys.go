package config

import (
	"fmt"
	"slices"
	"strings"
)

// Scopes an API key can carry; admin may do everything.
var Scopes = []string{"form", "ingest", "dialer", "admin"}

// APIKey is one configured key: its scope and its secret.
type APIKey struct {
	Scope  string
	Secret string
}

// ParseAPIKeys reads comma-separated scope:secret pairs. Secrets must be at
// least 8 characters so that a typo does not become a guessable key.
func ParseAPIKeys(s string) ([]APIKey, error) {
	var keys []APIKey
	for i, pair := range splitList(s) {
		scope, secret, ok := strings.Cut(pair, ":")
		if !ok {
			return nil, fmt.Errorf("entry %d: want scope:secret", i+1)
		}
		if !slices.Contains(Scopes, scope) {
			// A value as long as a secret may be one (a pair written
			// secret:scope): the error is logged, so it is not shown.
			if len(scope) >= 8 {
				return nil, fmt.Errorf("entry %d: unknown scope (not shown: it may be a secret; pairs are scope:secret; want form, ingest, dialer or admin)", i+1)
			}
			return nil, fmt.Errorf("entry %d: unknown scope %q (want form, ingest, dialer or admin)", i+1, scope)
		}
		if len(secret) < 8 {
			return nil, fmt.Errorf("entry %d (%s): secret shorter than 8 characters", i+1, scope)
		}
		keys = append(keys, APIKey{Scope: scope, Secret: secret})
	}
	return keys, nil
}
