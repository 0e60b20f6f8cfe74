-- POST /v1/queue/next: every pull from a different rep (the rep cap is one
-- open claim), so no request is refused for the cap.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
local body = os.getenv("BENCH_NEXT_BODY") or '{"sdr_id":"rep-%s-%d-%d"}'
local n, tid = 0, 0
function init(args) tid = tonumber(wrk.thread:get("tid")) or 0 end
function request()
  n = n + 1
  return wrk.format(nil, nil, nil, string.format(body, run, tid, n))
end
