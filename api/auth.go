package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/leadq/leadq/internal/config"
)

// keyring holds API keys as SHA-256 hashes: the process never keeps a
// presented or configured secret longer than it takes to hash it.
type keyring struct {
	keys []hashedKey
}

type hashedKey struct {
	scope string
	hash  [sha256.Size]byte
}

func newKeyring(keys []config.APIKey) *keyring {
	k := &keyring{}
	for _, key := range keys {
		k.keys = append(k.keys, hashedKey{scope: key.Scope, hash: sha256.Sum256([]byte(key.Secret))})
	}
	return k
}

// scopeOf returns the scope of a presented secret and an id of the key (a
// prefix of its hash, for rate limits). It compares against every key in
// constant time, so timing tells nothing about which key matched.
func (k *keyring) scopeOf(secret string) (scope, id string, found bool) {
	h := sha256.Sum256([]byte(secret))
	for _, key := range k.keys {
		if subtle.ConstantTimeCompare(h[:], key.hash[:]) == 1 {
			scope, found = key.scope, true
		}
	}
	if found {
		id = string(h[:8])
	}
	return scope, id, found
}

// require admits a request whose bearer key has the scope, or admin.
func (s *Server) require(scope string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		auth := c.Get(fiber.HeaderAuthorization)
		secret, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || secret == "" {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="leadq"`)
			return problem(fiber.StatusUnauthorized, "missing API key: send Authorization: Bearer <key>")
		}
		got, id, ok := s.keys.scopeOf(secret)
		if !ok {
			// Unknown keys are limited per client address (10/s, bursts
			// of 20), so keys cannot be guessed at the server's full speed.
			if ok, wait := s.badKeys.allow(c.IP(), requestTime(c)); !ok {
				return tooMany(c, wait, "too many requests with unknown API keys from this address")
			}
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="leadq", error="invalid_token"`)
			return problem(fiber.StatusUnauthorized, "unknown API key")
		}
		if got != scope && got != "admin" {
			return problem(fiber.StatusForbidden, "this key has scope "+got+"; the route needs "+scope)
		}
		if err := s.rateLimit(c, got, id); err != nil {
			return err
		}
		return c.Next()
	}
}
