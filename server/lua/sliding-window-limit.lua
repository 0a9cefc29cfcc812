-- A sliding-window rate limit, atomic across every API process sharing Redis.
-- KEYS[1]  the caller's window: a sorted set of accepted request times (ms)
-- ARGV[1]  window length in ms
-- ARGV[2]  requests allowed per window
-- ARGV[3]  a unique member for this request
-- Returns {1, 0} when accepted (and recorded), {0, ms until a slot frees} when refused.
-- Redis's own clock, so API hosts with skewed clocks still share one window.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}
