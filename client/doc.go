// Package client is a Go client of the leadq HTTP API for dialers, web-form
// back ends, event sources and admin tools. It has its own request and
// response types (it imports nothing of leadq), so it can be vendored alone.
//
// Every call takes a context. Failed calls return a *Error carrying the
// server's problem+json (status, title, detail and the offending fields):
//
//	c := client.New("http://127.0.0.1:8080", os.Getenv("LEADQ_DIALER_KEY"))
//	for {
//		claim, err := c.Next(ctx, client.NextRequest{SDRID: "rep-7", Pools: []string{"emea"}})
//		if err != nil {
//			return err // *client.Error for an answer, else a transport or context error
//		}
//		if claim == nil {
//			time.Sleep(5 * time.Second) // the queue is empty
//			continue
//		}
//		outcome := dial(claim.Lead) // your dialer
//		_, err = c.Outcome(ctx, claim.Lead.LeadID, client.OutcomeRequest{
//			ClaimID: claim.ClaimID, SDRID: "rep-7", Outcome: outcome,
//		})
//		if client.IsStatus(err, http.StatusConflict) {
//			continue // the lease expired and the lead went to someone else
//		}
//	}
//
// # Retries
//
// The client retries with exponential backoff and full jitter (see
// WithRetries, WithBackoff). It never waits past the context's deadline: a
// retry that could not start in time ends the call with the last error.
// It retries after:
//
//   - 429 Too Many Requests, for every call, waiting at least Retry-After:
//     the rate limiter refused the request before anything happened.
//   - A connection that could not be opened, for every call: the request was
//     never sent.
//   - 503 Service Unavailable and other transport errors (a reset
//     connection, a timeout), only for calls that are safe to repeat: the
//     server may have acted before the failure. Those are the GETs, Score
//     (stores nothing), CreateLead (it always sends an Idempotency-Key, so a
//     repeat returns the first answer) and Extend (it renews the lease from
//     now either way).
//
// SendEvents, Next, Outcome, Release, Retrain and Rollback are not retried on such
// ambiguous failures. A Next that timed out may have claimed a lead: a blind
// retry would claim a second one while the first stays leased to the rep,
// counts against their claim cap and is hidden from every other rep until the
// lease expires. An Outcome that timed out may have been applied: a retry
// would be refused with 409 (the claim is resolved), hiding the success, and
// the caller should instead look at the lead (Lead) to see what happened. A
// repeated Rollback would roll back twice, a repeated Retrain train twice. A
// SendEvents whose answer was lost may have reached Kafka, and the stream
// does not deduplicate events by event_id: a blind retry would count them
// twice.
package client
