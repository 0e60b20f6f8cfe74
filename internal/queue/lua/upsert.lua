-- upsert: place a new lead or re-place an existing one.
-- KEYS[1] the pool's clock key. ARGV: now, id, p, trigger t, attempts, not-before
-- ('' = none), source, UTC offset in seconds ('' = unknown), profile.
local P = string.sub(KEYS[1], 1, -4)
local id, p, t, a, nb, src = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7]
local tzo = ARGV[8]
local pf = profile(9)
local now, nows = clock({P}, tonumber(ARGV[1]))
local lk = P .. 'l:' .. id
local v = redis.call('HMGET', lk, 'st', 't')
local st = v[1]
if not st then
  redis.call('HSET', lk, 'p', p, 't', fmt(t), 'a', a)
  if src ~= '' then redis.call('HSET', lk, 'src', src) end
  if tzo ~= '' then redis.call('HSET', lk, 'tzo', tzo) end
  arm(P, pf, id, lk, t, now)
  if nb ~= '' and tonumber(nb) > now then
    st = snooze(P, id, lk, tonumber(nb))
  else
    st = place(P, pf, id, lk, now)
  end
else
  -- A later trigger re-heats: fresh cadence, fresh SLA clock, back into the
  -- window even from snooze or nurture. Triggers never move backwards, and a
  -- meeting or a closed lead stays so (only its score is kept current).
  local reheat = t > tonumber(v[2]) and st ~= 'm' and st ~= 'x'
  redis.call('HSET', lk, 'p', p)
  if src ~= '' then redis.call('HSET', lk, 'src', src) end
  if tzo ~= '' then redis.call('HSET', lk, 'tzo', tzo) end
  if reheat then
    redis.call('HSET', lk, 't', fmt(t), 'a', '0')
    redis.call('HDEL', lk, 'fa', 'br')
    arm(P, pf, id, lk, t, now)
  end
  if st == 'q' or (reheat and (st == 's' or st == 'n')) then
    unplace(P, id, lk)
    redis.call('HDEL', lk, 'nb', 'nu')
    st = place(P, pf, id, lk, now)
  end
  -- A claimed lead is placed by its claim's outcome.
end
local r = redis.call('HMGET', lk, 'seg', 'p', 't', 'a')
return {st, r[1] or '-1', r[2], r[3], r[4], nows}
