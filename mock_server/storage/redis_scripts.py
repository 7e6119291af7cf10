"""The Lua scripts of the Redis store (`redis_store.py`, whose docstring lays out the keys):
each is one round trip, and atomic, so a unique key is checked and taken, or a request's
catching up read, in one step whichever process runs it. Arguments are positional (`ARGV`);
the first is the namespace's key prefix, or the key a script works on."""
from __future__ import annotations

# Frees the unique-key entries that record `id` held when last written: before it is written again, or deleted.
FREE_ENTRIES = """
local old = redis.call('HGET', xk, id)
if old then
  for entry in string.gmatch(old, '[^\\30]+') do
    if redis.call('HGET', uk, entry) == id then redis.call('HDEL', uk, entry) end
  end
end
"""

PUT = """
local p, res, id, expected, text = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local rk, uk, xk = p .. 'r:' .. res, p .. 'u:' .. res, p .. 'x:' .. res
local cur = redis.call('HGET', rk, id)
if expected ~= '*' and (cur or '') ~= expected then return {'changed'} end
for i = 6, #ARGV do
  local owner = redis.call('HGET', uk, ARGV[i])
  if owner and owner ~= id then return {'taken', ARGV[i]} end
end
""" + FREE_ENTRIES + """if #ARGV >= 6 then
  for i = 6, #ARGV do redis.call('HSET', uk, ARGV[i], id) end
  redis.call('HSET', xk, id, table.concat(ARGV, '\\30', 6))
else
  redis.call('HDEL', xk, id)
end
redis.call('HSET', rk, id, text)
if not cur then
  redis.call('ZADD', p .. 'o:' .. res, redis.call('INCR', p .. 'order'), id)
  redis.call('SADD', p .. 'resources', res)
end
return {'ok', redis.call('HINCRBY', p .. 'meta', 'version', 1)}
"""

DELETE = """
local p, res, id = ARGV[1], ARGV[2], ARGV[3]
local rk, uk, xk = p .. 'r:' .. res, p .. 'u:' .. res, p .. 'x:' .. res
local cur = redis.call('HGET', rk, id)
if not cur then return false end
""" + FREE_ENTRIES + """redis.call('HDEL', rk, id)
redis.call('HDEL', xk, id)
redis.call('ZREM', p .. 'o:' .. res, id)
return {cur, redis.call('HINCRBY', p .. 'meta', 'version', 1)}
"""

FIND = """
local id = redis.call('HGET', ARGV[1] .. 'u:' .. ARGV[2], ARGV[3])
if not id then return false end
return redis.call('HGET', ARGV[1] .. 'r:' .. ARGV[2], id)
"""

PAGE = """
local ids = redis.call('ZREVRANGE', ARGV[1] .. 'o:' .. ARGV[2], ARGV[3], ARGV[4])
if #ids == 0 then return {} end
return redis.call('HMGET', ARGV[1] .. 'r:' .. ARGV[2], unpack(ids))
"""

ADD_EVENTS = """
local p = ARGV[1]
local replaced = {}
for i = 2, #ARGV, 5 do
  local id, text, customer, name, at = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local series = p .. 's:' .. customer .. '\\31' .. name
  local old = redis.call('HGET', p .. 'es', id)
  if old then
    redis.call('ZREM', old, id)
    replaced[#replaced + 1] = id
    replaced[#replaced + 1] = redis.call('HGET', p .. 'e', id)
  end
  redis.call('HSET', p .. 'e', id, text)
  redis.call('HSET', p .. 'es', id, series)
  redis.call('ZADD', series, at, id)
  redis.call('SADD', p .. 'n:' .. name, customer)
end
return {redis.call('HINCRBY', p .. 'meta', 'version', 1), replaced}
"""

ADD_DISTINCT_EVENTS = """
local p = ARGV[1]
local ids, texts, stored, where, series, names = {}, {}, {}, {}, {}, {}
for i = 2, #ARGV, 5 do
  local id, text, customer, name, at = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local key = p .. 's:' .. customer .. '\\31' .. name
  ids[#ids + 1] = id
  stored[#stored + 1] = id
  stored[#stored + 1] = text
  where[#where + 1] = id
  where[#where + 1] = key
  if not series[key] then series[key] = {} end
  local members = series[key]
  members[#members + 1] = at
  members[#members + 1] = id
  if not names[name] then names[name] = {} end
  names[name][customer] = true
end
local before = redis.call('HMGET', p .. 'es', unpack(ids))
local replaced = {}
for k, old in ipairs(before) do
  if old then
    redis.call('ZREM', old, ids[k])
    replaced[#replaced + 1] = ids[k]
    replaced[#replaced + 1] = redis.call('HGET', p .. 'e', ids[k])
  end
end
redis.call('HSET', p .. 'e', unpack(stored))
redis.call('HSET', p .. 'es', unpack(where))
for key, members in pairs(series) do redis.call('ZADD', key, unpack(members)) end
for name, customers in pairs(names) do
  local list = {}
  for customer in pairs(customers) do list[#list + 1] = customer end
  redis.call('SADD', p .. 'n:' .. name, unpack(list))
end
return {redis.call('HINCRBY', p .. 'meta', 'version', 1), replaced}
"""

STAMP = """
local meta = ARGV[1]
local s = redis.call('HMGET', meta, 'ready', 'generation', 'version', 'settings')
local settings = false
if s[1] and ((s[4] or '0') .. ':' .. s[2]) ~= ARGV[2] then settings = redis.call('HGETALL', meta) end
local key = false
if ARGV[3] then key = redis.call('HGET', ARGV[3], ARGV[4]) end
return {s[1] or false, s[2] or false, s[3] or false, settings, key}
"""

PAGE_AND_TOTAL = """
local total = redis.call('ZCARD', ARGV[1] .. 'o:' .. ARGV[2])
local ids = redis.call('ZREVRANGE', ARGV[1] .. 'o:' .. ARGV[2], ARGV[3], ARGV[4])
if #ids == 0 then return {total, {}} end
return {total, redis.call('HMGET', ARGV[1] .. 'r:' .. ARGV[2], unpack(ids))}
"""

WINDOW = """
local ids = redis.call('ZRANGEBYSCORE', ARGV[1], ARGV[2], ARGV[3])
local out = {}
for i, id in ipairs(ids) do
  out[2 * i - 1] = id
  out[2 * i] = redis.call('HGET', ARGV[4], id)
end
return out
"""
