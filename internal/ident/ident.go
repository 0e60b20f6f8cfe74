// Package ident deduplicates what forms submit: the same email or external id
// is the same lead, and a request repeated with the same Idempotency-Key gets
// the first answer.
package ident

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrInProgress means a request with the same idempotency key is being
// processed right now.
var ErrInProgress = errors.New("ident: a request with this idempotency key is in progress")

// Store keeps identities and idempotent answers in Redis.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
}

// New returns a Store; idempotent answers are kept for ttl.
func New(rdb redis.UniversalClient, prefix string, ttl time.Duration) *Store {
	return &Store{rdb: rdb, prefix: prefix, ttl: ttl}
}

// digest hashes an identity so emails never appear in key names.
func digest(kind, v string) string {
	h := sha256.Sum256([]byte(kind + "\x00" + v))
	return hex.EncodeToString(h[:16])
}

// Resolve returns the lead id of an external id (preferred) or email, making
// a new one if neither was seen. created is true for a new lead. Emails are
// compared case-insensitively.
func (s *Store) Resolve(ctx context.Context, externalID, email string) (id string, created bool, err error) {
	kind, v := "email", normEmail(email)
	if externalID != "" {
		kind, v = "ext", externalID
	}
	key := s.prefix + "ident:" + digest(kind, v)
	fresh := newLeadID()
	if externalID != "" {
		fresh = externalID // an integrator's own id is the most useful lead id
	}
	prev, err := s.rdb.SetArgs(ctx, key, fresh, redis.SetArgs{Mode: "NX", Get: true}).Result()
	switch {
	case errors.Is(err, redis.Nil):
		if externalID != "" && email != "" {
			// Remember the email too, so a later form with only the email finds the lead.
			s.rdb.SetNX(ctx, s.prefix+"ident:"+digest("email", normEmail(email)), fresh, 0)
		}
		return fresh, true, nil
	case err != nil:
		return "", false, fmt.Errorf("ident: resolve: %w", err)
	}
	return prev, false, nil
}

// Form is what Start found out about a form submission.
type Form struct {
	LeadID  string
	Created bool    // a new lead
	Answer  *Answer // the stored answer of an earlier request with the same key
}

// Start is Resolve and, for a non-empty key, Begin first (the hot path of
// POST /v1/leads: one round trip, two with a key). It returns ErrInProgress like Begin; with an
// Answer the caller replays it and ignores the lead. Unless Answer is set,
// a caller that passed a key owns it and must Finish or Abandon it.
func (s *Store) Start(ctx context.Context, scope, key, externalID, email string) (Form, error) {
	kind, v := "email", normEmail(email)
	if externalID != "" {
		kind, v = "ext", externalID
	}
	fresh := newLeadID()
	if externalID != "" {
		fresh = externalID
	}
	// With an Idempotency-Key the key is claimed first, in a round trip of
	// its own: a replayed or in-progress request must not map its email to
	// a lead id it will never create (a client reusing a key with another
	// email would otherwise leave a dangling mapping).
	if key != "" {
		idem := s.rdb.SetArgs(ctx, s.idemKey(scope, key), "pending", redis.SetArgs{Mode: "NX", Get: true, TTL: time.Minute})
		switch prev, err := idem.Result(); {
		case errors.Is(err, redis.Nil): // ours now
		case err != nil:
			return Form{}, fmt.Errorf("ident: idempotency: %w", err)
		default:
			a, err := parseAnswer(prev)
			if err != nil {
				return Form{}, err
			}
			return Form{Answer: a}, nil
		}
	}
	prev, err := s.rdb.SetArgs(ctx, s.prefix+"ident:"+digest(kind, v), fresh, redis.SetArgs{Mode: "NX", Get: true}).Result()
	switch {
	case errors.Is(err, redis.Nil):
		if externalID != "" && email != "" {
			// Remember the email too, so a later form with only the email
			// finds the lead. Rare (a new lead with an external id): its own
			// round trip, and a failure only costs that convenience.
			s.rdb.SetNX(ctx, s.prefix+"ident:"+digest("email", normEmail(email)), fresh, 0)
		}
		return Form{LeadID: fresh, Created: true}, nil
	case err != nil:
		if key != "" {
			s.Abandon(context.WithoutCancel(ctx), scope, key)
		}
		return Form{}, fmt.Errorf("ident: resolve: %w", err)
	}
	return Form{LeadID: prev}, nil
}

// newLeadID returns "L-" and 16 random hex digits.
func newLeadID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "L-" + hex.EncodeToString(b[:])
}

// Answer is a stored response to an idempotent request.
type Answer struct {
	Status int
	Body   []byte
}

// Begin claims an idempotency key for scope. It returns the stored answer if
// the key was already answered, ErrInProgress if it is being answered, or
// (nil, nil) when the caller owns the key and must Finish or Abandon it.
func (s *Store) Begin(ctx context.Context, scope, key string) (*Answer, error) {
	k := s.idemKey(scope, key)
	ok, err := s.rdb.SetNX(ctx, k, "pending", time.Minute).Result()
	if err != nil {
		return nil, fmt.Errorf("ident: idempotency: %w", err)
	}
	if ok {
		return nil, nil
	}
	v, err := s.rdb.Get(ctx, k).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("ident: idempotency: %w", err)
	}
	return parseAnswer(v)
}

// parseAnswer reads a stored answer; "pending" (or anything unreadable)
// means the first request is still running.
func parseAnswer(v string) (*Answer, error) {
	status, body, found := strings.Cut(v, " ")
	if !found || status == "pending" {
		return nil, ErrInProgress
	}
	a := Answer{Body: []byte(body)}
	var err error
	if a.Status, err = strconv.Atoi(status); err != nil {
		return nil, ErrInProgress
	}
	return &a, nil
}

// Finish stores the answer of an idempotent request.
func (s *Store) Finish(ctx context.Context, scope, key string, a Answer) error {
	v := make([]byte, 0, 4+len(a.Body))
	v = append(strconv.AppendInt(v, int64(a.Status), 10), ' ')
	return s.rdb.Set(ctx, s.idemKey(scope, key), append(v, a.Body...), s.ttl).Err()
}

// Abandon releases a key whose request failed, so a retry can run.
func (s *Store) Abandon(ctx context.Context, scope, key string) {
	s.rdb.Del(ctx, s.idemKey(scope, key))
}

func (s *Store) idemKey(scope, key string) string {
	return s.prefix + "idem:" + digest(scope, key)
}

// normEmail is the form of an email that leads are found by: every lookup
// and every mapping of an email goes through it.
func normEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
