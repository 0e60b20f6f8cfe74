// Command openloop is bench/http/run.sh's load generator for POST
// /v1/queue/next (wrk2 is not in Debian).
//
// Open loop (-mode open): requests leave on a fixed schedule, -rate per
// second, whatever the answers do; each latency is measured from the
// request's scheduled time, not from when it was sent, so a stall counts
// against every request it delays (no coordinated omission).
//
// Closed loop (-mode closed): -conns workers each send the next request as
// soon as the previous answer arrives, until -n requests or -duration.
//
// "{n}" in -body becomes a number unique to the request and "{run}" the -tag,
// so every pull can come from a different rep. Every 200 answer's lead id
// (the part of claim_id after its second dot) is checked against all others:
// the same lead handed out twice is reported as dups. -ids appends the ids to
// a file so run.sh can check across runs.
//
// It prints one line: RESULT key=value ...
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type stats struct {
	mu       sync.Mutex
	lat      []time.Duration
	lag      []time.Duration // open loop: how late each request left against its schedule
	svc      []time.Duration // open loop: latency from when the request actually left
	codes    map[int]int
	errs     int
	seen     map[string]struct{}
	dups     int
	noid     int // 200 answers without a parseable claim id: the duplicate check could not see them
	idsOut   *bufio.Writer
	firstErr string
}

func (s *stats) record(code int, lat, lag time.Duration, lead string, err error, keep bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if keep && err == nil {
		s.lag = append(s.lag, lag)
		s.svc = append(s.svc, lat-lag)
	}
	if err != nil {
		s.errs++
		if s.firstErr == "" {
			s.firstErr = err.Error()
		}
		return
	}
	s.codes[code]++
	if keep {
		s.lat = append(s.lat, lat)
	}
	if code == http.StatusOK && lead == "" {
		s.noid++
	}
	if lead != "" {
		if _, ok := s.seen[lead]; ok {
			s.dups++
		} else {
			s.seen[lead] = struct{}{}
		}
		if s.idsOut != nil {
			s.idsOut.WriteString(lead)
			s.idsOut.WriteByte('\n')
		}
	}
}

var claimKey = []byte(`"claim_id":"`)

// leadOf returns the lead id of a claim answer: claim ids are
// "<pool token>.<random>.<lead id>".
func leadOf(body []byte) string {
	i := bytes.Index(body, claimKey)
	if i < 0 {
		return ""
	}
	rest := body[i+len(claimKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	_, after, ok := strings.Cut(string(rest[:j]), ".")
	if !ok {
		return ""
	}
	_, lead, ok := strings.Cut(after, ".")
	if !ok {
		return ""
	}
	return lead
}

func main() {
	url := flag.String("url", "", "URL to POST to")
	key := flag.String("key", "", "bearer API key")
	body := flag.String("body", `{"sdr_id":"rep-{run}-{n}"}`, `request body; {n} is unique per request, {run} is -tag`)
	tag := flag.String("tag", strconv.FormatInt(time.Now().UnixNano(), 36), "run tag for {run}")
	mode := flag.String("mode", "open", "open (fixed schedule) or closed (back-to-back per connection)")
	rate := flag.Float64("rate", 1000, "open loop: requests per second")
	dur := flag.Duration("duration", 10*time.Second, "measured duration")
	warm := flag.Duration("warmup", 2*time.Second, "open loop: unmeasured lead-in at the same rate")
	conns := flag.Int("conns", 16, "closed loop: connections")
	n := flag.Int("n", 0, "closed loop: stop after this many requests (0: run for -duration)")
	ids := flag.String("ids", "", "append every claimed lead id to this file")
	timeout := flag.Duration("timeout", 5*time.Second, "per-request timeout")
	flag.Parse()
	if *url == "" {
		log.Fatal("openloop: -url is required")
	}

	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: *timeout}
	st := &stats{codes: map[int]int{}, seen: map[string]struct{}{}}
	if *ids != "" {
		f, err := os.OpenFile(*ids, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			log.Fatalf("openloop: %v", err)
		}
		defer f.Close()
		st.idsOut = bufio.NewWriter(f)
		defer st.idsOut.Flush()
	}
	head, tail, hasN := strings.Cut(strings.ReplaceAll(*body, "{run}", *tag), "{n}")
	var counter atomic.Int64
	do := func(ctx context.Context) (int, string, error) {
		b := head
		if hasN {
			b = head + strconv.FormatInt(counter.Add(1), 10) + tail
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, *url, strings.NewReader(b))
		if err != nil {
			return 0, "", err
		}
		req.Header.Set("Content-Type", "application/json")
		if *key != "" {
			req.Header.Set("Authorization", "Bearer "+*key)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		rb, err := io.ReadAll(resp.Body)
		if err != nil {
			return 0, "", err
		}
		lead := ""
		if resp.StatusCode == http.StatusOK {
			lead = leadOf(rb)
		}
		return resp.StatusCode, lead, nil
	}
	ctx := context.Background()

	var elapsed time.Duration
	switch *mode {
	case "open":
		interval := time.Duration(float64(time.Second) / *rate)
		total := int((*warm + *dur).Seconds() * *rate)
		warmN := int(warm.Seconds() * *rate)
		var wg sync.WaitGroup
		start := time.Now().Add(10 * time.Millisecond)
		var late time.Duration // how far the scheduler itself fell behind, worst case
		for i := 0; i < total; i++ {
			at := start.Add(time.Duration(i) * interval)
			if d := time.Until(at); d > 0 {
				time.Sleep(d)
			} else if -d > late {
				late = -d
			}
			wg.Add(1)
			go func(at time.Time, keep bool) {
				defer wg.Done()
				lag := time.Since(at)
				code, lead, err := do(ctx)
				st.record(code, time.Since(at), lag, lead, err, keep)
			}(at, i >= warmN)
		}
		wg.Wait()
		elapsed = *dur
		if late > time.Millisecond {
			fmt.Fprintf(os.Stderr, "openloop: the scheduler fell up to %s behind (counted in the latencies)\n", late.Round(time.Microsecond))
		}
	case "closed":
		var wg sync.WaitGroup
		var sent atomic.Int64
		start := time.Now()
		deadline := start.Add(*dur)
		for c := 0; c < *conns; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					if *n > 0 && sent.Add(1) > int64(*n) {
						return
					}
					if *n == 0 && time.Now().After(deadline) {
						return
					}
					t := time.Now()
					code, lead, err := do(ctx)
					st.record(code, time.Since(t), 0, lead, err, true)
				}
			}()
		}
		wg.Wait()
		elapsed = time.Since(start)
	default:
		log.Fatalf("openloop: -mode %q: want open or closed", *mode)
	}

	lat := st.lat
	slices.Sort(lat)
	slices.Sort(st.lag)
	slices.Sort(st.svc)
	pctOf := func(d []time.Duration, p float64) int64 {
		if len(d) == 0 {
			return 0
		}
		return d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()
	}
	pct := func(p float64) int64 { return pctOf(lat, p) }
	var other []string
	ok := st.codes[200] + st.codes[201]
	for code, c := range st.codes {
		if code != 200 && code != 201 {
			other = append(other, fmt.Sprintf("%d:%d", code, c))
		}
	}
	if st.noid > 0 { // counted as "other" so that every verdict requiring other=- fails
		other = append(other, fmt.Sprintf("200-without-claim-id:%d", st.noid))
	}
	slices.Sort(other)
	otherS := strings.Join(other, ",")
	if otherS == "" {
		otherS = "-"
	}
	// lag: the generator's own lateness in sending (included in the
	// latencies); sent: latency from when the request actually left. A large
	// lag means the machine, not the server, was slow.
	fmt.Printf("RESULT mode=%s measured=%d ok=%d other=%s errors=%d rps=%.0f p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d lag_p50_us=%d lag_p99_us=%d sent_p50_us=%d sent_p99_us=%d distinct=%d dups=%d\n",
		*mode, len(lat), ok, otherS, st.errs, float64(len(lat))/elapsed.Seconds(),
		pct(0.50), pct(0.90), pct(0.99), pct(0.999), pct(1), pctOf(st.lag, 0.50), pctOf(st.lag, 0.99), pctOf(st.svc, 0.50), pctOf(st.svc, 0.99), len(st.seen), st.dups)
	if st.firstErr != "" {
		fmt.Fprintln(os.Stderr, "openloop: first error:", st.firstErr)
	}
}
