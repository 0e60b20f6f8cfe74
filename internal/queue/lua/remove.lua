-- remove: take a lead out of the pool entirely. KEYS[1] the pool's clock key. ARGV: id.
-- Returns the open claim and its rep (if any) so the caller can clear the rep's ledger.
local P = string.sub(KEYS[1], 1, -4)
local id = ARGV[1]
local lk = P .. 'l:' .. id
local pf = profile(2)
local now, nows = clock({P}, tonumber(ARGV[3]))
migrate(P, pf, now, nows) -- an expired lease is charged, a passed deadline raised, first
local v = redis.call('HMGET', lk, 'st', 'cl', 'sdr')
if not v[1] then return {'none'} end
unplace(P, id, lk)
removed(P, id, lk) -- stats.lua
redis.call('ZREM', P .. 'due', '\1' .. id)
redis.call('DEL', lk)
return {'ok', v[2] or '', v[3] or ''}
