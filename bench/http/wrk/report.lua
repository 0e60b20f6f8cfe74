-- Shared by the wrk scripts of bench/http: the bearer key from BENCH_KEY and
-- a done() that prints one parseable line (latencies in microseconds).
-- wrk counts as errors.status every answer outside 200–399.
local key = os.getenv("BENCH_KEY")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if key and key ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. key
end

-- run tag (unique per wrk invocation) and a per-thread id, for unique bodies
run = os.getenv("BENCH_TAG") or tostring(os.time())
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.0f p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
