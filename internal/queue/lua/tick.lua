-- tick: apply every due event of the pools (crossings, snoozes, leases, SLA
-- deadlines) so pulls stay cheap and breaches surface promptly.
-- KEYS[j] pool j's clock key. ARGV: now, then per pool: profile.
local pools, Ps, i, n = {}, {}, 2, 0
for j = 1, #KEYS do
  Ps[j] = string.sub(KEYS[j], 1, -4)
  pools[j], i = profile(i)
end
local now, nows = clock(Ps, tonumber(ARGV[1]))
for j = 1, #KEYS do n = n + migrate(Ps[j], pools[j], now, nows) end
return n
