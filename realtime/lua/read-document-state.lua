--[[
  Reads a document's live state together with the seq folded into it.
  A document with no history yet gets its epoch here, so a client can hold
  (epoch, seq) from its very first snapshot.

  KEYS[1] state hash, KEYS[2] event stream, KEYS[3] published keys
  ARGV[1] epoch to use if the document has none yet; empty: start none, and
          a document with no history reads as an empty hash (nothing is
          written, so the read may come before the caller's access is known)
  ARGV[2] key time-to-live in seconds
  Returns the hash as a flat field/value list.

  history-origin.lua, run before this, ended a history begun on another
  server (a replica promoted in a failover) and set `origin`.
]]
if ARGV[1] ~= '' and redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'seq', 0, 'origin', origin)
  redis.call('DEL', KEYS[2], KEYS[3])
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return redis.call('HGETALL', KEYS[1])
