--[[
  Publishes events of one document atomically, in order: each gets the next
  seq, is appended to the document's capped stream, folded into the live
  state and published. One script, so order and gap-freedom hold with any
  number of publishers; one call for a batch of the document's events, so a
  worker's batch costs one command, not one per event.

  KEYS[1] state hash  {doc:<id>}:state   (fields: epoch, seq, and the live state)
  KEYS[2] event stream {doc:<id>}:events (entry id = seq)
  KEYS[3] sorted set   {doc:<id>}:published (idempotency key -> the seq it got)
  ARGV[1] pub/sub channel
  ARGV[2] stream max length (approximate trim)
  ARGV[3] epoch to use if the document has none yet (a new history)
  ARGV[4] key time-to-live in seconds
  ARGV[5] the publish command: 'publish' on one Redis, 'spublish' (sharded
          pub/sub) on a Redis Cluster, where the channel shares the keys'
          hash tag and so their slot
  ARGV[6] ... the events, each as:
    name
    event JSON object without seq; must hold at least one field
    version guard: a number, or '' for none. When the state's value under
          the event's first patch field holds a higher "version", the event
          is stale (an older chapter version's run reporting late) and is
          dropped: no seq, no stream entry, no message.
    idempotency key (an outbox row's id), or '' for none. A key already
          published in this history is not published again: the seq it got
          then comes back, flagged as a duplicate.
    n, the number of state field / value pairs that follow
    field 1, value 1, ... field n, value n: state fields to set
  Returns { epoch, seq 1, duplicate 1, seq 2, duplicate 2, ... }, one pair
  per event in order; seq 0 when the guard dropped the event, duplicate 1
  for a key published before.
]]
-- Keys remembered per document. A row is published again only by a relay that
-- finds it still in the outbox (its publisher died before deleting it), and
-- later rows of the document wait behind it, so a short memory is enough.
local KEPT_KEYS = 128
-- history-origin.lua, run before this, ended a history begun on another server and set `origin`.
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[3]
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'origin', origin)
  -- A new history: whatever an earlier one left in the stream must not be replayed.
  redis.call('DEL', KEYS[2], KEYS[3])
end
local publish = ARGV[5] == 'spublish' and 'spublish' or 'publish'
local reply = { epoch }
local published, keyed = false, false

-- The seq and duplicate flag of one event; nothing is written for a duplicate or a stale event.
local function publishOne(name, body, guard, key, fields, nfields)
  if key ~= '' then
    local first = redis.call('ZSCORE', KEYS[3], key)
    if first then
      return tonumber(first), 1
    end
  end
  guard = tonumber(guard)
  if guard and nfields > 0 then
    local current = redis.call('HGET', KEYS[1], ARGV[fields])
    if current then
      local version = cjson.decode(current).version
      if type(version) == 'number' and version > guard then
        return 0, 0
      end
    end
  end
  local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
  local event = '{"seq":' .. seq .. ',' .. string.sub(body, 2)
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-0', 'n', name, 'd', event)
  for i = fields, fields + 2 * nfields - 1, 2 do
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
  if key ~= '' then
    redis.call('ZADD', KEYS[3], seq, key)
    keyed = true
  end
  redis.call(publish, ARGV[1], epoch .. '\n' .. name .. '\n' .. event)
  published = true
  return seq, 0
end

local i = 6
while i <= #ARGV do
  local nfields = tonumber(ARGV[i + 4])
  local seq, duplicate = publishOne(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], i + 5, nfields)
  reply[#reply + 1] = seq
  reply[#reply + 1] = duplicate
  i = i + 5 + 2 * nfields
end
if published then
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
if keyed then
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -KEPT_KEYS - 1)
  redis.call('EXPIRE', KEYS[3], ARGV[4])
end
return reply
