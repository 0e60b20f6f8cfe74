-- Shared by every queue script (prepended by queue.go).
--
-- Times are seconds since the configured epoch. Scores and times stored as
-- text are written with %.17g (fmt): Lua's own tostring and '..' keep only 14
-- significant digits, which would blur the exact order. A Lua number passed
-- to redis.call is exact (Redis 7.0 spells it with %.17g, the embedded Redis
-- with Go's shortest round-trip form): rescore.lua passes scores so.
--
-- A pool's keys all start with its prefix P (one hash tag):
--   P..'z'..k  segment k: lead id -> log p + log a(k) + rate_k * t
--   P..'due'   timed events: lead id -> its next crossing, end of snooze or end
--              of lease (its state says which), '\1'..id -> its SLA deadline
--              and '\2'..id -> the end of its nurture
--   P..'clk'   the pool's clock: the latest now seen, so time never runs back
--   P..'exp'   rep id -> leases that expired (counted against the rep)
--   P..'rsn'   reason -> count, and source|reason -> count
--   P..'log'   stream of outcomes (training labels)
--   P..'ev'    stream of events for Kafka (sla_breached)
--   P..'rj:'..sdr a rep's rejections: lead id -> when (claim.lua, next.lua)
--   P..'l:'..id the lead: p t a st seg nb cl sdr lease fa br nu src tzo lo lot rsn rc ss
-- Lead states: q queued, s scheduled (snoozed), c claimed, n nurture,
-- m meeting booked, x closed, e nurture expired.
--
-- A policy (profile) is one msgpack array of doubles, unpacked once per pool
-- per call (parsing it from text cost more than the rest of a pull):
--   [1] K segments  [2] horizon E  [3] lease  [4] nurture  [5] SLA  [6] max attempts
--   [7] calling hours start, [8] end (seconds into the local day), [9] weekday
--   mask (bit 0 = Monday; 0 = no calling hours), [10] the epoch in Unix seconds
--   [11+3k] start s_k  [12+3k] rate l_k  [13+3k] offset o_k = log C_k + l_k*s_k
--   then: n, log a(0..n-1); n, retry spacing 1..n; n, (min p, max attempts) x n

local function fmt(x) return string.format('%.17g', x) end

-- The embedded Redis (miniredis, `make run`) has neither cmsgpack nor the
-- bit library; there these pure-Lua twins decode the one msgpack shape
-- queue.go writes (array 16 of float 64) and test a bit, exactly.
local function unpackflua(s)
  local n, t = string.byte(s, 2) * 256 + string.byte(s, 3), {}
  for j = 0, n - 1 do
    local b1, b2, b3, b4, b5, b6, b7, b8 = string.byte(s, 5 + 9 * j, 12 + 9 * j)
    local sign = 1
    if b1 >= 128 then sign, b1 = -1, b1 - 128 end
    local e = b1 * 16 + math.floor(b2 / 16)
    local m = ((((((b2 % 16) * 256 + b3) * 256 + b4) * 256 + b5) * 256 + b6) * 256 + b7) * 256 + b8
    local v
    if e == 0 then v = math.ldexp(m, -1074)
    elseif e == 2047 then v = (m == 0) and math.huge or 0 / 0
    else v = math.ldexp(m + 4503599627370496, e - 1075) end
    t[j + 1] = sign * v
  end
  return t
end
local unpackf = unpackflua
if rawget(_G, "cmsgpack") then unpackf = cmsgpack.unpack end
local function bitset(mask, i)
  return math.floor(mask / 2 ^ i) % 2 == 1
end

local function profile(i) return unpackf(ARGV[i]), i + 1 end
local function S(pf, k) return pf[11 + 3 * k] end
local function L(pf, k) return pf[12 + 3 * k] end
local function O(pf, k) return pf[13 + 3 * k] end

-- loga is log a(attempts); past the table the last factor applies.
local function loga(pf, a)
  local i = 11 + 3 * pf[1]
  return pf[i + 1 + math.min(a, pf[i] - 1)]
end

-- retry is the wait after the a-th unanswered attempt; past the table the last applies.
local function retry(pf, a)
  local i = 11 + 3 * pf[1]
  i = i + 1 + pf[i]
  return pf[i + math.min(a, pf[i])]
end

-- hours says whether a lead whose local time is UTC+tzo seconds may be called
-- at now. It returns nil and the closing time when open, or the next opening.
local function hours(pf, tzo, now)
  local x = pf[10] + now + tzo -- local Unix seconds
  local day = math.floor(x / 86400)
  for d = 0, 7 do
    -- Unix day 0 was a Thursday: (day + 3) % 7 is 0 on Mondays.
    if bitset(pf[9], (day + d + 3) % 7) then
      local base = (day + d) * 86400 - pf[10] - tzo
      local open, close = base + pf[7], base + pf[8]
      if now < close then
        if now >= open then return nil, close end
        return open
      end
    end
  end
  return now + 86400 -- no open day configured: look again tomorrow
end

-- budget is the attempt budget of a lead with probability p (budgets sorted by min p, highest first).
local function budget(pf, p)
  local i = 11 + 3 * pf[1]
  i = i + 1 + pf[i]
  i = i + 1 + pf[i]
  for k = 0, pf[i] - 1 do
    if p >= pf[i + 1 + 2 * k] then return pf[i + 2 + 2 * k] end
  end
  return pf[6]
end

-- clock advances the pools' clocks to now and returns the latest time any of
-- them has seen, so callers with slightly different clocks never see a lead in
-- a segment it has not reached. SET ... GET makes the usual case one call per
-- pool; a clock that was ahead is put back.
local function clock(Ps, now)
  local nows, latest = fmt(now), now
  for _, P in ipairs(Ps) do
    local c = tonumber(redis.call('SET', P .. 'clk', nows, 'GET') or '0')
    if c > latest then latest = c end
  end
  if latest > now then
    nows = fmt(latest)
    for _, P in ipairs(Ps) do redis.call('SET', P .. 'clk', nows) end
  end
  return latest, nows
end

-- unplace takes a lead out of the segment sets and the due set.
local function unplace(P, id, lk)
  local v = redis.call('HMGET', lk, 'st', 'seg')
  if v[1] == 'q' then redis.call('ZREM', P .. 'z' .. v[2], id) end
  redis.call('ZREM', P .. 'due', id, '\2' .. id)
end

local function nurture(P, pf, id, lk, now)
  setst(P, id, lk, 'n') -- stats.lua
  redis.call('HSET', lk, 'st', 'n', 'nu', fmt(now + pf[4]))
  redis.call('ZREM', P .. 'due', id, '\1' .. id)
  -- The end of nurture is a timed event like the others (migrate expires
  -- it), marked like SLA deadlines so Active does not list nurtured leads.
  redis.call('ZADD', P .. 'due', fmt(now + pf[4]), '\2' .. id)
  return 'n'
end

-- place puts a lead (already unplaced) into the segment its age has reached.
-- The segment test is "t + s_k <= now", the very expression stored as the due
-- time, so a due crossing always lands in a later segment and the migration
-- loop always makes progress.
local function snooze(P, id, lk, nb)
  setst(P, id, lk, 's') -- stats.lua
  redis.call('HSET', lk, 'st', 's', 'nb', fmt(nb))
  redis.call('ZADD', P .. 'due', fmt(nb), id)
  return 's'
end

local function place(P, pf, id, lk, now)
  local v = redis.call('HMGET', lk, 'p', 't', 'a', 'tzo')
  local p, t, a = tonumber(v[1]), tonumber(v[2]), tonumber(v[3])
  if a >= budget(pf, p) or t + pf[2] <= now then return nurture(P, pf, id, lk, now) end
  -- Outside its local calling hours a lead waits, snoozed, for the next opening.
  local close
  if v[4] and pf[9] ~= 0 then
    local open
    open, close = hours(pf, tonumber(v[4]), now)
    if open then return snooze(P, id, lk, open) end
  end
  local K, k = pf[1], 0
  while k + 1 < K and t + S(pf, k + 1) <= now do k = k + 1 end
  redis.call('ZADD', P .. 'z' .. k, fmt(math.log(p) + loga(pf, a) + L(pf, k) * t), id)
  local nxt = pf[2]
  if k + 1 < K then nxt = S(pf, k + 1) end
  nxt = t + nxt
  if close and close < nxt then nxt = close end
  -- migrate relies on every placement moving the lead's due time past now;
  -- fail loudly rather than loop forever inside Redis.
  if nxt <= now then error('queue: placement of ' .. id .. ' would not advance') end
  redis.call('ZADD', P .. 'due', fmt(nxt), id)
  setst(P, id, lk, 'q') -- stats.lua
  redis.call('HSET', lk, 'st', 'q', 'seg', k)
  return 'q'
end

-- breach flags a lead not attempted by its SLA deadline and raises an event.
local function breach(P, pf, id, now, nows)
  local lk = P .. 'l:' .. id
  local v = redis.call('HMGET', lk, 't', 'fa', 'st')
  if v[1] and not v[2] and (v[3] == 'q' or v[3] == 's') then
    redis.call('HSET', lk, 'br', '1')
    perday(P, pf, now, 'br') -- stats.lua
    redis.call('XADD', P .. 'ev', 'MAXLEN', '~', '100000', '*',
      'type', 'sla_breached', 'lead_id', id, 'at', nows, 't', v[1])
  end
end

-- expire ends a nurture that no new trigger interrupted: the lead leaves
-- the queue's care (state e, nurture_expired), counted in the pool's state
-- counts and logged like an outcome. A later trigger still re-heats it.
local function expire(P, id, nows)
  local lk = P .. 'l:' .. id
  if redis.call('HGET', lk, 'st') ~= 'n' then return end -- re-heated or removed since
  setst(P, id, lk, 'e') -- stats.lua
  redis.call('HSET', lk, 'st', 'e')
  redis.call('HDEL', lk, 'nu')
  local r = redis.call('HMGET', lk, 'p', 't', 'a')
  redis.call('XADD', P .. 'log', 'MAXLEN', '~', '1000000', '*', 'lead_id', id, 'outcome', 'nurture_expired',
    'sdr', '', 'at', nows, 'p', r[1], 't', r[2], 'attempts', r[3], 'reason', '', 'note', '')
end

-- migrate applies every timed event due by now: segment crossings, ends of
-- snoozes, expired leases (the lead is recycled and the rep charged) and SLA
-- deadlines. Cost: O(log n) per event, and only for events that are due.
local function migrate(P, pf, now, nows)
  local due, n = P .. 'due', 0
  while true do
    local ids = redis.call('ZRANGEBYSCORE', due, '-inf', nows, 'LIMIT', 0, 256)
    if #ids == 0 then return n end
    for _, id in ipairs(ids) do
      local b = string.byte(id, 1)
      if b == 1 then
        redis.call('ZREM', due, id)
        breach(P, pf, string.sub(id, 2), now, nows)
      elseif b == 2 then
        redis.call('ZREM', due, id)
        expire(P, string.sub(id, 2), nows)
      else
        local lk = P .. 'l:' .. id
        local v = redis.call('HMGET', lk, 'st', 'seg', 'cl', 'sdr')
        if v[1] == 'q' then
          redis.call('ZREM', P .. 'z' .. v[2], id)
          place(P, pf, id, lk, now)
        elseif v[1] == 's' then
          redis.call('HDEL', lk, 'nb')
          place(P, pf, id, lk, now)
        elseif v[1] == 'c' then
          redis.call('HINCRBY', P .. 'exp', v[4], 1)
          redis.call('HINCRBY', lk, 'rc', 1)
          redis.call('HDEL', lk, 'cl', 'sdr', 'lease')
          place(P, pf, id, lk, now)
        else
          redis.call('ZREM', due, id)
        end
      end
      n = n + 1
    end
  end
end

-- arm starts the SLA clock of a lead triggered at t, whose local time is
-- UTC+tzo seconds (nil: unknown). Outside its calling hours the clock starts
-- at the next opening, kept as 'ss' on the lead: a lead nobody may call yet
-- cannot be late. fresh says the lead is new (no old 'ss' to drop). A lead
-- that reaches the queue already past its deadline (an import, a replay) is
-- flagged but raises no event: the breach happened before leadq knew it.
local function arm(P, pf, id, lk, t, now, tzo, fresh)
  local s = t
  if tzo and pf[9] ~= 0 then s = hours(pf, tzo, t) or t end
  if s ~= t then
    redis.call('HSET', lk, 'ss', fmt(s))
  elseif not fresh then
    redis.call('HDEL', lk, 'ss')
  end
  redis.call('ZADD', P .. 'un', fmt(s), id) -- untouched since its SLA clock started (stats.lua)
  if s + pf[5] > now then
    redis.call('ZADD', P .. 'due', fmt(s + pf[5]), '\1' .. id)
  else
    redis.call('HSET', lk, 'br', '1')
  end
end

-- head returns the best lead of segment k and its log priority at now, or nil.
local function head(P, pf, k, now)
  local r = redis.call('ZRANGE', P .. 'z' .. k, 0, 0, 'REV', 'WITHSCORES')
  if #r == 0 then return nil end
  return r[1], tonumber(r[2]) + O(pf, k) - L(pf, k) * now
end

-- reheats says whether a trigger at t re-heats a lead in state st whose
-- stored trigger is ot: a later trigger does, and so does, while ot is a
-- scheduled callback's agreed (future) time, a trigger after the callback
-- was requested (lot() reads that time: rescore.lua's fast path reads it only
-- then). A meeting or a closed lead stays so (only its score is kept current).
local function reheats(t, ot, st, now, lot)
  if st == 'm' or st == 'x' then return false end
  if t > ot then return true end
  return ot > now and t > (tonumber(lot()) or math.huge)
end

-- upsert places a new lead or re-places a known one: Upsert's semantics,
-- shared by upsert.lua and rescore.lua's fallback. p, a, nb, src and tzo are
-- the caller's strings ('' = none for nb, src and tzo); t is a number.
local function upsert(P, pf, now, id, p, t, a, nb, src, tzo)
  local lk = P .. 'l:' .. id
  local v = redis.call('HMGET', lk, 'st', 't', 'nu', 'lot', 'tzo')
  local st = v[1]
  if not st then
    redis.call('HSET', lk, 'p', p, 't', fmt(t), 'a', a)
    if src ~= '' then redis.call('HSET', lk, 'src', src) end
    if tzo ~= '' then redis.call('HSET', lk, 'tzo', tzo) end
    entered(P, lk, src) -- stats.lua
    arm(P, pf, id, lk, t, now, tonumber(tzo), true)
    if nb ~= '' and tonumber(nb) > now then
      return snooze(P, id, lk, tonumber(nb)), lk
    end
    return place(P, pf, id, lk, now), lk
  end
  -- A re-heat: fresh cadence, fresh SLA clock, back into the window even
  -- from snooze or nurture. Triggers never move backwards.
  local reheat = reheats(t, tonumber(v[2]), st, now, function() return v[4] end)
  redis.call('HSET', lk, 'p', p)
  if src ~= '' then redis.call('HSET', lk, 'src', src) end
  if tzo ~= '' then redis.call('HSET', lk, 'tzo', tzo) end
  if reheat then
    redis.call('HSET', lk, 't', fmt(t), 'a', '0')
    redis.call('HDEL', lk, 'fa', 'br')
    arm(P, pf, id, lk, t, now, tonumber(tzo ~= '' and tzo or v[5]), false)
  end
  if st == 'q' or (reheat and (st == 's' or st == 'n' or st == 'e')) then
    unplace(P, id, lk)
    redis.call('HDEL', lk, 'nb', 'nu')
    st = place(P, pf, id, lk, now)
  end
  -- A lead nurtured before nurtures had an end event has none in the due
  -- set and would stay nurtured for good: give it its end now (NX: a lead
  -- that has one keeps it); migrate expires it when due, at once if past.
  if st == 'n' and v[3] then redis.call('ZADD', P .. 'due', 'NX', v[3], '\2' .. id) end
  -- A claimed lead is placed by its claim's outcome.
  return st, lk
end
