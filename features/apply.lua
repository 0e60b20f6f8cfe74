-- apply.lua: apply one lead's compiled feature updates, effectively once.
-- Its argument comes from encode.go (encodeCall); Fold in fold.go is the
-- Go twin of this script and must keep the same arithmetic.
--
-- KEYS[1]  the lead's hash; the script touches no other key (Cluster safe).
-- ARGV[1]  a JSON array (one argument decoded by cjson in C is much cheaper
--          than one Redis argument per number):
--   [1]    slot of the trigger-time field, returned to the caller
--   [2]    the names of the fields the updates read or write; "slot" s below
--          means field [2][s], and the companion field (time, reference) of
--          slot s is slot s+1
--   [3..]  per event: offset-field slot, offset, time (Unix ms), ntok, and
--          ntok tokens of updates, each a code and a slot followed by:
--     1 n      count        += n
--     2        latest time  = max(field, t)
--     3        first time   = min(field, t)
--     4 m w h1..hm  decayed sums in slots s..s+m-1 with half-lives h (ms),
--              sharing the reference time in slot s+m; weight w
--     5 v      register     = v if (t, v) > (time, value): last write wins
--     6 v      register     = v if t < time, or t == time and v > value
--     7 m      distinct     if slot m (member marker) is unset: set it, count += 1
-- Events whose offset is not above the stored offset of their partition are
-- skipped: redelivery and replay change nothing.
-- Returns {changed (0|1), trigger time (integer or string) or nil}.

local key = KEYS[1]
local P = cjson.decode(ARGV[1])
local names = P[2]
local nf = #names
local cur = redis.call('HMGET', key, unpack(names))
local dirty = {}

-- gt compares bytes: Lua's own < on strings follows the server's locale.
local function gt(a, b)
  if not b then b = '' end
  if a == b then return false end
  local la, lb = #a, #b
  local n = la < lb and la or lb
  for k = 1, n do
    local x, y = string.byte(a, k), string.byte(b, k)
    if x ~= y then return x > y end
  end
  return la > lb
end

local changed = 0
local i, n = 3, #P
while i <= n do
  local ps, off, t = P[i], P[i + 1], P[i + 2]
  local e = i + 4 + P[i + 3]
  i = i + 4
  local last = tonumber(cur[ps])
  if last ~= nil and off <= last then
    i = e
  else
    while i < e do
      local k, s = P[i], P[i + 1]
      if k == 1 then
        cur[s] = (tonumber(cur[s]) or 0) + P[i + 2]
        dirty[s] = true
        i = i + 3
      elseif k == 2 or k == 3 then
        local v = tonumber(cur[s])
        if v == nil or (k == 2 and t > v) or (k == 3 and t < v) then
          cur[s] = t
          dirty[s] = true
        end
        i = i + 2
      elseif k == 4 then
        local m, w = P[i + 2], P[i + 3]
        local r = tonumber(cur[s + m])
        for j = 0, m - 1 do
          local v, h = tonumber(cur[s + j]) or 0, P[i + 4 + j]
          if r == nil then
            v = w
          elseif t <= r then
            v = v + w * 2 ^ (-(r - t) / h)
          else
            v = v * 2 ^ (-(t - r) / h) + w
          end
          cur[s + j] = v
          dirty[s + j] = true
        end
        if r == nil or t > r then
          cur[s + m] = t
          dirty[s + m] = true
        end
        i = i + 4 + m
      elseif k == 5 or k == 6 then
        local v, ct = P[i + 2], tonumber(cur[s + 1])
        local win = ct == nil or (t == ct and gt(v, cur[s]))
        if not win then
          if k == 5 then win = t > ct else win = t < ct end
        end
        if win then
          cur[s], cur[s + 1] = v, t
          dirty[s], dirty[s + 1] = true, true
        end
        i = i + 3
      elseif k == 7 then
        local m = P[i + 2]
        if not cur[m] then
          cur[m] = '1'
          cur[s] = (tonumber(cur[s]) or 0) + 1
          dirty[m], dirty[s] = true, true
        end
        i = i + 3
      else
        return redis.error_reply('apply.lua: unknown update code ' .. tostring(k))
      end
    end
    cur[ps] = off
    dirty[ps] = true
    changed = 1
  end
end

-- Whole numbers (counts, times in ms, offsets: nearly all) go to HSET as
-- text made by '%d', which is exact below 2^53 and several times cheaper
-- than the '%.17g' Redis 7.0 spends on every Lua number argument (it was a
-- third of a new lead's apply). Others go as Lua numbers, spelt by Redis.
-- Store.CreateDirect writes the same text: keep the two in step.
if changed == 1 then
  local out, j = {}, 0
  local floor, fmt = math.floor, string.format
  for s = 1, nf do
    if dirty[s] then
      local v = cur[s]
      if type(v) == 'number' and v == floor(v) and v > -9007199254740992 and v < 9007199254740992 then
        v = fmt('%d', v)
      end
      out[j + 1], out[j + 2] = names[s], v
      j = j + 2
    end
  end
  redis.call('HSET', key, unpack(out))
end
return {changed, cur[P[1]]}
