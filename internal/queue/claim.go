package queue

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Outcomes a rep can report for a claimed lead.
const (
	OutcomeNoAnswer      = "no_answer"
	OutcomeVoicemail     = "voicemail"
	OutcomeBusy          = "busy"
	OutcomeBadNumber     = "bad_number"
	OutcomeNotInterested = "connected_not_interested"
	OutcomeCallback      = "callback_requested"
	OutcomeMeetingBooked = "meeting_booked"
	OutcomeDisqualified  = "disqualified"
	OutcomeRejected      = "rejected" // rep declined the lead at once
	OutcomeReturned      = "returned" // rep worked the lead and hands it back
)

// Outcomes lists every valid outcome.
var Outcomes = []string{
	OutcomeNoAnswer, OutcomeVoicemail, OutcomeBusy, OutcomeBadNumber, OutcomeNotInterested,
	OutcomeCallback, OutcomeMeetingBooked, OutcomeDisqualified, OutcomeRejected, OutcomeReturned,
}

// Claim is a lead leased exclusively to one rep.
type Claim struct {
	ID             string // unguessable; needed to extend, release or report the outcome
	SDRID          string
	LeaseExpiresAt time.Time
	Item                     // the lead and the parts of its priority when claimed
	TriggerAt      time.Time // latest trigger, to show the SLA clock
	FirstAttempt   bool      // first claim since the trigger: the speed-to-lead moment
	FirstAttemptAt time.Time // first claim since the trigger (this one if FirstAttempt)
	SLAStartAt     time.Time // the SLA clock's start: the trigger, or the next calling-hours opening after it
	SLADueAt       time.Time // SLAStartAt + SLA
	// Data is the lead's hash at Config.LeadData (empty if the key does not
	// exist), read in the same script; nil when LeadData is not configured.
	Data map[string]string
	// Skipped counts better leads passed over because this rep rejected them
	// (at most Config.RejectCap per pool): what the rep's rejections cost.
	Skipped int
}

// Next atomically claims the best eligible lead across the rep's pools.
// It returns ErrEmpty, ErrRepAtCap or ErrRepDailyCap when it claims nothing.
func (q *Queue) Next(ctx context.Context, sdrID string, pools []string, now time.Time) (Claim, error) {
	start := time.Now()
	c, err := q.next(ctx, sdrID, pools, now)
	q.observePull(c, err, time.Since(start))
	return c, err
}

func (q *Queue) next(ctx context.Context, sdrID string, pools []string, now time.Time) (Claim, error) {
	if err := validID("sdr_id", sdrID); err != nil {
		return Claim{}, err
	}
	if len(pools) == 0 {
		return Claim{}, fmt.Errorf("%w: at least one pool", ErrInvalid)
	}
	dayKey := q.repKey(sdrID) + "d" // never touched without a daily cap: skip formatting the day
	if q.cfg.RepDailyCap > 0 {
		dayKey = q.dayKey(sdrID, now)
	}
	keys := []string{q.repKey(sdrID) + "cl", dayKey}
	args := []any{ftoa(q.sec(now)), sdrID, randomSuffix(), q.cfg.RepCap, q.cfg.RepDailyCap, len(pools),
		ftoa(q.cfg.RejectFor.Seconds()), q.cfg.RejectCap}
	for i, p := range pools {
		if err := validPool(p); err != nil {
			return Claim{}, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		if slices.Contains(pools[:i], p) {
			return Claim{}, fmt.Errorf("%w: pool %q listed twice", ErrInvalid, p)
		}
		keys = append(keys, q.poolKey(p)+"clk")
		args = append(args, claimToken(p))
		args = append(args, q.profileOf(p)...)
	}
	if d := q.cfg.LeadData; d != nil {
		args = append(args, d.Prefix, d.Suffix)
	}
	r, err := scriptNext.Run(ctx, q.rdb, keys, args...).Slice()
	if err != nil {
		return Claim{}, fmt.Errorf("queue next for %s: %w", sdrID, err)
	}
	switch r[0] {
	case "cap":
		return Claim{}, ErrRepAtCap
	case "daily":
		return Claim{}, ErrRepDailyCap
	case "empty":
		c := Claim{}
		if len(r) > 1 { // every lead left was one this rep rejected
			c.Skipped = int(r[1].(int64))
		}
		return c, ErrEmpty
	}
	// r: ok, pool#, id, claim, lease end, segment, now, p, t, attempts,
	// breached, first, first attempt, lead data, rejected leads passed over,
	// SLA clock start if not the trigger
	s := func(i int) string { v, _ := r[i].(string); return v }
	pool := pools[r[1].(int64)-1]
	c := Claim{
		ID: s(3), SDRID: sdrID, LeaseExpiresAt: q.at(s(4)),
		Item:      q.item(pool, s(2), int(r[5].(int64)), s(7), s(8), s(9), q.at(s(6))),
		TriggerAt: q.at(s(8)), FirstAttempt: r[11].(int64) == 1, FirstAttemptAt: q.at(s(12)),
	}
	c.SLAStartAt = c.TriggerAt
	if s(15) != "" {
		c.SLAStartAt = q.at(s(15))
	}
	c.SLADueAt = c.SLAStartAt.Add(q.cfg.SLA)
	c.SLABreached = s(10) == "1"
	c.Skipped = int(r[14].(int64))
	if kv, ok := r[13].([]any); ok { // false (Lua) comes back as nil: no LeadData
		c.Data = make(map[string]string, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			k, _ := kv[i].(string)
			c.Data[k], _ = kv[i+1].(string)
		}
	}
	return c, nil
}

// Extend renews a claim's lease from now; it returns the new expiry.
func (q *Queue) Extend(ctx context.Context, claimID, sdrID string, now time.Time) (time.Time, error) {
	r, err := q.claimOp(ctx, "extend", claimID, sdrID, Report{}, now)
	if err != nil {
		return time.Time{}, err
	}
	return q.at(r[3]), nil
}

// Release hands a claimed lead back to the queue without an outcome.
func (q *Queue) Release(ctx context.Context, claimID, sdrID string, now time.Time) error {
	_, err := q.claimOp(ctx, "release", claimID, sdrID, Report{}, now)
	return err
}

// Report is a rep's outcome of a claimed call.
type Report struct {
	LeadID, ClaimID, SDRID string
	Outcome                string    // one of Outcomes
	CallbackAt             time.Time // for callback_requested; zero means after the first retry spacing
	Reason                 string    // optional closed-loop reason from Config.Reasons
	Note                   string    // optional free text, kept in the outcome log
}

// Result is what an outcome did to the lead.
type Result struct {
	LeadID        string
	State         string    // lifecycle state after the outcome
	NextAttemptAt time.Time // when the lead is callable again; zero if not scheduled
	Attempts      int       // unanswered attempts so far
}

// Outcome resolves a claim: it drives the cadence and the lifecycle state and
// logs a training label. A wrong, foreign or expired claim gets ErrStaleClaim
// and changes nothing.
func (q *Queue) Outcome(ctx context.Context, rep Report, now time.Time) (Result, error) {
	if !slices.Contains(Outcomes, rep.Outcome) {
		return Result{}, fmt.Errorf("%w: unknown outcome %q", ErrInvalid, rep.Outcome)
	}
	if rep.Reason != "" && !slices.Contains(q.cfg.Reasons, rep.Reason) {
		return Result{}, fmt.Errorf("%w: unknown reason %q", ErrInvalid, rep.Reason)
	}
	if rep.LeadID == "" {
		return Result{}, fmt.Errorf("%w: lead id is required", ErrInvalid)
	}
	r, err := q.claimOp(ctx, "outcome", rep.ClaimID, rep.SDRID, rep, now)
	if err != nil {
		return Result{}, err
	}
	pool, _, _ := parseClaim(rep.ClaimID)
	q.m.outcomes.WithLabelValues(pool, rep.Outcome).Inc()
	res := Result{LeadID: r[1], State: stateNames[r[2]], Attempts: atoi(r[4])}
	if r[3] != "" {
		res.NextAttemptAt = q.at(r[3])
	}
	return res, nil
}

// claimOp runs lua/claim.lua; r is {ok, lead id, state, time, attempts}.
func (q *Queue) claimOp(ctx context.Context, op, claimID, sdrID string, rep Report, now time.Time) ([]string, error) {
	if err := validID("sdr_id", sdrID); err != nil {
		return nil, err
	}
	pool, lead, err := parseClaim(claimID)
	if err != nil {
		return nil, err
	}
	if rep.LeadID != "" && rep.LeadID != lead {
		return nil, ErrStaleClaim // a real claim, but on another lead
	}
	cb := ""
	if !rep.CallbackAt.IsZero() {
		cb = ftoa(q.sec(rep.CallbackAt))
	}
	args := append([]any{op, ftoa(q.sec(now)), claimID, sdrID, lead, rep.Outcome, cb, rep.Reason, rep.Note},
		q.profileOf(pool)...)
	args = append(args, ftoa(q.cfg.RejectFor.Seconds()), q.cfg.RejectCap)
	keys := []string{q.repKey(sdrID) + "cl", q.poolKey(pool) + "clk"}
	r, err := scriptClaim.Run(ctx, q.rdb, keys, args...).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("queue %s %s: %w", op, claimID, err)
	}
	if r[0] == "stale" {
		return nil, ErrStaleClaim
	}
	return r, nil
}
