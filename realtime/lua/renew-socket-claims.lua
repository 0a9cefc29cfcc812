--[[
  A gateway's heartbeat for one user: renews the claims of the user's sockets
  it holds and drops lapsed claims (a dead gateway's). Claims are written
  whether or not they are present, so after Redis lost them (a restart
  without persistence) the count is whole again within one heartbeat.

  KEYS[1] the user's sockets (see admit-socket.lua)
  ARGV[1] claim lifetime in ms
  ARGV[2..] this gateway's members for the user
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[i])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], ttl)
return #ARGV - 1
