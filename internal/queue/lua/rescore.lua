-- rescore: new probabilities for many leads of one pool (Queue.Rescore).
-- KEYS[1] the pool's clock key. ARGV: now, profile, then 5 strings per lead,
-- as upsert.lua takes them but attempts and not-before (only a new lead
-- needs them): id, p, trigger t, source, UTC offset. Returns {how many leads
-- took the fast path, how many the pool does not hold}.
--
-- A lead the pool does not hold is left alone: it was moved to another pool
-- or removed since its caller listed it, and re-creating it here would put
-- it in two pools at once, where two reps could pull it.
--
-- Each other lead ends as upsert.lua would leave it. Once migrate has applied every
-- event due by now, place at now would put a queued lead back into the
-- segment it is in, with the same due time: only its static score depends on
-- p. So a known lead whose trigger and UTC offset are unchanged just gets its
-- new p, and if queued its new score in place, unless the new p's attempt
-- budget is spent (place then nurtures it). Re-heats and offset changes take
-- upsert's full path. Redis time per lead is mostly
-- the skiplist update of the ZADD, then the HMGET.
local P = string.sub(KEYS[1], 1, -4)
local pf = profile(2)
local now, nows = clock({P}, tonumber(ARGV[1]))
migrate(P, pf, now, nows)
local fast, gone = 0, 0
-- place's score, log p + log a(attempts) + rate_k * t, inlined with the
-- same operations in the same order, so bit-identical. It goes to ZADD as
-- a Lua number: Redis spells it with %.17g in C (the embedded Redis with Go's
-- shortest round-trip form), so ZADD reads back the same double, without
-- string.format's cost (a tenth of a fast-path lead's Lua time).
local ia, log, min = 11 + 3 * pf[1], math.log, math.min
local na = pf[ia]
local function score(p, a, k, t) return log(p) + pf[ia + 1 + min(a, na - 1)] + pf[12 + 3 * k] * t end
-- New scores of fast-path leads, per segment, written with one ZADD per
-- segment; flushed before any full path, so every step still sees the
-- writes of the leads before it. Queue.Rescore sends a segment's leads in
-- ascending order of their new score, so each ZADD walks the skiplist in
-- order (most of its cost is cache misses on the walk); zn counts instead
-- of Lua's # operator, which is a search.
local zs, zn = {}, {}
local function flush()
  for k, args in pairs(zs) do redis.call('ZADD', P .. 'z' .. k, unpack(args, 1, zn[k])) end
  zs, zn = {}, {}
end
local PL = P .. 'l:'
for i = 3, #ARGV, 5 do
  local id, p, ts, src, tzo = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local lk = PL .. id
  local v = redis.call('HMGET', lk, 'st', 't', 'a', 'seg', 'tzo')
  local st = v[1]
  -- The usual case: the caller's trigger time is the stored text (both are
  -- %.17g of the same double), so no re-heat, without parsing either.
  local reheat = st and ts ~= v[2] and
    reheats(tonumber(ts), tonumber(v[2]), st, now, function() return redis.call('HGET', lk, 'lot') end)
  if not st then
    gone = gone + 1
  elseif reheat or (tzo ~= '' and tzo ~= v[5]) then
    flush()
    -- upsert reads attempts and not-before only for a lead it creates.
    upsert(P, pf, now, id, p, tonumber(ts), '0', '', src, tzo)
  else
    fast = fast + 1
    if src ~= '' then
      redis.call('HSET', lk, 'p', p, 'src', src)
    else
      redis.call('HSET', lk, 'p', p)
    end
    if st == 'q' then
      local pn, a = tonumber(p), tonumber(v[3])
      if a >= budget(pf, pn) then
        flush()
        unplace(P, id, lk)
        redis.call('HDEL', lk, 'nb', 'nu')
        place(P, pf, id, lk, now)
      else
        local k = tonumber(v[4])
        local z, n = zs[k], zn[k] or 0
        if not z then z = {}; zs[k] = z end
        z[n + 1] = score(pn, a, k, tonumber(v[2]))
        z[n + 2] = id
        zn[k] = n + 2
      end
    end
  end
end
flush()
return {fast, gone}
