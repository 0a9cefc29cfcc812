--[[
  Publishes one document event atomically: assign the next seq, append the
  event to the document's capped stream, fold it into the live state, publish.
  One script, so order and gap-freedom hold with any number of publishers.

  KEYS[1] state hash  {doc:<id>}:state   (fields: epoch, seq, and the live state)
  KEYS[2] event stream {doc:<id>}:events (entry id = seq)
  KEYS[3] sorted set   {doc:<id>}:published (idempotency key -> the seq it got)
  ARGV[1] pub/sub channel
  ARGV[2] stream max length (approximate trim)
  ARGV[3] epoch to use if the document has none yet (a new history)
  ARGV[4] event name
  ARGV[5] event JSON object without seq; must hold at least one field
  ARGV[6] key time-to-live in seconds
  ARGV[7] version guard: a number, or '' for none. When the state's value
          under the first patch field (ARGV[10]) holds a higher "version",
          the event is stale (an older chapter version's run reporting late)
          and is dropped: no seq, no stream entry, no message.
  ARGV[8] idempotency key (an outbox row's id), or '' for none. A key
          already published in this history is not published again: the
          seq it got then comes back, with a third reply value of 1.
  ARGV[9] the publish command: 'publish' on one Redis, 'spublish' (sharded
          pub/sub) on a Redis Cluster, where the channel shares the keys'
          hash tag and so their slot
  ARGV[10], ARGV[11], ... state field / value pairs to set
  Returns { seq, epoch, duplicate }; seq 0 when the guard dropped the event.
]]
-- Keys remembered per document. A row is published again only by a relay that
-- finds it still in the outbox (its publisher died before deleting it), and
-- later rows of the document wait behind it, so a short memory is enough.
local KEPT_KEYS = 128
local key = ARGV[8]
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[3]
  redis.call('HSET', KEYS[1], 'epoch', epoch)
  -- A new history: whatever an earlier one left in the stream must not be replayed.
  redis.call('DEL', KEYS[2], KEYS[3])
end
if key ~= '' then
  local first = redis.call('ZSCORE', KEYS[3], key)
  if first then
    return { tonumber(first), epoch, 1 }
  end
end
local guard = tonumber(ARGV[7])
if guard then
  local current = redis.call('HGET', KEYS[1], ARGV[10])
  if current then
    local version = cjson.decode(current).version
    if type(version) == 'number' and version > guard then
      return { 0, epoch, 0 }
    end
  end
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local event = '{"seq":' .. seq .. ',' .. string.sub(ARGV[5], 2)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-0', 'n', ARGV[4], 'd', event)
for i = 10, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[6])
if key ~= '' then
  redis.call('ZADD', KEYS[3], seq, key)
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -KEPT_KEYS - 1)
  redis.call('EXPIRE', KEYS[3], ARGV[6])
end
local publish = ARGV[9] == 'spublish' and 'spublish' or 'publish'
redis.call(publish, ARGV[1], epoch .. '\n' .. ARGV[4] .. '\n' .. event)
return { seq, epoch, 0 }
