-- A token bucket, atomic across every API process sharing Redis.
-- KEYS[1]  the subject's bucket: a hash {tokens, at} (tokens left, and when, in ms)
-- ARGV[1]  tokens added per second
-- ARGV[2]  capacity: the most a subject may spend at once
-- ARGV[3]  tokens this request costs (at most the capacity)
-- Returns {1, 0} when taken, {0, ms until the bucket holds the cost} when refused (nothing taken).
-- Redis's own clock, so API hosts with skewed clocks still share one bucket.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local perMs = tonumber(ARGV[1]) / 1000
local capacity = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
-- A missing bucket is a full one (it expires once it would have refilled).
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * perMs)
if tokens < cost then
  return {0, math.ceil((cost - tokens) / perMs)}
end
tokens = tokens - cost
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / perMs) + 1000)
return {1, 0}
