package config

import (
	"strings"
	"testing"
)

// TestConfigErrorsHideSecrets: the error of a bad setting is printed
// to stderr (logs); it must not carry a Redis password or an API key.
func TestConfigErrorsHideSecrets(t *testing.T) {
	for _, tc := range []struct {
		name, secret string
		env          map[string]string
	}{
		// passwords with URL-special characters that were not percent-encoded
		{"redis password with #", "Pa55#word", map[string]string{"LEADQ_REDIS_URL": "redis://:Pa55#word@10.0.0.1:6379/0", "LEADQ_KAFKA_BROKERS": "k:9092"}},
		{"redis password with %", "Pa%55wo%rd", map[string]string{"LEADQ_REDIS_URL": "redis://:Pa%55wo%rd@10.0.0.1:6379/0", "LEADQ_KAFKA_BROKERS": "k:9092"}},
		// a pair written secret:scope
		{"api key pair reversed", "S3cretAdminKey99", map[string]string{"LEADQ_API_KEYS": "form:formsecret1,S3cretAdminKey99:admin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t", nil, lookup(tc.env))
			if err == nil {
				t.Fatal("no error")
			}
			for _, frag := range []string{tc.secret, tc.secret[:4]} {
				if strings.Contains(err.Error(), frag) {
					t.Fatalf("error shows the secret (%q): %v", frag, err)
				}
			}
		})
	}
	if got := maskURL("redis://:Pa%55wo%rd@10.0.0.1:6379/0"); strings.Contains(got, "wo%rd") {
		t.Fatalf("maskURL of an unparseable URL: %q", got)
	}
}
