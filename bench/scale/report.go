package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

func (b *bench) add(measure, value, load, bar string) {
	b.table = append(b.table, line{measure, value, load, bar})
}

func (b *bench) print() {
	info := redisInfo(context.Background(), b.rdb, "server")
	fmt.Printf("Scale bars (DESIGN.md), real Redis %s, %d cores (%s), %s, %s training rows, %s leads; took %.0f s\n\nuptime at the start: %s\n\n",
		info["redis_version"], runtime.NumCPU(), cpuModel(), runtime.Version(), num(b.rows), num(b.leads), time.Since(b.start).Seconds(), b.up0)
	fmt.Println("| measure | value | load avg 1/5/15 at start | bar |")
	fmt.Println("|---|---|---|---|")
	for _, l := range b.table {
		fmt.Printf("| %s | %s | %s | %s |\n", l.measure, l.value, l.load, l.bar)
	}
	fmt.Printf("\nuptime at the end: %s\n", uptime())
	for _, n := range b.notes {
		fmt.Printf("\n- %s", n)
	}
	if len(b.notes) > 0 {
		fmt.Println()
	}
}

func redisInfo(ctx context.Context, rdb *redis.Client, section string) map[string]string {
	out := map[string]string{}
	s, err := rdb.Info(ctx, section).Result()
	if err != nil {
		return out
	}
	for _, l := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), ":"); ok {
			out[k] = v
		}
	}
	return out
}

// cmdDelta returns the calls and microseconds a command gained between two
// INFO commandstats readings.
func cmdDelta(a, b map[string]string, cmd string) (calls, usec int64) {
	parse := func(m map[string]string) (int64, int64) {
		var c, u int64
		for _, kv := range strings.Split(m["cmdstat_"+cmd], ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "calls":
				c, _ = strconv.ParseInt(v, 10, 64)
			case "usec":
				u, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		return c, u
	}
	c0, u0 := parse(a)
	c1, u1 := parse(b)
	return c1 - c0, u1 - u0
}

// rusage is the process's user+sys CPU seconds so far.
func rusage() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func uptime() string {
	b, err := os.ReadFile("/proc/uptime")
	up := "?"
	if err == nil {
		if s, err := strconv.ParseFloat(strings.Fields(string(b))[0], 64); err == nil {
			up = (time.Duration(s) * time.Second).String()
		}
	}
	return "up " + up + ", load average: " + loadavg()
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s scale: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func atof(s string) float64 { f, _ := strconv.ParseFloat(s, 64); return f }

// num formats n with thousands separators.
func num(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + num(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**NOT met**"
}
