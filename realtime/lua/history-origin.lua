--[[
  Prepended to the scripts that start or read a document's history
  (redis-commands.ts), which take its state hash as KEYS[1]; leaves `origin`,
  this server's replication id, for them to record in a new history.

  The history must have begun on this server. Replication is asynchronous: a
  replica promoted in a failover may lack the old master's last events, which
  gateways had already sent with seqs that the next events here would get
  again (and be dropped as duplicates). Such a history is ended as a lost one
  is (a Redis restarted empty): the state is deleted, so the script starts a
  new epoch and every client resyncs from a snapshot. A promoted replica, and
  a restarted server, has a new replication id.
]]
local origin = string.match(redis.call('INFO', 'replication'), 'master_replid:(%w+)') or ''
local began = redis.call('HGET', KEYS[1], 'origin')
if not began then
  -- A history from before origins were kept: it is adopted as this server's.
  if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'origin', origin) end
elseif began ~= origin then
  redis.call('DEL', KEYS[1])
end
