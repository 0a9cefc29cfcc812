--[[
  Updates who has one document open, and tells its watchers when that
  changed. One script, so the entries, the pruning and the published list
  agree however many gateways write at once.

  KEYS[1] presence hash {doc:<id>}:presence
          fields `<gatewayId>:<socketId>` -> {user_id, name, chapter_id, at, expires_at}
          (`at`: when the socket last named its chapter, ms; orders one user's sockets)
          field  `users` -> the user list last published (JSON)
  ARGV[1] publish command: 'publish', or 'spublish' on Redis Cluster
  ARGV[2] the document's live channel
  ARGV[3] document id
  ARGV[4] entry lifetime in ms: a field not renewed within it is pruned
  ARGV[5], ARGV[6], ... field / value pairs: value a JSON object
          {user_id, name, chapter_id, at} to set (expiry renewed), or '' to remove
  Returns the user list JSON: [{user_id, name, chapter_id}], sorted by user_id.
  Expiry is Redis's own clock, so gateways with skewed clocks agree on it.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[4])

for i = 5, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', KEYS[1], ARGV[i])
  else
    local entry = cjson.decode(ARGV[i + 1])
    entry.expires_at = now + ttl
    redis.call('HSET', KEYS[1], ARGV[i], cjson.encode(entry))
  end
end

-- One entry per user: the chapter of their socket that named one last; the name of any.
local byUser = {}
local ids = {}
local previous = false
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local field, value = fields[i], fields[i + 1]
  if field == 'users' then
    previous = value
  else
    local entry = cjson.decode(value)
    if entry.expires_at <= now then
      redis.call('HDEL', KEYS[1], field)
    else
      local user = byUser[entry.user_id]
      if not user then
        user = { name = entry.name, chapter_id = cjson.null, at = -1 }
        byUser[entry.user_id] = user
        ids[#ids + 1] = entry.user_id
      end
      if entry.chapter_id ~= cjson.null and entry.at > user.at then
        user.chapter_id = entry.chapter_id
        user.at = entry.at
      end
    end
  end
end
table.sort(ids)

-- Built by hand so that equal lists are equal strings (cjson's key order is not fixed).
local parts = {}
for i, id in ipairs(ids) do
  local user = byUser[id]
  local chapter = 'null'
  if user.chapter_id ~= cjson.null then chapter = cjson.encode(user.chapter_id) end
  parts[i] = '{"user_id":' .. cjson.encode(id) .. ',"name":' .. cjson.encode(user.name) .. ',"chapter_id":' .. chapter .. '}'
end
local users = '[' .. table.concat(parts, ',') .. ']'

if #ids == 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'users', users)
  redis.call('PEXPIRE', KEYS[1], ttl)
end
-- A list never published counts as empty, so the first watcher's arrival is announced and a quiet document stays quiet.
if users ~= (previous or '[]') then
  redis.call(ARGV[1], ARGV[2], '\npresence\n{"document_id":' .. cjson.encode(ARGV[3]) .. ',"users":' .. users .. '}')
end
return users
