package training

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/testenv"
)

// value reads a counter or gauge.
func value(tb testing.TB, m prometheus.Metric) float64 {
	tb.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		tb.Fatal(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

func vector(spec *features.Spec, lead string, at time.Time) ([]float64, []string) {
	num, cat := make([]float64, len(spec.NumNames())), make([]string, len(spec.CatNames()))
	spec.Extract(leadState(spec, lead, "website", at.Add(-time.Minute)), at, num, cat)
	return num, cat
}

// TestSnapshotWriterKeepsEverything records from many goroutines through a
// buffer far smaller than the load, so both the batched and the synchronous
// path run, and checks every snapshot is in Redis, once, after Close.
func TestSnapshotWriterKeepsEverything(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	spec := features.DefaultSpec()
	s, err := NewSnapshots(rdb, spec, SnapshotConfig{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	w := NewSnapshotWriter(s, SnapshotWriterConfig{Buffer: 4, Batch: 16, Wait: time.Millisecond})
	at := time.Now().UTC().Truncate(time.Millisecond)
	const writers, each = 32, 25
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				lead := fmt.Sprintf("L-%d-%d", g, i)
				num, cat := vector(spec, lead, at)
				if err := w.Record(t.Context(), lead, "claim", num, cat, at); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	n, err := rdb.XLen(t.Context(), s.dayKey(dayOf(at))).Result()
	if err != nil || n != writers*each {
		t.Fatalf("stream holds %d snapshots (%v), want %d", n, err, writers*each)
	}
	if ttl, err := rdb.TTL(t.Context(), s.dayKey(dayOf(at))).Result(); err != nil || ttl < s.cfg.Retention {
		t.Errorf("day stream expires in %s (%v), want at least the retention %s", ttl, err, s.cfg.Retention)
	}
	for _, lead := range []string{"L-0-0", "L-31-24", "L-17-3"} {
		if k, err := rdb.ZCard(t.Context(), s.leadKey(lead)).Result(); err != nil || k != 1 {
			t.Errorf("lead %s has %d indexed snapshots (%v), want 1", lead, k, err)
		}
	}
	async, sync := value(t, w.written.WithLabelValues("async")), value(t, w.written.WithLabelValues("sync"))
	if async+sync != writers*each || value(t, w.failed) != 0 || value(t, w.pending) != 0 {
		t.Errorf("metrics: async %v + sync %v, failed %v, pending %v; want %d written, none failed or pending",
			async, sync, value(t, w.failed), value(t, w.pending), writers*each)
	}
	if async == 0 {
		t.Error("no snapshot went through the batched path")
	}

	// After Close a snapshot is written at once, not lost.
	num, cat := vector(spec, "late", at)
	if err := w.Record(t.Context(), "late", "form", num, cat, at); err != nil {
		t.Fatal(err)
	}
	if k, _ := rdb.ZCard(t.Context(), s.leadKey("late")).Result(); k != 1 {
		t.Errorf("a Record after Close wrote %d snapshots, want 1", k)
	}
	if err := w.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
}

// TestSnapshotWriterRejects checks a vector that does not fit the spec is
// refused at Record, before it is buffered.
func TestSnapshotWriterRejects(t *testing.T) {
	t.Parallel()
	spec := features.DefaultSpec()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never reached
	defer rdb.Close()
	s, err := NewSnapshots(rdb, spec, SnapshotConfig{Prefix: "x:"})
	if err != nil {
		t.Fatal(err)
	}
	w := NewSnapshotWriter(s, SnapshotWriterConfig{})
	defer w.Close()
	num, cat := vector(spec, "a", time.Now())
	for name, err := range map[string]error{
		"short vector": w.Record(t.Context(), "a", "claim", num[1:], cat, time.Now()),
		"no lead":      w.Record(t.Context(), "", "claim", num, cat, time.Now()),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if v := value(t, w.pending); v != 0 {
		t.Errorf("pending = %v after rejected records, want 0", v)
	}
}

// TestSnapshotWriterCountsFailures writes to a Redis that is not there: the
// batched snapshots are counted as failed (not silently gone), and a
// synchronous write after Close reports its error.
func TestSnapshotWriterCountsFailures(t *testing.T) {
	t.Parallel()
	spec := features.DefaultSpec()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	s, err := NewSnapshots(rdb, spec, SnapshotConfig{Prefix: "x:"})
	if err != nil {
		t.Fatal(err)
	}
	w := NewSnapshotWriter(s, SnapshotWriterConfig{Timeout: time.Second, Retries: -1})
	at := time.Now()
	for i := range 10 {
		num, cat := vector(spec, "a", at)
		if err := w.Record(t.Context(), fmt.Sprint("L", i), "claim", num, cat, at); err != nil {
			t.Fatalf("buffered Record returned %v", err)
		}
	}
	_ = w.Close()
	if f := value(t, w.failed); f != 10 {
		t.Errorf("failed = %v, want 10", f)
	}
	num, cat := vector(spec, "a", at)
	if err := w.Record(t.Context(), "L", "claim", num, cat, at); err == nil {
		t.Error("a synchronous write to a missing Redis reported no error")
	}
	if f := value(t, w.failed); f != 11 {
		t.Errorf("failed = %v, want 11", f)
	}
}

// TestSnapshotWriterFlushBeforeLabel: an outcome reported right after its
// claim must label the claim's snapshot although the writer batches. The
// writer's wait is an hour, so only Flush can write it in time.
func TestSnapshotWriterFlushBeforeLabel(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	spec := features.DefaultSpec()
	s, err := NewSnapshots(rdb, spec, SnapshotConfig{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	w := NewSnapshotWriter(s, SnapshotWriterConfig{Batch: 1000, Wait: time.Hour})
	defer w.Close()
	if err := w.Flush(t.Context()); err != nil { // nothing queued: returns at once
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	for i := range 3 {
		lead := fmt.Sprintf("L-flush-%d", i)
		num, cat := vector(spec, lead, at)
		if err := w.Record(t.Context(), lead, "claim", num, cat, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	n, err := s.Label(t.Context(), "L-flush-1", "meeting_booked", at.Add(time.Second))
	if err != nil || n != 1 {
		t.Fatalf("label after Flush reached %d snapshots (%v), want 1", n, err)
	}
	if got := w.queued.Load(); got != 0 {
		t.Fatalf("%d snapshots still queued after Flush", got)
	}
}

// flaky fails pipelines on purpose: the next lost ones before sending them
// (nothing applied), then the next lost ones after Redis applied them (the
// answer is lost, as on a timeout).
type flaky struct{ before, after atomic.Int32 }

func (h *flaky) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *flaky) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *flaky) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		fail := func(msg string) error {
			err := errors.New(msg)
			for _, c := range cmds {
				c.SetErr(err)
			}
			return err
		}
		if len(cmds) < 4 { // a connection's hand-shake, not a batch of snapshots
			return next(ctx, cmds)
		}
		if h.before.Add(-1) >= 0 {
			return fail("injected: not sent")
		}
		err := next(ctx, cmds)
		if err == nil && h.after.Add(-1) >= 0 {
			return fail("injected: answer lost")
		}
		return err
	}
}

// TestSnapshotWriterRetries: failed batches are written again, and a retry
// of a write Redis had applied does not make a second training row: the
// stream may hold an entry twice, the dataset reads every snapshot once and
// each lead's index holds one member.
func TestSnapshotWriterRetries(t *testing.T) {
	t.Parallel()
	base, prefix := testenv.Redis(t)
	rdb := redis.NewClient(base.Options())
	defer rdb.Close()
	h := &flaky{}
	rdb.AddHook(h)
	spec := features.DefaultSpec()
	at := time.Now().UTC().Truncate(time.Millisecond)
	s, err := NewSnapshots(rdb, spec, SnapshotConfig{Prefix: prefix, Horizon: time.Hour,
		Now: func() time.Time { return at.Add(2 * time.Hour) }}) // every row past the horizon: negative, none pending
	if err != nil {
		t.Fatal(err)
	}
	w := NewSnapshotWriter(s, SnapshotWriterConfig{Batch: 64, Wait: time.Hour})
	h.before.Store(1)
	h.after.Store(2)
	const n = 50
	for i := range n {
		lead := fmt.Sprint("L-", i)
		num, cat := vector(spec, lead, at)
		if err := w.Record(t.Context(), lead, "claim", num, cat, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(t.Context()); err != nil { // one batch: fails 3 times, then written
		t.Fatal(err)
	}
	if h.before.Load() >= 0 || h.after.Load() >= 0 {
		t.Fatalf("the injected failures did not all happen (before %d, after %d left)", h.before.Load(), h.after.Load())
	}
	entries, err := rdb.XLen(t.Context(), s.dayKey(dayOf(at))).Result()
	if err != nil || entries != 3*n { // applied by the two lost answers and the last try
		t.Fatalf("stream holds %d entries (%v), want %d: each snapshot written three times", entries, err, 3*n)
	}
	ds, st, err := s.Dataset(t.Context(), at.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != n || len(ds.Label) != n {
		t.Errorf("dataset has %d rows (%d labels), want %d: one per snapshot", st.Rows, len(ds.Label), n)
	}
	for _, lead := range []string{"L-0", "L-49"} {
		if k, err := rdb.ZCard(t.Context(), s.leadKey(lead)).Result(); err != nil || k != 1 {
			t.Errorf("lead %s has %d indexed snapshots (%v), want 1", lead, k, err)
		}
	}
	if r, f, a := value(t, w.retried), value(t, w.failed), value(t, w.written.WithLabelValues("async")); r != 3*n || f != 0 || a != n {
		t.Errorf("metrics: retried %v, failed %v, written %v; want %d, 0, %d", r, f, a, 3*n, n)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
