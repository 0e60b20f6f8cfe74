package queue

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// poolKey is the prefix of every key of a pool. All of them share one hash
// tag, so each per-pool script runs on one Redis Cluster slot.
func (q *Queue) poolKey(pool string) string {
	if q.cfg.Tag != "" {
		return q.cfg.Prefix + "q:{" + q.cfg.Tag + "}:p[" + pool + "]:"
	}
	return q.cfg.Prefix + "q:{" + pool + "}:"
}

// repKey is the prefix of a rep's keys: open claims ("cl") and the daily count ("d:YYYYMMDD").
func (q *Queue) repKey(sdr string) string {
	if q.cfg.Tag != "" {
		return q.cfg.Prefix + "q:{" + q.cfg.Tag + "}:r[" + sdr + "]:"
	}
	return q.cfg.Prefix + "q:r:{" + sdr + "}:"
}

// dayKey is the rep's claim counter for the UTC day of now.
func (q *Queue) dayKey(sdr string, now time.Time) string {
	return q.repKey(sdr) + "d:" + now.UTC().Format("20060102")
}

var b64 = base64.RawURLEncoding

// A claim id is "<pool token>.<random>.<lead id>": the pool token routes
// Extend, Release and Outcome straight to the pool's slot, the 128 random
// bits make it unguessable, and the lead id says which lead holds it (the
// lead's record is where a claim is checked, so no claim index is needed).

// claimToken is the routing part of a claim id.
func claimToken(pool string) string { return b64.EncodeToString([]byte(pool)) }

// randomSuffix is the secret part of a claim id: 128 random bits.
func randomSuffix() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return b64.EncodeToString(b[:])
}

// parseClaim returns the pool and the lead of a claim id.
func parseClaim(claimID string) (pool, lead string, err error) {
	tok, rest, ok := strings.Cut(claimID, ".")
	rnd, lead, ok2 := strings.Cut(rest, ".")
	p, err := b64.DecodeString(tok)
	if !ok || !ok2 || err != nil || len(rnd) != 22 || validPool(string(p)) != nil || validLeadID(lead) != nil {
		return "", "", fmt.Errorf("%w: malformed claim id", ErrStaleClaim)
	}
	return string(p), lead, nil
}

// validID rejects rep ids that would break hash tags.
func validID(what, id string) error {
	if id == "" || len(id) > 200 || strings.ContainsAny(id, "{}[]") {
		return fmt.Errorf("%w: %s %q must be 1–200 bytes without braces or brackets", ErrInvalid, what, id)
	}
	return nil
}

// validLeadID rejects ids with control characters: the due set marks SLA
// deadlines with a leading \x01, and ids end up in logs and keys.
func validLeadID(id string) error {
	if id == "" || len(id) > 200 || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("%w: lead id %q must be 1–200 bytes without control characters", ErrInvalid, id)
	}
	return nil
}
