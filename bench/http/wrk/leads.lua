-- POST /v1/leads: every request is a different lead (unique email from the
-- run tag, the thread and a per-thread counter), otherwise the score body.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
local tmpl = '{"email":"lead-%s-%d-%d@bench-example.com","first_name":"Jane","last_name":"Doe",' ..
  '"phone":"+1 415 555 0134","company":"Acme Robotics","title":"VP of Engineering","industry":"manufacturing",' ..
  '"company_size":"201-500","country":"US","region":"na","language":"en","source":"webinar",' ..
  '"utm_source":"google","utm_medium":"cpc","utm_campaign":"q3-launch","budget":"approved",' ..
  '"authority":"decision_maker","need":"urgent","timeline":"this_quarter","consent":true}'
local n, tid = 0, 0
function init(args) tid = tonumber(wrk.thread:get("tid")) or 0 end
function request()
  n = n + 1
  return wrk.format(nil, nil, nil, string.format(tmpl, run, tid, n))
end
