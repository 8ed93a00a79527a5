"""The Lua scripts the Redis store runs; each one is atomic in Redis.

Keys, all under ``hubbub:``: ``epoch``; ``rooms``, ``seq``, ``topic``,
``topicmeta`` (who set it and when, JSON) (hashes by room key); ``bans`` (a
hash, see :mod:`.moderation`); ``hist:ROOM`` (the newest ``--history`` messages, a list);
``members:ROOM`` (nick key -> ``NODE<TAB>nick``); ``nick:NICK`` (``SET NX``
with an expiry its node keeps refreshing); ``node:ID`` (a heartbeat with the
same expiry) and ``nodes``; ``published`` (the last change each node
published, so a batch sent again is applied once); ``events``, the stream.
"""

from __future__ import annotations

#: Apply a batch of one node's changes and append them to the stream as one entry.
#:
#: ARGV: node, number of the batch's first change, retain, stream length, then
#: per change: kind, body, count of extra arguments, the extra arguments.
#: A change numbered at most the node's ``published`` mark was applied before
#: (a batch sent again after a lost reply) and is skipped.  The entry's one
#: field, ``d``, holds ``NODE COUNTER`` (the batch's last change) and a newline,
#: then each change as its kind (one byte), a 4-byte big-endian length and its
#: body; a message's body gets its ``seq`` from the room's counter, so length
#: and body are the message's native frame.
APPLY = r"""
local P = 'hubbub:'
local node, counter = ARGV[1], tonumber(ARGV[2]) - 1
local retain, maxlen = tonumber(ARGV[3]), ARGV[4]
local last = tonumber(redis.call('HGET', P .. 'published', node) or '0')
local out, trim = {}, {}
local i = 5
while i <= #ARGV do
  local kind, body, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local a = i + 3
  i = a + n
  counter = counter + 1
  if counter > last then
    if kind == 'm' then
      local key, name = ARGV[a], ARGV[a + 1]
      local seq = redis.call('HINCRBY', P .. 'seq', key, 1)
      redis.call('HSETNX', P .. 'rooms', key, name)
      local at = string.find(body, '"seq":0', 1, true)
      body = string.sub(body, 1, at + 5) .. seq .. string.sub(body, at + 7)
      if retain > 0 then
        redis.call('RPUSH', P .. 'hist:' .. key, body)
        trim[key] = true
      end
    elseif kind == 't' then
      local key, name = ARGV[a], ARGV[a + 1]
      redis.call('HSETNX', P .. 'rooms', key, name)
      if ARGV[a + 2] == '1' then
        redis.call('HSET', P .. 'topic', key, ARGV[a + 3])
        redis.call('HSET', P .. 'topicmeta', key, ARGV[a + 4])
      else
        redis.call('HDEL', P .. 'topic', key)
        redis.call('HDEL', P .. 'topicmeta', key)
      end
    elseif kind == 'f' then
      local key = ARGV[a]
      redis.call('HDEL', P .. 'rooms', key)
      redis.call('HDEL', P .. 'seq', key)
      redis.call('HDEL', P .. 'topic', key)
      redis.call('HDEL', P .. 'topicmeta', key)
      redis.call('DEL', P .. 'hist:' .. key, P .. 'members:' .. key)
      trim[key] = nil
    elseif kind == 'j' then
      local key, name = ARGV[a], ARGV[a + 1]
      redis.call('HSETNX', P .. 'rooms', key, name)
      redis.call('HSET', P .. 'members:' .. key, ARGV[a + 2], ARGV[a + 3])
    elseif kind == 'l' then
      redis.call('HDEL', P .. 'members:' .. ARGV[a], ARGV[a + 2])
    elseif kind == 'q' then
      local nickkey, owner = ARGV[a], ARGV[a + 1]
      for r = a + 2, i - 1 do
        redis.call('HDEL', P .. 'members:' .. ARGV[r], nickkey)
      end
      local holder = redis.call('GET', P .. 'nick:' .. nickkey)
      if holder and string.sub(holder, 1, #owner + 1) == owner .. '\t' then
        redis.call('DEL', P .. 'nick:' .. nickkey)
      end
    elseif kind == 'x' then
      redis.call('HDEL', P .. 'members:' .. ARGV[a], ARGV[a + 2])
    elseif kind == 'b' then
      redis.call('HSET', P .. 'bans', ARGV[a], ARGV[a + 1])
    elseif kind == 'n' then
      redis.call('HDEL', P .. 'bans', ARGV[a])
    elseif kind == 'r' then
      local oldkey, newkey, member = ARGV[a], ARGV[a + 1], ARGV[a + 2]
      for r = a + 3, i - 1 do
        redis.call('HDEL', P .. 'members:' .. ARGV[r], oldkey)
        redis.call('HSET', P .. 'members:' .. ARGV[r], newkey, member)
      end
    end
    out[#out + 1] = kind .. struct.pack('>I4', #body) .. body
  end
end
for key in pairs(trim) do
  redis.call('LTRIM', P .. 'hist:' .. key, -retain, -1)
end
if #out > 0 then
  redis.call('HSET', P .. 'published', node, counter)
  redis.call('XADD', P .. 'events', 'MAXLEN', '~', maxlen, '*',
             'd', node .. ' ' .. counter .. '\n' .. table.concat(out))
end
return counter
"""

#: Give back a nick only if this node holds it.
RELEASE = r"""
local holder = redis.call('GET', KEYS[1])
if holder and string.sub(holder, 1, #ARGV[1] + 1) == ARGV[1] .. '\t' then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

#: Keep this node's claims alive; re-claim those Redis forgot (a restart).
REFRESH = r"""
local ttl = ARGV[1]
for i = 2, #ARGV, 2 do
  local key, value = 'hubbub:nick:' .. ARGV[i], ARGV[i + 1]
  local holder = redis.call('GET', key)
  if not holder then
    redis.call('SET', key, value, 'EX', ttl)
  elseif holder == value then
    redis.call('EXPIRE', key, ttl)
  end
end
return 0
"""

#: Re-seed one room from a node's memory after Redis lost some or all of it: the
#: newest messages Redis lacks go back at the end of its history; ``seq`` never
#: goes back.  ARGV: key, name, seq, has topic, topic, then the kept messages.
RESEED = r"""
local P = 'hubbub:'
local key, name, seq, hastopic, topic = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
redis.call('HSETNX', P .. 'rooms', key, name)
local now = tonumber(redis.call('HGET', P .. 'seq', key) or '0')
if seq > now then redis.call('HSET', P .. 'seq', key, seq) end
if hastopic == '1' then redis.call('HSETNX', P .. 'topic', key, topic) end
local hist = P .. 'hist:' .. key
local last = redis.call('LINDEX', hist, -1)
local kept = 0
if last then kept = cjson.decode(last).seq end
for i = 6, #ARGV do
  if cjson.decode(ARGV[i]).seq > kept then redis.call('RPUSH', hist, ARGV[i]) end
end
return 0
"""
