-- peek: the best leads across pools, without claiming them, with their log
-- priorities so results of separate calls can be merged (queue.go calls it
-- once per pool, which keeps every call on one Cluster slot).
-- KEYS[j] pool j's clock key. ARGV: now, limit, then per pool: profile.
local limit = tonumber(ARGV[2])
local pools, Ps, i = {}, {}, 3
for j = 1, #KEYS do
  local P = string.sub(KEYS[j], 1, -4)
  local pf
  pf, i = profile(i)
  pools[j], Ps[j] = {P = P, pf = pf}, P
end
local now, nows = clock(Ps, tonumber(ARGV[1]))
-- Each segment's top `limit` holds every lead that can make the overall top,
-- and within a segment the score order is the priority order (the shared
-- term is the same for all its leads), so a K-way merge of the lists suffices.
local lists = {}
for j = 1, #KEYS do
  local P, pf = pools[j].P, pools[j].pf
  migrate(P, pf, now, nows)
  for k = 0, pf[1] - 1 do
    local r = redis.call('ZRANGE', P .. 'z' .. k, 0, limit - 1, 'REV', 'WITHSCORES')
    if #r > 0 then
      lists[#lists + 1] = {r = r, n = 1, j = j, k = k, off = O(pf, k) - L(pf, k) * now}
    end
  end
end
local out = {nows}
while #out <= limit do
  local best, blp
  for _, x in ipairs(lists) do
    if x.n < #x.r then
      local lp = tonumber(x.r[x.n + 1]) + x.off
      if blp == nil or lp > blp then best, blp = x, lp end
    end
  end
  if best == nil then break end
  local id = best.r[best.n]
  best.n = best.n + 2
  local v = redis.call('HMGET', pools[best.j].P .. 'l:' .. id, 'p', 't', 'a', 'br')
  out[#out + 1] = {best.j, id, best.k, v[1], v[2], v[3], v[4] or '', fmt(blp)}
end
return out
