-- create.lua: write the whole state of a brand-new lead, unless the lead
-- already has a hash. Store.CreateDirect folds the lead's first events in Go
-- (Spec.FoldApplied, the twin of apply.lua) and sends the result; this saves
-- apply.lua's reads, decoding of updates and arithmetic for the commonest
-- write of the API, a web form's new lead.
--
-- KEYS[1]  the lead's hash.
-- ARGV[1]  n: the first n pairs that follow hold fractions
-- ARGV[2..] name, value pairs, values as text the way apply.lua writes them
--          (whole numbers as digits). A fraction becomes a Lua number here,
--          so Redis spells it as it spells apply.lua's Lua numbers (7.0
--          writes %.17g, 7.2 the shortest form).
-- Returns 1 if it wrote the state, 0 if the hash existed (nothing written).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
for i = 3, 2 * tonumber(ARGV[1]) + 1, 2 do
  ARGV[i] = tonumber(ARGV[i])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
