--[[
  Admits one socket of a user at handshake, or says why not. One script, so
  two gateways admitting the same user at once cannot both take the last slot.

  KEYS[1] the user's cut-off key (exists while the user is refused for flooding)
  KEYS[2] the user's sockets: a sorted set of `<gatewayId>:<socketId>`,
          scored by when each claim expires (ms, Redis time); each gateway
          renews its own claims, so a dead gateway's lapse by themselves
  ARGV[1] this socket's member
  ARGV[2] sockets allowed per user
  ARGV[3] claim lifetime in ms
  Returns {0, sockets now held} admitted (and recorded); {1, ms left} cut off;
  {2, sockets held} at the cap.
  Redis's own clock, so gateways with skewed clocks share one notion of expiry.
]]
local left = redis.call('PTTL', KEYS[1])
if left > 0 then
  return {1, left}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local held = redis.call('ZCARD', KEYS[2])
if held >= tonumber(ARGV[2]) then
  return {2, held}
end
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[2], ttl)
return {0, held + 1}
