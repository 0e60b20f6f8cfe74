package features

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// genForm returns the two direct events a web form makes of a brand-new
// lead (see api.LeadForm.events): lead_created with random firmographics and
// form_submitted, both at now.
func genForm(r *rand.Rand, lead string, now time.Time) []Applied {
	pick := func(vs ...string) string { return vs[r.IntN(len(vs))] }
	p := Props{
		Company:     pick("Acme", "Globex", "Initech", `Q"uote\d Ltd`, "Ünïcødé GmbH"),
		Title:       pick("", "VP Sales", "Director of IT", "Engineer", "Chief Executive Officer"),
		Industry:    pick("", "Software", "banking", "Retail", "Underwater Basket Weaving"),
		CompanySize: pick("", "51-200", "5001+", "11-50"),
		Country:     pick("", "US", "de", "United Kingdom", "XX"),
		Region:      pick("", "na", "EMEA"),
		Timezone:    pick("", "Europe/Berlin", "America/New_York"),
		Language:    pick("", "en-US", "de", "fr_FR", "tlh"),
		Source:      pick("", "website", "Referral", "cpc", "purchased list"),
		UTMSource:   pick("", "google", "newsletter"),
		UTMMedium:   pick("", "cpc", "email"),
		UTMCampaign: pick("", "q3-launch", "Spring Sale"),
		Budget:      pick("", "yes", "planned", "no"),
		Authority:   pick("", "decision_maker", "influencer"),
		Need:        pick("", "urgent", "low"),
		Timeline:    pick("", "now", "this quarter", "next year"),
		Consent:     pick("", "yes", "no"),
	}
	req := fmt.Sprintf("form-%016x", r.Uint64())
	return []Applied{
		{Event: Event{EventID: req + "-lead_created", LeadID: lead, Type: LeadCreated, TS: now, Props: p}, Partition: -1, Direct: true},
		{Event: Event{EventID: req + "-form_submitted", LeadID: lead, Type: FormSubmitted, TS: now}, Partition: -1, Direct: true},
	}
}

// redisCost reads Redis's per-command CPU counters (INFO commandstats): the
// server time the benchmarks report, which is what limits a form's
// throughput (the counters are server-wide: measure on a quiet server).
func redisCost(ctx context.Context, rdb redis.UniversalClient) (map[string]float64, error) {
	info, err := rdb.Info(ctx, "commandstats", "cpu").Result()
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for line := range strings.Lines(info) {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if name == "used_cpu_user" || name == "used_cpu_sys" {
			v, _ := strconv.ParseFloat(rest, 64)
			out[cpuKey] += v * 1e6
			continue
		}
		name, isCmd := strings.CutPrefix(name, "cmdstat_")
		if !ok || !isCmd {
			continue
		}
		for kv := range strings.SplitSeq(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "usec="); ok {
				out[name], _ = strconv.ParseFloat(v, 64)
			}
		}
	}
	return out, nil
}

// cpuKey holds the server's whole CPU time (INFO cpu, user and system, all
// threads) among the commands' times.
const cpuKey = " cpu"

// reportRedisCost reports the server's CPU µs per op since before (all of
// it: commands, networking, a script's set-up) and the commands' own time
// per op. The commands' times overlap: EXEC's and EVALSHA's include the
// commands they ran.
func reportRedisCost(b *testing.B, rdb redis.UniversalClient, before map[string]float64, ops int) {
	b.Helper()
	after, err := redisCost(context.Background(), rdb)
	if err != nil {
		b.Fatal(err)
	}
	for name, us := range after {
		if name == "info" || name == cpuKey {
			continue
		}
		if d := (us - before[name]) / float64(ops); d >= 0.5 {
			b.ReportMetric(d, "µs-"+name+"/op")
		}
	}
	b.ReportMetric((after[cpuKey]-before[cpuKey])/float64(ops), "redis-cpu-µs/op")
}
