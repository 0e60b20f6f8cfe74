// Package features turns behavioural events into per-lead feature vectors.
//
// It holds six things that must never drift apart, which is why they live
// together:
//
//   - Events: the wire contract of topic leadq.events, JSON
//     {event_id, lead_id, type, ts, props}, and a strict, fast decoder
//     ([Decode]) whose errors carry a small closed set of reasons
//     ([Reason]) fit for a Prometheus label and a dead-letter record.
//   - The feature spec ([Spec]): one versioned definition shared by
//     training and serving. An event compiles ([Spec.Compile]) to a few
//     idempotent, order-independent updates ([Op]) of a per-lead hash
//     ([State]); the feature vector is a pure function of that hash and the
//     current time ([Spec.Extract]).
//   - Pure folding ([Fold], [Spec.FoldApplied]): the same updates applied in
//     Go, with the arithmetic of the Redis script, for tests, replay checks
//     and training.
//   - The feature store ([Store]): one Lua call per lead per batch applies
//     that lead's updates in Redis and records the Kafka offset it covers in
//     the same hash, atomically, so redelivery and replay change nothing.
//     A brand-new lead's first events (a web form) are folded in Go and
//     written whole by a guarded write instead ([Store.CreateDirect]), and
//     the stream's copies of events the API applied itself are found by
//     their markers and skipped without a script call.
//   - Typed extraction for a lead known only by a few events
//     ([Spec.ExtractNew]): the vector of Fold and Extract without the hash,
//     for scoring a form that is not stored.
//   - The stream consumer, built on top of the store by the ingest role.
//
// A lead's state is the Redis hash <prefix>lead:{<lead_id>} (the braces are
// a Cluster hash tag). Numbers are decimal strings, times Unix milliseconds:
//
//	n:<type>             events of each type (n:call_attempted is the attempt count)
//	n:pv:<page>          views of pricing, product, docs and careers pages
//	n:sess, s:<hash>     distinct visits (session ids of page views), and one
//	                     marker field per visit, which makes the count exact,
//	                     idempotent and order-free; n:sview counts the views
//	                     that had a session (pages per visit = n:sview/n:sess)
//	t:<group>, t0:any    latest time per group (any, intent, web, content,
//	                     email, call), first time of any event; t:intent is
//	                     the high-intent trigger time
//	d:<half-life>, d@    decayed engagement sums, at the reference time d@
//	f:<prop>, f:<prop>@  firmographic, UTM and BANT registers, with their time
//	src0, src1 (and @)   first- and last-touch source
//	state, outcome (@)   lifecycle state and last call outcome
//	_o:<partition>       last Kafka offset applied to this lead per partition
//	_x:<event_id>        an event the API applied itself (deduplicated by id)
//
// Order independence is what makes late and replayed events safe: counts
// add, times keep a maximum or minimum, strings are last-write-wins by event
// time (ties broken by value), and decayed sums keep a value together with
// its reference time so that an event older than the reference folds in as
// if it had arrived on time.
package features
