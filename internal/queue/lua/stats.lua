-- Dashboard counters, prepended to every queue script before common.lua
-- (queue.go), so the scripts keep them in the same atomic step as the state
-- they count. Stats (stats.go) reads them with O(1) commands per pool; none
-- needs a scan of the leads. Keys, under the pool's hash tag P:
--   P..'n'       state -> leads in that state (s c n m x; queued leads are
--                counted by the segment sets' ZCARD, so no call is spent on them)
--   P..'un'      untouched leads: id -> latest trigger, from the trigger to
--                the first claim after it (or nurture, close, removal)
--   P..'d:'..day per UTC day (days since 1970): 'h'..b first attempts whose
--                trigger-to-claim time was <= b seconds (b = 'inf' past the
--                last bound), 'fs' first attempts within the SLA, 'br' SLA
--                breaches raised; expires after 40 days
--   P..'fn'      funnel: stage..'|'..source -> leads that reached the stage
--                (0 entered, 1 attempted, 2 connected, 3 meeting booked); a
--                lead's source is frozen when it enters ('fs' on the lead),
--                its highest stage is 'fn' on the lead, so each lead counts
--                once per stage

-- Only leads carrying the marker 'fs' (set when a lead enters, below) are
-- in the state counts: a lead already scheduled, claimed or nurtured when
-- the counters shipped was never counted, so leaving that state must not
-- uncount it, or the counts drift below the truth for good. The sets 'un'
-- and the segment sets need no marker: they hold the leads themselves.

-- setst counts a lead's move to state s; the caller writes 'st' itself.
-- A lead leaving the active states is no longer waiting untouched.
local function setst(P, id, lk, s)
  local v = redis.call('HMGET', lk, 'st', 'fs')
  local old = v[1]
  if s ~= 'q' and s ~= 's' then redis.call('ZREM', P .. 'un', id) end
  if old == s then return end
  if not v[2] then return end
  if old and old ~= 'q' then redis.call('HINCRBY', P .. 'n', old, -1) end
  if s ~= 'q' then redis.call('HINCRBY', P .. 'n', s, 1) end
end

-- perday adds one to a field of the pool's counters for the UTC day of now
-- (pf[10] is the epoch in Unix seconds). The first write of a field sets the
-- expiry, so the keys of old days go without a sweeper.
local function perday(P, pf, now, field)
  local k = P .. 'd:' .. string.format('%d', math.floor((pf[10] + now) / 86400))
  if redis.call('HINCRBY', k, field, 1) == 1 then redis.call('EXPIRE', k, 3456000) end
end

-- Bounds of the speed-to-lead histogram, seconds: SpeedBounds in stats.go
-- (TestSpeedBoundsMatchLua keeps them equal).
local speedb = {30, 60, 120, 180, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200}

-- claimed counts a claim of a queued lead (next.lua); first says it is the
-- first since the lead's trigger, whose SLA clock started at t (arm): the
-- speed-to-lead moment; marked that
-- the lead carries 'fs' (is in the state counts). Speed to lead counts every
-- first attempt: it is a count of events, never taken back.
local function claimed(P, pf, id, now, t, first, marked)
  if marked then redis.call('HINCRBY', P .. 'n', 'c', 1) end
  if first ~= 1 then return end
  redis.call('ZREM', P .. 'un', id)
  local age, b = now - t, 'inf'
  for _, x in ipairs(speedb) do
    if age <= x then b = x; break end
  end
  perday(P, pf, now, 'h' .. b)
  if age < pf[5] then perday(P, pf, now, 'fs') end -- a deadline at now has passed (migrate)
end

-- entered counts a new lead in the funnel under its source ('' if none yet).
local function entered(P, lk, src)
  redis.call('HSET', lk, 'fs', src)
  redis.call('HINCRBY', P .. 'fn', '0|' .. src, 1)
end

-- Funnel stage an outcome shows the lead reached: a rep who declined the
-- lead at once did not attempt it; a conversation is a connection.
local stages = {rejected = 0, connected_not_interested = 2, callback_requested = 2, meeting_booked = 3}

-- advanced counts the funnel stages a lead reaches with outcome o. Leads
-- that entered before the counters existed have no 'fs' and are left out,
-- so every stage counts the same leads.
local function advanced(P, lk, o)
  local v = redis.call('HMGET', lk, 'fs', 'fn')
  if not v[1] then return end
  local from, to = tonumber(v[2]) or 0, stages[o] or 1
  if to <= from then return end
  for s = from + 1, to do redis.call('HINCRBY', P .. 'fn', s .. '|' .. v[1], 1) end
  redis.call('HSET', lk, 'fn', to)
end

-- removed uncounts a lead taken out of the pool (Queue.Remove: the lead
-- moves to another pool, where it enters afresh): from the state counts and
-- from every funnel stage it reached here, so a lead that moves is counted
-- once in the funnel totals, in its current pool, with the stages it
-- reaches there. Its closed-loop reasons ('rsn') stay: they count outcomes.
local function removed(P, id, lk)
  redis.call('ZREM', P .. 'un', id)
  local v = redis.call('HMGET', lk, 'st', 'fs', 'fn')
  if not v[2] then return end
  if v[1] ~= 'q' then redis.call('HINCRBY', P .. 'n', v[1], -1) end
  for s = 0, tonumber(v[3]) or 0 do redis.call('HINCRBY', P .. 'fn', s .. '|' .. v[2], -1) end
end
