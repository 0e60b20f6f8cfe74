package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/queue"
	"github.com/leadq/leadq/model"
)

// fixedStats is a StatsReader with set figures: the page's smoke test needs
// a real /v1/stats body, not a real queue (TestStatsAfterScriptedDay has that).
type fixedStats []queue.PoolStats

func (f fixedStats) Stats(context.Context, []string, time.Time) ([]queue.PoolStats, error) {
	return f, nil
}
func (fixedStats) Config() queue.Config { return queue.DefaultConfig() }

// domShim is just enough of a browser for dashboard.html's script: elements
// that keep children and text, localStorage, and a fetch answering with the
// body and status the test gives. It prints what the page shows.
const domShim = `
const vm = require("vm"), fs = require("fs");
const [script, status, body] = [fs.readFileSync(process.argv[2], "utf8"), +process.argv[3], fs.readFileSync(process.argv[4], "utf8")];
class El {
  constructor(tag) { this.tag = tag; this.kids = []; this.attrs = {}; this.style = {}; this.className = ""; this.value = ""; this.on = {}; }
  append(...k) { for (const c of k) this.kids.push(c instanceof El ? c : { text: String(c) }); }
  replaceChildren(...k) { this.kids = []; this.append(...k); }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  addEventListener(t, f) { this.on[t] = f; }
  set textContent(v) { this.kids = [{ text: String(v) }]; }
  get textContent() { return this.kids.map(c => c instanceof El ? c.textContent : c.text).join(" "); }
}
const byId = {}, stored = { "leadq.apiKey": "k" };
globalThis.Node = El;
globalThis.document = {
  hidden: false, addEventListener() {},
  createElement: t => new El(t), createElementNS: (_, t) => new El(t),
  getElementById: id => byId[id] || (byId[id] = new El("div")),
};
globalThis.localStorage = { getItem: k => stored[k] ?? null, setItem: (k, v) => { stored[k] = v; }, removeItem: k => { delete stored[k]; } };
let asked = null;
globalThis.fetch = async (url, opt) => {
  asked = { url, auth: opt.headers.Authorization };
  return { status, ok: status < 300, statusText: "x", json: async () => JSON.parse(body) };
};
const wait = setTimeout;
globalThis.setTimeout = () => 0;
vm.runInThisContext(script);
wait(() => {
  const out = { asked, status: byId.status.textContent, statusClass: byId.status.className };
  for (const id of ["kpis", "hist", "pools", "funnel", "model"]) out[id] = byId[id] ? byId[id].textContent : "";
  console.log(JSON.stringify(out));
}, 100);
`

// TestDashboardRendersStats runs the page's script under Node (skipped when
// node is not installed) against a real /v1/stats body and a refused key.
func TestDashboardRendersStats(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the page's script is not run")
	}
	day := queue.Speed{FirstAttempts: 4, WithinSLA: 3, Breaches: 1}.Add(queue.Speed{})
	day.Buckets[1].Count, day.Buckets[4].Count, day.Buckets[7].Count = 2, 1, 1
	now := statsT0
	s := statsServer(t, fixedStats{{
		Pool: "emea", Queued: 7, Claimed: 2, Untouched: 3, UntouchedPastSLA: 1, OldestUntouchedAt: now.Add(-9 * time.Minute),
		Today: day, Week: day, Funnel: map[string]queue.Funnel{"<b>web</b>": {Entered: 10, Attempted: 8, Connected: 4, Meetings: 2}},
		Reasons: map[string]map[string]int64{"<b>web</b>": {"no_budget": 3}},
	}}, model.NewLive(features.DefaultSpec()), &now)
	resp, err := s.App().Test(withKey(httptest.NewRequest("GET", "/v1/stats", nil), "dialer-secret"), -1)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	page, err := os.ReadFile("dashboard.html")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)<script>(.*)</script>`).FindSubmatch(page)
	if m == nil {
		t.Fatal("no inline script in dashboard.html")
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	shim, script, stats := write("shim.js", []byte(domShim)), write("page.js", m[1]), write("stats.json", body)
	run := func(status string, jsonBody string) map[string]any {
		t.Helper()
		out, err := exec.CommandContext(t.Context(), node, shim, script, status, jsonBody).CombinedOutput()
		if err != nil {
			t.Fatalf("node: %v\n%s", err, out)
		}
		var shown map[string]any
		if err := json.Unmarshal(out, &shown); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return shown
	}

	shown := run("200", stats)
	t.Logf("page shows %v", shown)
	if a, _ := shown["asked"].(map[string]any); a["url"] != "/v1/stats" || a["auth"] != "Bearer k" {
		t.Errorf("fetched %v, want /v1/stats with the stored key", shown["asked"])
	}
	for id, want := range map[string][]string{
		"status": {"live"},
		"kpis":   {"waiting past SLA", "9 min 00 s", "75%"},
		"hist":   {"4 first calls", "75% within SLA"},
		"pools":  {"emea", "7"},
		"funnel": {"<b>web</b>", "no_budget 3", "20%"},
		"model":  {"prior"},
	} {
		if got, _ := shown[id].(string); !containsAll(got, want) {
			t.Errorf("%s shows %q, want %q", id, got, want)
		}
	}
	shown = run("401", write("problem.json", []byte(`{"detail":"unknown API key"}`)))
	if shown["statusClass"] != "err" || !strings.Contains(shown["status"].(string), "unknown API key") {
		t.Errorf("a refused key shows %v", shown)
	}
}

func withKey(r *http.Request, key string) *http.Request {
	r.Header.Set("Authorization", "Bearer "+key)
	return r
}

func containsAll(s string, subs []string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
