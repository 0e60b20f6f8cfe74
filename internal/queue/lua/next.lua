-- next: claim the best eligible lead across the rep's pools.
-- KEYS[1] rep's open claims (claim id -> lease end), KEYS[2] rep's claims today,
-- KEYS[2+j] pool j's clock key (the pool prefix + 'clk').
-- ARGV: now, sdr, random claim part, rep cap, daily cap (0 = none), pool count,
-- how long a rejection lasts (seconds), most rejections kept per pool, then
-- per pool: claim-id token, profile; then, optionally, the prefix and suffix
-- of the lead's data key (Config.LeadData; standalone Redis only).
local sdr, rnd, cap, daily, np = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local rfor, rcap = tonumber(ARGV[7]), tonumber(ARGV[8])
local pools, Ps, i = {}, {}, 9
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
    -- No lead of segment k beats log c(s_k) (p <= 1, a(n) <= 1, c falls
    -- within a segment), and c(s_k) never rises with k: once that bound is
    -- below the best so far, no later segment can win. Each ZRANGE skipped
    -- saves a Redis call; the margin keeps rounding from skipping a tie.
    if blp and O(pf, k) - L(pf, k) * S(pf, k) + 1e-9 < blp then break end
    local id, lp = head(P, pf, k, now)
    if id and (blp == nil or lp > blp) then bj, bk, bid, blp = j, k, id, lp end
  end
end
if bid == nil then return {'empty'} end

-- A lead this rep rejected is not theirs again for Config.RejectFor:
-- P..'rj:'..sdr holds the rep's rejections in the pool (lead id -> when),
-- at most Config.RejectCap of them (claim.lua trims it). Everyone else
-- still gets the exact best; only this rep looks further down.
local rejs = {}
-- rejected is the rep's live rejections in pool j as a Lua set, read once
-- per pull and only when a rejected lead is in the way.
local function rejected(j)
  local s = rejs[j]
  if s then return s end
  s = {}
  local r = redis.call('ZREVRANGEBYSCORE', pools[j].P .. 'rj:' .. sdr, '+inf', '(' .. fmt(now - rfor), 'LIMIT', 0, rcap)
  for _, id in ipairs(r) do s[id] = true end
  rejs[j] = s
  return s
end

-- unrefused walks the pools' segments in merged priority order (each
-- segment is sorted, so a K-way merge of their tops is the exact order),
-- reading each segment further only when its next lead is needed, and
-- returns the first lead this rep did not reject, and how many it passed
-- over. Each lead passed over is a distinct member of a rejection set, so
-- a pull passes over at most RejectCap leads per pool; no segment is read
-- past that many plus one (chunks grow 8, 32, 128, ...).
local function unrefused()
  local lists, left = {}, 1
  for j = 1, np do
    local P, pf = pools[j].P, pools[j].pf
    local rj = rejected(j)
    for _ in pairs(rj) do left = left + 1 end
    for k = 0, pf[1] - 1 do
      lists[#lists + 1] = {j = j, k = k, z = P .. 'z' .. k, off = O(pf, k) - L(pf, k) * now,
        rj = rj, r = {}, n = -1, from = 0, w = 8}
    end
  end
  -- advance moves list x to its next lead (x.id, x.lp; x.id nil at the end).
  local function advance(x)
    x.n = x.n + 2
    if x.n > #x.r then
      if x.from < 0 then x.id = nil; return end
      local w = math.min(x.w, left)
      x.r = redis.call('ZRANGE', x.z, x.from, x.from + w - 1, 'REV', 'WITHSCORES')
      x.n, x.w = 1, x.w * 4
      x.from = (#x.r == 2 * w) and x.from + w or -1
      if #x.r == 0 then x.id = nil; return end
    end
    x.id, x.lp = x.r[x.n], tonumber(x.r[x.n + 1]) + x.off
  end
  for _, x in ipairs(lists) do advance(x) end
  local skipped = 0
  while true do
    local best
    for _, x in ipairs(lists) do
      if x.id and (best == nil or x.lp > best.lp) then best = x end
    end
    if best == nil then return nil, nil, nil, skipped end
    if not best.rj[best.id] then return best.j, best.k, best.id, skipped end
    skipped, left = skipped + 1, left - 1
    advance(best)
  end
end

local skipped = 0
local v = redis.call('HMGET', pools[bj].P .. 'l:' .. bid, 'p', 't', 'a', 'fa', 'br', 'fs', 'ss')
local when = tonumber(redis.call('ZSCORE', pools[bj].P .. 'rj:' .. sdr, bid))
if when and when > now - rfor then
  bj, bk, bid, skipped = unrefused()
  if bid == nil then return {'empty', skipped} end
  v = redis.call('HMGET', pools[bj].P .. 'l:' .. bid, 'p', 't', 'a', 'fa', 'br', 'fs', 'ss')
end

-- The claim id routes (pool token), is unguessable (rnd) and names its lead,
-- which is where it is checked: the lead's 'cl' field.
local pl = pools[bj]
local P, lk = pl.P, pl.P .. 'l:' .. bid
local claim = pl.tok .. '.' .. rnd .. '.' .. bid
local lease = fmt(now + pl.pf[3])
redis.call('ZREM', P .. 'z' .. bk, bid)
redis.call('ZADD', P .. 'due', lease, bid)
-- Speed to lead: the first claim after the latest trigger is its first
-- attempt, timed from the start of the SLA clock (arm: the trigger, or the
-- next calling-hours opening after it).
local sla = tonumber(v[7] or v[2])
local first, fa = 0, v[4]
if fa then
  redis.call('HSET', lk, 'st', 'c', 'cl', claim, 'sdr', sdr, 'lease', lease)
else
  first, fa = 1, nows
  redis.call('HSET', lk, 'st', 'c', 'cl', claim, 'sdr', sdr, 'lease', lease, 'fa', nows)
  -- The SLA deadline is pending only if it has not passed (migrate drops passed ones).
  if sla + pl.pf[5] > now then redis.call('ZREM', P .. 'due', '\1' .. bid) end
end
claimed(P, pl.pf, bid, now, sla, first, v[6]) -- dashboard counters (stats.lua)
redis.call('ZADD', KEYS[1], lease, claim)
if daily > 0 then
  redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], 172800)
end
-- The caller builds the lead's queue view from this answer, without reading it again.
local data = false
if ARGV[i] then data = redis.call('HGETALL', ARGV[i] .. bid .. ARGV[i + 1]) end
return {'ok', bj, bid, claim, lease, bk, nows, v[1], v[2], v[3], v[5] or '', first, fa, data, skipped, v[7] or ''}
