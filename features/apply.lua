-- apply.lua: apply one lead's compiled feature updates, effectively once.
-- Generated arguments come from store.go (encodeCall); Fold in fold.go is the
-- Go twin of this script and must keep the same arithmetic.
--
-- KEYS[1]  the lead's hash; the script touches no other key (Cluster safe).
-- ARGV[1]  slot of the trigger-time field, returned to the caller
-- ARGV[2]  nf, the number of distinct fields the updates read or write
-- ARGV[3 .. 2+nf]  those field names; "slot" s below means field ARGV[2+s].
--          The companion field (time, reference) of slot s is slot s+1.
-- then per event: offset-field slot, offset, time (Unix ms), nargs, and nargs
-- tokens of updates, each a code and a slot followed by:
--   i n      count        += n
--   x        latest time  = max(field, t)
--   n        first time   = min(field, t)
--   d h w    decayed sum  (value, reference time) with half-life h ms, weight w
--   w v      register     = v if (t, v) > (time, value): last write wins
--   o v      register     = v if t < time, or t == time and v > value
--   u m      distinct     if slot m (member marker) is unset: set it, count += 1
-- Events whose offset is not above the stored offset of their partition are
-- skipped: redelivery and replay change nothing.
-- Returns {changed (0|1), trigger time or nil}.

local key = KEYS[1]
local A = ARGV
local nf = tonumber(A[2])
local names = {}
for s = 1, nf do
  names[s] = A[2 + s]
end
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
local i, n = 3 + nf, #A
while i <= n do
  local ps, off, t, e = tonumber(A[i]), tonumber(A[i + 1]), tonumber(A[i + 2]), i + 4 + tonumber(A[i + 3])
  i = i + 4
  local last = tonumber(cur[ps])
  if last ~= nil and off <= last then
    i = e
  else
    while i < e do
      local k, s = A[i], tonumber(A[i + 1])
      if k == 'i' then
        cur[s] = (tonumber(cur[s]) or 0) + tonumber(A[i + 2])
        dirty[s] = true
        i = i + 3
      elseif k == 'x' or k == 'n' then
        local v = tonumber(cur[s])
        if v == nil or (k == 'x' and t > v) or (k == 'n' and t < v) then
          cur[s] = t
          dirty[s] = true
        end
        i = i + 2
      elseif k == 'd' then
        local h, w = tonumber(A[i + 2]), tonumber(A[i + 3])
        local v, r = tonumber(cur[s]), tonumber(cur[s + 1])
        if v == nil or r == nil then
          v, r = w, t
        elseif t <= r then
          v = v + w * 2 ^ (-(r - t) / h)
        else
          v = v * 2 ^ (-(t - r) / h) + w
          r = t
        end
        cur[s], cur[s + 1] = v, r
        dirty[s], dirty[s + 1] = true, true
        i = i + 4
      elseif k == 'w' or k == 'o' then
        local v, ct = A[i + 2], tonumber(cur[s + 1])
        local win = ct == nil or (t == ct and gt(v, cur[s]))
        if not win then
          if k == 'w' then win = t > ct else win = t < ct end
        end
        if win then
          cur[s], cur[s + 1] = v, t
          dirty[s], dirty[s + 1] = true, true
        end
        i = i + 3
      elseif k == 'u' then
        local m = tonumber(A[i + 2])
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

local function str(v)
  if type(v) == 'number' then return string.format('%.17g', v) end
  return v
end

if changed == 1 then
  local out, j = {}, 0
  for s = 1, nf do
    if dirty[s] then
      out[j + 1], out[j + 2] = names[s], str(cur[s])
      j = j + 2
    end
  end
  redis.call('HSET', key, unpack(out))
end
local trig = cur[tonumber(A[1])]
if trig then trig = str(trig) end
return {changed, trig}
