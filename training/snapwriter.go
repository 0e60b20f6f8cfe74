package training

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// SnapshotWriterConfig configures a SnapshotWriter; zero fields take the defaults.
type SnapshotWriterConfig struct {
	// Buffer is how many snapshots may wait to be written; default 8192.
	// When it is full, Record writes synchronously instead of dropping.
	Buffer int
	Batch  int           // most snapshots written in one pipeline; default 512
	Wait   time.Duration // longest a snapshot waits for its batch; default 2ms
	// Timeout bounds one batch's round trip (and Close's final flush); default 5s.
	Timeout time.Duration
	// Retries is how many times the snapshots of a failed batch are written
	// again, after 100ms, then 4x longer each time; default 4 (about 8.5s in
	// all, which rides out a Redis restart or failover). Negative: none.
	Retries int
	Log     *slog.Logger // failed batches are logged here; default slog.Default()
}

func (c SnapshotWriterConfig) withDefaults() SnapshotWriterConfig {
	c.Buffer = cmpOr(c.Buffer, 8192)
	c.Batch = cmpOr(c.Batch, 512)
	c.Wait = cmpOr(c.Wait, 2*time.Millisecond)
	c.Timeout = cmpOr(c.Timeout, 5*time.Second)
	c.Retries = cmpOr(c.Retries, 4)
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// SnapshotWriter takes point-in-time snapshots off the request path: Record
// hands the vector to one background goroutine, which writes batches to
// Redis in one pipeline each, by size or after Wait. Nothing is dropped
// silently: a full buffer makes Record write synchronously, a failed write is
// retried (a retry that repeats a write Redis had applied is read once:
// Dataset reads each snapshot id once), then logged and counted
// (leadq_snapshots_failed_total), and Close flushes what is buffered. Safe
// for concurrent use.
//
//	w := training.NewSnapshotWriter(snapshots, training.SnapshotWriterConfig{})
//	defer w.Close()
//	_ = w.Record(ctx, leadID, "form", num, cat, now) // takes ownership of num and cat
type SnapshotWriter struct {
	s   *Snapshots
	cfg SnapshotWriterConfig

	mu     sync.RWMutex // guards closed against sends on the closed channel
	closed bool
	ch     chan pendingSnap
	done   chan struct{}
	queued atomic.Int64 // snapshots handed to run and not yet written (or given up)

	pending prometheus.Gauge
	written *prometheus.CounterVec
	failed  prometheus.Counter
	retried prometheus.Counter
}

type pendingSnap struct {
	id, lead, via string
	num           []float64
	cat           []string
	at            time.Time
	// flushed, when set, marks a Flush request instead of a snapshot: run
	// writes everything queued before it, then closes flushed.
	flushed chan struct{}
}

// NewSnapshotWriter starts a writer over s; the caller must Close it.
func NewSnapshotWriter(s *Snapshots, cfg SnapshotWriterConfig) *SnapshotWriter {
	cfg = cfg.withDefaults()
	w := &SnapshotWriter{
		s: s, cfg: cfg,
		ch:   make(chan pendingSnap, cfg.Buffer),
		done: make(chan struct{}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "leadq_snapshots_pending",
			Help: "Training snapshots recorded and not yet written to Redis.",
		}),
		written: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leadq_snapshots_written_total",
			Help: "Training snapshots written, by path: async (batched) or sync (buffer full or writer closed).",
		}, []string{"path"}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "leadq_snapshots_failed_total",
			Help: "Training snapshots that could not be written, retries included (each is also logged).",
		}),
		retried: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "leadq_snapshots_retried_total",
			Help: "Training snapshot writes retried after a failed batch.",
		}),
	}
	go w.run()
	return w
}

// Collectors returns the writer's Prometheus collectors for the caller to register.
func (w *SnapshotWriter) Collectors() []prometheus.Collector {
	return []prometheus.Collector{w.pending, w.written, w.failed, w.retried}
}

// Record snapshots a vector already extracted in the spec's order, taken at
// the moment the lead was surfaced; via says how ("claim", "form"). It has
// RecordVector's signature, but returns before the write (unless the buffer
// is full or the writer closed): an error means the vector does not fit the
// spec or a synchronous write failed. Record takes ownership of num and cat:
// the caller must not change them afterwards.
func (w *SnapshotWriter) Record(ctx context.Context, leadID, via string, num []float64, cat []string, at time.Time) error {
	if err := w.s.check(leadID, num, cat); err != nil {
		return err
	}
	w.mu.RLock()
	if !w.closed {
		select {
		case w.ch <- pendingSnap{id: snapID(), lead: leadID, via: via, num: num, cat: cat, at: at}:
			w.queued.Add(1)
			w.pending.Inc()
			w.mu.RUnlock()
			return nil
		default: // full: this caller pays for the write, so the buffer never grows past Buffer
		}
	}
	w.mu.RUnlock()
	if err := w.s.RecordVector(ctx, leadID, via, num, cat, at); err != nil {
		w.failed.Inc()
		return err
	}
	w.written.WithLabelValues("sync").Inc()
	return nil
}

// Flush returns once every snapshot recorded before the call is written (or
// given up as failed), or when ctx ends. Labelling an outcome flushes first,
// so a call reported a few milliseconds after its claim still labels the
// claim's snapshot. It costs nothing when nothing is queued.
func (w *SnapshotWriter) Flush(ctx context.Context) error {
	if w.queued.Load() == 0 {
		return nil
	}
	done := make(chan struct{})
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		<-w.done // Close drains and writes everything
		return nil
	}
	select {
	case w.ch <- pendingSnap{flushed: done}:
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	w.mu.RUnlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting snapshots into the buffer, writes what it holds and
// waits for that write. Later Records write synchronously. Close is idempotent.
func (w *SnapshotWriter) Close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.ch)
	}
	w.mu.Unlock()
	<-w.done
	return nil
}

// run batches snapshots until the channel is closed and drained.
func (w *SnapshotWriter) run() {
	defer close(w.done)
	batch := make([]pendingSnap, 0, w.cfg.Batch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var waiting []chan struct{} // Flush requests answered by the next write
	write := func() {
		if len(batch) > 0 {
			w.flush(batch)
			clear(batch) // let the vectors go
			batch = batch[:0]
		}
		for _, c := range waiting {
			close(c)
		}
		waiting = waiting[:0]
	}
	for {
		if len(batch) == 0 {
			s, ok := <-w.ch
			if !ok {
				return
			}
			if s.flushed != nil {
				close(s.flushed) // nothing queued before it
				continue
			}
			batch = append(batch, s)
			timer.Reset(w.cfg.Wait)
		}
		select {
		case s, ok := <-w.ch:
			if !ok {
				write()
				return
			}
			if s.flushed != nil {
				waiting = append(waiting, s.flushed)
				timer.Stop()
				break
			}
			if batch = append(batch, s); len(batch) < w.cfg.Batch {
				continue
			}
			timer.Stop()
		case <-timer.C:
		}
		write()
	}
}

// flush writes a batch in one pipeline and writes again, with backoff, the
// snapshots whose commands failed. A snapshot keeps its id across attempts,
// so a retry of a write Redis had applied (the answer was lost) adds an
// entry Dataset skips and re-adds the same index member. While it waits,
// the buffer fills and Record writes synchronously: nothing grows unbounded.
// A snapshot still unwritten after the retries (or when the writer is
// closing: shutdown does not wait for Redis) is lost for training: counted
// and logged.
func (w *SnapshotWriter) flush(batch []pendingSnap) {
	defer w.queued.Add(-int64(len(batch)))
	defer w.pending.Sub(float64(len(batch)))
	total := len(batch)
	wait := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		failed, err := w.write(batch)
		w.written.WithLabelValues("async").Add(float64(len(batch) - len(failed)))
		if len(failed) == 0 {
			return
		}
		if attempt >= w.cfg.Retries || w.isClosed() { // shutting down: don't hold it up
			w.failed.Add(float64(len(failed)))
			w.cfg.Log.Error("training snapshots not written", "lost", len(failed), "batch", total, "attempts", attempt+1, "err", err)
			return
		}
		w.cfg.Log.Warn("training snapshots not written; retrying", "failed", len(failed), "batch", total, "in", wait, "err", err)
		w.retried.Add(float64(len(failed)))
		time.Sleep(wait)
		wait *= 4
		batch = failed
	}
}

func (w *SnapshotWriter) isClosed() bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.closed
}

// write sends one batch in one pipeline and returns the snapshots any of
// whose commands failed (in a new slice) and the pipeline's error.
func (w *SnapshotWriter) write(batch []pendingSnap) ([]pendingSnap, error) {
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.Timeout)
	defer cancel()
	p := w.s.rdb.Pipeline()
	first := make([]int, len(batch)+1) // snapshot i's commands are first[i] up to first[i+1]
	var day string                     // the day whose expiry was last set: batches rarely span two
	for i, s := range batch {
		first[i] = p.Len()
		d := dayOf(s.at)
		w.s.queueRecord(ctx, p, s.id, s.lead, s.via, s.num, s.cat, s.at, d != day)
		day = d
	}
	first[len(batch)] = p.Len()
	cmds, err := p.Exec(ctx)
	if err == nil {
		return nil, nil
	}
	// Exec returns every queued command, each with its own error.
	var failed []pendingSnap
	for i, s := range batch {
		for _, c := range cmds[first[i]:first[i+1]] {
			if c.Err() != nil && c.Err() != redis.Nil {
				failed = append(failed, s)
				break
			}
		}
	}
	return failed, err
}
