-- claim: extend, release or resolve a claim with an outcome.
-- KEYS[1] the rep's open claims, KEYS[2] the pool's clock key.
-- ARGV: op (extend|release|outcome), now, claim id, sdr, lead id (from the
-- claim id), outcome, callback time ('' = none), reason, note, profile, how
-- long a rejection lasts (seconds), most rejections kept per rep and pool.
-- A claim is valid only while its lease runs: migrate recycles expired ones
-- first, so a late or foreign claim id changes nothing.
local P = string.sub(KEYS[2], 1, -4)
local op, claim, sdr, want = ARGV[1], ARGV[3], ARGV[4], ARGV[5]
local o, cb, reason, note = ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local pf = profile(10)
local rfor, rcap = tonumber(ARGV[11]), tonumber(ARGV[12])
local now, nows = clock({P}, tonumber(ARGV[2]))
migrate(P, pf, now, nows)
-- Drop the rep's expired leases from the ledger (Next only counts live ones).
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', nows)

local id = want
local lk = P .. 'l:' .. id
local v = redis.call('HMGET', lk, 'st', 'cl', 'sdr')
if v[1] ~= 'c' or v[2] ~= claim or v[3] ~= sdr then return {'stale'} end

if op == 'extend' then
  local lease = fmt(now + pf[3])
  redis.call('HSET', lk, 'lease', lease)
  redis.call('ZADD', P .. 'due', lease, id)
  redis.call('ZADD', KEYS[1], lease, claim)
  return {'ok', id, 'c', lease, '0'}
end

-- release and outcome both end the claim.
redis.call('ZREM', KEYS[1], claim)
redis.call('HDEL', lk, 'cl', 'sdr', 'lease')
redis.call('ZREM', P .. 'due', id)

if op == 'release' then
  local st = place(P, pf, id, lk, now)
  return {'ok', id, st, '', redis.call('HGET', lk, 'a')}
end

local r = redis.call('HMGET', lk, 'p', 't', 'a', 'src', 'fa')
local p, a = tonumber(r[1]), tonumber(r[3])
-- Re-triggered while claimed ('fa' cleared by upsert): a reported call is the
-- first attempt since that trigger; its SLA deadline and 'un' entry go.
if not r[5] and o ~= 'rejected' then
  redis.call('HSET', lk, 'fa', nows)
  redis.call('ZREM', P .. 'due', '\1' .. id)
  redis.call('ZREM', P .. 'un', id)
end
local st, nb = '', ''
local function close(s)
  setst(P, id, lk, s) -- stats.lua
  redis.call('HSET', lk, 'st', s)
  redis.call('ZREM', P .. 'due', '\1' .. id)
  return s
end
if o == 'no_answer' or o == 'voicemail' or o == 'busy' then
  a = a + 1
  redis.call('HSET', lk, 'a', a)
  if a >= budget(pf, p) then
    st = nurture(P, pf, id, lk, now)
  else
    nb = now + retry(pf, a)
    st = snooze(P, id, lk, nb)
    nb = fmt(nb)
  end
elseif o == 'bad_number' or o == 'disqualified' then
  if o == 'bad_number' then a = a + 1; redis.call('HSET', lk, 'a', a) end
  st = close('x')
elseif o == 'meeting_booked' then
  st = close('m')
elseif o == 'connected_not_interested' then
  st = nurture(P, pf, id, lk, now)
elseif o == 'callback_requested' then
  -- A requested callback is a high-intent trigger at the agreed time: the
  -- lead wakes then at age 0, with a fresh cadence and SLA clock.
  local at = tonumber(cb) or now + retry(pf, 1) -- no time given: the first retry spacing
  if at < now then at = now end
  a = 0
  redis.call('HSET', lk, 't', fmt(at), 'a', '0')
  redis.call('HDEL', lk, 'fa', 'br')
  arm(P, pf, id, lk, at, now, tonumber(redis.call('HGET', lk, 'tzo')), false)
  st = snooze(P, id, lk, at)
  nb = fmt(at)
else -- rejected, returned: back to the queue, no attempt spent
  st = place(P, pf, id, lk, now)
  if o == 'rejected' then
    -- ... but not to this rep again for a while (next.lua reads the set).
    -- Expired and oldest-beyond-the-cap rejections go, so the set (and what
    -- a pull of this rep may pass over) stays small; the key itself goes
    -- once the rep has rejected nothing here for RejectFor.
    local rk = P .. 'rj:' .. sdr
    redis.call('ZADD', rk, nows, id)
    redis.call('ZREMRANGEBYSCORE', rk, '-inf', fmt(now - rfor))
    local over = redis.call('ZCARD', rk) - rcap
    if over > 0 then redis.call('ZREMRANGEBYRANK', rk, 0, over - 1) end
    redis.call('EXPIRE', rk, math.ceil(rfor))
  end
end

advanced(P, lk, o) -- funnel (stats.lua)
redis.call('HSET', lk, 'lo', o, 'lot', nows)
if reason ~= '' then
  redis.call('HSET', lk, 'rsn', reason)
  redis.call('HINCRBY', P .. 'rsn', reason, 1)
  redis.call('HINCRBY', P .. 'rsn', (r[4] or '') .. '|' .. reason, 1)
end
redis.call('XADD', P .. 'log', 'MAXLEN', '~', '1000000', '*', 'lead_id', id, 'outcome', o,
  'sdr', sdr, 'at', nows, 'p', r[1], 't', r[2], 'attempts', r[3], 'reason', reason, 'note', note)
return {'ok', id, st, nb, tostring(a)}
