package pending

import "github.com/redis/go-redis/v9"

// The writer's Lua scripts. Each touches only keys under one account's hash tag, so they run
// unchanged on Redis Cluster. They never parse JSON: the writer encodes every value in Go.

// acceptScript stores the intent record if absent and writes its legs, atomically.
//
//	KEYS[1] intent record key, KEYS[2] ledger key
//	ARGV[1] record, ARGV[2..] leg field, value pairs
//
// Returns 1 when created, 0 when the intent already existed (nothing written).
var acceptScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', '1', 'record', ARGV[1])
if #ARGV > 1 then redis.call('HSET', KEYS[2], unpack(ARGV, 2)) end
return 1
`)

// updateScript is a compare-and-set on the intent's version: it replaces the record, writes and
// removes legs, and bumps the version, or does nothing.
//
//	KEYS[1] intent record key, KEYS[2] ledger key
//	ARGV[1] expected version, ARGV[2] new version, ARGV[3] "1" to replace the record, ARGV[4] record,
//	ARGV[5] n = 2 × legs written, ARGV[6 .. 5+n] field, value pairs, ARGV[6+n ..] fields to remove
//
// Returns {1, new version}, {0, ""} when the intent does not exist, {-1, current} on a conflict.
var updateScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return {0, ''} end
if v ~= ARGV[1] then return {-1, v} end
redis.call('HSET', KEYS[1], 'v', ARGV[2])
if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'record', ARGV[4]) end
local n = tonumber(ARGV[5])
if n > 0 then redis.call('HSET', KEYS[2], unpack(ARGV, 6, 5 + n)) end
if #ARGV > 5 + n then redis.call('HDEL', KEYS[2], unpack(ARGV, 6 + n)) end
return {1, ARGV[2]}
`)

// advanceScript raises a chain's asOf and never lowers it. Blocks are canonical decimals, so a
// longer string is a larger number and equal lengths compare byte by byte.
//
//	KEYS[1] ledger key; ARGV[1] asof field, ARGV[2] block
//
// Returns the asOf in force afterwards.
var advanceScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local new = ARGV[2]
if cur then
  if #cur > #new then return cur end
  if #cur == #new then
    for i = 1, #cur do
      local a, b = string.byte(cur, i), string.byte(new, i)
      if a > b then return cur end
      if a < b then break end
      if i == #cur then return cur end
    end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], new)
return new
`)

// gcScript removes legs the writer found eligible, provided the intent's version is still the one
// it read them at (every leg write bumps it) and the chain's asOf is still at or past each leg's
// untilBlock (a rewind after a reorg may have lowered it since the read), and lets the record
// expire once no leg is left.
//
//	KEYS[1] intent record key, KEYS[2] ledger key
//	ARGV[1] version read ("" when there was no record), ARGV[2] record TTL in ms ("0": keep), ARGV[3] "1" when these are the
//	intent's last legs, ARGV[4..] triples: field, its chain's asOf field, its untilBlock
//
// Returns the number of fields removed, or -1 on a version conflict.
var gcScript = redis.NewScript(`
` + lessLua + `
local v = redis.call('HGET', KEYS[1], 'v')
if (v or '') ~= ARGV[1] then return -1 end
local n = 0
local all = ARGV[3] == '1'
for i = 4, #ARGV, 3 do
  local asof = redis.call('HGET', KEYS[2], ARGV[i + 1])
  if asof and not less(asof, ARGV[i + 2]) then
    n = n + redis.call('HDEL', KEYS[2], ARGV[i])
  else
    all = false
  end
end
if v and all and ARGV[2] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return n
`)

// rewindScript lowers a chain's asOf to a block (never raises it) and counts the rewind, in one
// step: a writer that checked the ledger before the rewind then cannot advance over it
// (advanceSinceScript).
//
//	KEYS[1] ledger key, KEYS[2] rewinds key; ARGV[1] asof field, ARGV[2] block, ARGV[3] chain id
//
// Returns {asOf in force afterwards ("" when the chain has none), rewind count}.
var rewindScript = redis.NewScript(`
` + lessLua + `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local new = ARGV[2]
if cur and less(new, cur) then
  redis.call('HSET', KEYS[1], ARGV[1], new)
  cur = new
end
local n = tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '0') + 1
redis.call('HSET', KEYS[2], ARGV[3], tostring(n))
return {cur or '', tostring(n)}
`)

// advanceSinceScript is advanceScript guarded by the chain's rewind count: it does nothing when
// a rewind happened since the writer read the count.
//
//	KEYS[1] ledger key, KEYS[2] rewinds key; ARGV[1] asof field, ARGV[2] block, ARGV[3] chain id,
//	ARGV[4] rewind count read
//
// Returns {1, asOf in force} or {0, current rewind count} when a rewind intervened.
var advanceSinceScript = redis.NewScript(`
` + lessLua + `
local n = redis.call('HGET', KEYS[2], ARGV[3]) or '0'
if n ~= ARGV[4] then return {0, n} end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local new = ARGV[2]
if cur and not less(cur, new) then return {1, cur} end
redis.call('HSET', KEYS[1], ARGV[1], new)
return {1, new}
`)

// lessLua compares two canonical decimals (no leading zeros) byte by byte, as advanceScript does,
// independent of the server's collation.
const lessLua = `
local function less(a, b)
  if #a ~= #b then return #a < #b end
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return false
end`
