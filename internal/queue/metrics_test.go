package queue

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// gathered returns the value of every series of the queue's metrics, keyed
// by name and label values (labels in name order), e.g. "leadq_queue_pulls_total{claimed}".
func gathered(t *testing.T, q *Queue) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(q.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName() + "{"
			for i, l := range m.GetLabel() {
				if i > 0 {
					key += ","
				}
				key += l.GetValue()
			}
			key += "}"
			switch {
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			case m.Histogram != nil:
				out[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	q, _ := newQueue(t, nil)
	upsert(t, q, Lead{ID: "a", Pool: "p", P: 0.9, TriggerAt: t0}, t0)
	upsert(t, q, Lead{ID: "b", Pool: "p", P: 0.5, TriggerAt: t0}, t0)
	c := next(t, q, "ann", []string{"p"}, t0.Add(time.Minute))
	next(t, q, "bob", []string{"p"}, t0.Add(8*time.Minute))
	_, err := q.Next(t.Context(), "cat", []string{"p"}, t0.Add(9*time.Minute))
	wantErr(t, err, ErrEmpty)
	report(t, q, c, OutcomeMeetingBooked, t0.Add(9*time.Minute))
	got := gathered(t, q)
	for key, want := range map[string]float64{
		"leadq_queue_pulls_total{claimed}":             2,
		"leadq_queue_pulls_total{empty}":               1,
		"leadq_queue_first_attempts_total{p,true}":     1,
		"leadq_queue_first_attempts_total{p,false}":    1,
		"leadq_queue_speed_to_lead_seconds{p}":         2,
		"leadq_queue_outcomes_total{meeting_booked,p}": 1,
		"leadq_queue_pull_seconds{}":                   3,
	} {
		if got[key] != want {
			t.Errorf("%s = %g, want %g (all: %v)", key, got[key], want, got)
		}
	}
}
