-- state: one lead as the queue sees it now. KEYS[1] the pool's clock key. ARGV: now, id, profile.
local P = string.sub(KEYS[1], 1, -4)
local pf = profile(3)
local now, nows = clock({P}, tonumber(ARGV[1]))
migrate(P, pf, now, nows)
local r = redis.call('HGETALL', P .. 'l:' .. ARGV[2])
table.insert(r, '_now')
table.insert(r, nows)
return r
