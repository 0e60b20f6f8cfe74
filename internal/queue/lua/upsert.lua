-- upsert: place a new lead or re-place an existing one (common.lua's upsert).
-- KEYS[1] the pool's clock key. ARGV: now, id, p, trigger t, attempts, not-before
-- ('' = none), source, UTC offset in seconds ('' = unknown), profile.
local P = string.sub(KEYS[1], 1, -4)
local pf = profile(9)
local now, nows = clock({P}, tonumber(ARGV[1]))
local st, lk = upsert(P, pf, now, ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7], ARGV[8])
local r = redis.call('HMGET', lk, 'seg', 'p', 't', 'a')
return {st, r[1] or '-1', r[2], r[3], r[4], nows}
