// Package queue is leadq's call queue in Redis: it answers "which lead should
// this rep call now?" exactly, hands each lead to one rep at a time, and runs
// the cadence (retries, callbacks, nurture) from call outcomes.
//
// # Ranking
//
// A lead's priority at now is p × c(now − t) × a(k): calibrated probability,
// contact value at the age since its latest high-intent trigger (Curve, a
// continuous piecewise exponential) and attempt factor after k unanswered
// attempts. Within curve segment k (start s_k, rate λ_k, value C_k)
//
//	log priority = [log p + log a(k) + λ_k·(t − epoch)] + [log C_k + λ_k·s_k − λ_k·(now − epoch)]
//
// The first bracket is fixed per lead and is its score in the segment's
// sorted set; the second is shared by the whole segment and added when
// reading. The best lead is the best of the K segment heads, so the order is
// exact at every instant with no periodic recomputation. A lead crosses into
// the next segment at t + s_{k+1}; that time waits in the pool's due set and
// the crossing is applied lazily by whichever script touches the pool next,
// before it reads. Snoozes (retry spacing, callbacks, calling hours), lease
// ends and SLA deadlines are due-set events too. A pull costs
// O(K·log n + events due), whatever the queue's size; Tick applies due events
// ahead of pulls so that share stays small. A pull stops reading segment
// heads once no later segment can win (c(s_k) bounds a segment's leads).
//
// A rep who rejects a lead does not get it again for Config.RejectFor (a
// week); everyone else still gets the exact best. The pool keeps the rep's
// latest Config.RejectCap rejections (older ones are forgotten, so a rep who
// rejects more than that in a week may see the oldest again): a pull passes
// over at most that many leads per pool, which bounds what rejections cost
// Redis (200 cost a pull about 0.35 ms). A nurture that ends without a new
// trigger leaves the lead in state nurture_expired (logged like an outcome);
// a later trigger re-heats it. A lead nurtured before nurture ends existed
// gets its end the next time an event touches it (Upsert).
//
// A new probability (Rescore, after a model change) moves only the first
// bracket: once the pool's due events are applied, a queued lead stays in its
// segment with its due time, and its score is rewritten in place.
//
// # Redis keys
//
// With Config.Prefix "lq:", the keys of pool P share the hash tag {P}:
//
//	lq:q:{P}:z0 … z<K-1>  segment sorted sets: lead id → static score
//	lq:q:{P}:due          lead id → next timed event; "\x01"+id → SLA deadline
//	lq:q:{P}:clk          the pool's clock (latest now seen: time never runs back)
//	lq:q:{P}:l:<lead id>  hash: p t a st seg nb cl sdr lease fa br nu src tzo lo lot rsn rc
//	lq:q:{P}:exp          hash: rep → leases that expired on them
//	lq:q:{P}:rsn          hash: reason and source|reason → count
//	lq:q:{P}:log          stream of outcomes (training labels)
//	lq:q:{P}:ev           stream of events for Kafka (sla_breached)
//
// and a rep R's keys share {R}:
//
//	lq:q:r:{R}:cl           sorted set: open claim id → lease end (the rep cap)
//	lq:q:r:{R}:d:<YYYYMMDD> claims today (only with RepDailyCap)
//
// Claim ids are "<base64url pool>.<128 random bits>.<lead id>": the pool part
// routes Extend, Release and Outcome to the pool's slot; the claim is checked
// against the lead's record, so a guessed or stale id changes nothing.
//
// # Redis Cluster
//
// Upsert, UpsertBatch, Rescore, Active, Remove's first step, Get, Peek and
// Tick run one script (or command) per pool and are Cluster-safe. Next,
// Extend, Release and Outcome also write the rep's ledger (the rep cap must
// be checked and taken in the same atomic step as the lead), so they span two
// or more slots: they need standalone Redis (or Sentinel), or Config.Tag,
// which puts every key under one hash tag {Tag} — Cluster-safe, but the whole
// queue lives on one shard. Config.LeadData (Next also returns the lead's
// feature hash, saving the API a round trip) reads a key outside any tag:
// standalone Redis only, refused with a Tag. A sharded variant would reserve the rep's slot
// first, claim in the pool's slot and undo the reservation on failure; it is
// not built.
//
// # Time
//
// Every method takes now, so tests and replays control time. Stored times are
// seconds since Config.Epoch (default 2026-01-01) to keep λ·(t − epoch) small;
// never change the epoch once data exists.
package queue
