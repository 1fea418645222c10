--[[
  XADD a batch of events once per Idempotency-Key request (atomic, one round trip): the batch of xadd-batch-1.lua,
  behind a marker that says this request was already taken.
  KEYS[1]   the event stream
  KEYS[2]   the request's marker (shared/src/keys.ts idempotencyMarker), kept ARGV[1] seconds
  ARGV[1]   seconds to keep the marker
  ARGV[i+1] one event as JSON, stored in field "e" (shared/src/keys.ts EVENT_FIELD)
  Reply     the stream ids, in ARGV order; an empty array when the marker was there (a resend: nothing added).
  A batch has at least one event, so an empty reply cannot mean anything else. The marker and the entries are
  written by one script, so a marker never exists without its entries.
]]
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', tonumber(ARGV[1])) then
  return {}
end
local ids = {}
for i = 2, #ARGV do
  ids[i - 1] = redis.call('XADD', KEYS[1], '*', 'e', ARGV[i])
end
return ids
