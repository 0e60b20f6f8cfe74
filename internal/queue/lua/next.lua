-- next: claim the best eligible lead across the rep's pools.
-- KEYS[1] rep's open claims (claim id -> lease end), KEYS[2] rep's claims today,
-- KEYS[2+j] pool j's clock key (the pool prefix + 'clk').
-- ARGV: now, sdr, random claim part, rep cap, daily cap (0 = none), pool count,
-- then per pool: claim-id token, profile.
local sdr, rnd, cap, daily, np = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local pools, Ps, i = {}, {}, 7
for j = 1, np do
  local P = string.sub(KEYS[2 + j], 1, -4)
  local tok = ARGV[i]
  local pf
  pf, i = profile(i + 1)
  pools[j], Ps[j] = {P = P, tok = tok, pf = pf}, P
end
local now, nows = clock(Ps, tonumber(ARGV[1]))

-- Leases that ended no longer count (their leads are recycled by migrate;
-- the ledger drops them when the rep next resolves a claim).
if redis.call('ZCOUNT', KEYS[1], '(' .. nows, '+inf') >= cap then return {'cap'} end
if daily > 0 and tonumber(redis.call('GET', KEYS[2]) or '0') >= daily then return {'daily'} end

local bj, bk, bid, blp
for j = 1, np do
  local P, pf = pools[j].P, pools[j].pf
  migrate(P, pf, now, nows)
  for k = 0, pf[1] - 1 do
    local id, lp = head(P, pf, k, now)
    if id and (blp == nil or lp > blp) then bj, bk, bid, blp = j, k, id, lp end
  end
end
if bid == nil then return {'empty'} end

-- The claim id routes (pool token), is unguessable (rnd) and names its lead,
-- which is where it is checked: the lead's 'cl' field.
local pl = pools[bj]
local P, lk = pl.P, pl.P .. 'l:' .. bid
local claim = pl.tok .. '.' .. rnd .. '.' .. bid
local lease = fmt(now + pl.pf[3])
redis.call('ZREM', P .. 'z' .. bk, bid)
redis.call('ZADD', P .. 'due', lease, bid)
local v = redis.call('HMGET', lk, 'p', 't', 'a', 'fa', 'br')
-- Speed to lead: the first claim after the latest trigger is its first attempt.
local first = 0
if v[4] then
  redis.call('HSET', lk, 'st', 'c', 'cl', claim, 'sdr', sdr, 'lease', lease)
else
  first = 1
  redis.call('HSET', lk, 'st', 'c', 'cl', claim, 'sdr', sdr, 'lease', lease, 'fa', nows)
  -- The SLA deadline is pending only if it has not passed (migrate drops passed ones).
  if tonumber(v[2]) + pl.pf[5] > now then redis.call('ZREM', P .. 'due', '\1' .. bid) end
end
redis.call('ZADD', KEYS[1], lease, claim)
if daily > 0 then
  redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], 172800)
end
return {'ok', bj, bid, claim, lease, bk, nows, v[1], v[2], v[3], v[5] or '', first}
