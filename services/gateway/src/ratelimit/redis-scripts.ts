import { LuaScript } from "./lua-script.js";

// Both scripts keep the GCRA arithmetic of gcra.ts; they differ from it only where Lua must (numbers
// are stored as text with three decimals; replies are integers because Redis truncates Lua floats).
// Times are the gateway's clock in milliseconds, passed in, so every replica and every test can use
// one clock; NTP-synchronised hosts differ by far less than a per-minute limit notices.

/**
 * Admission: checks every limit of a request and charges all of them, or none.
 *
 * KEYS: key requests, key tokens, key concurrency, tenant requests, tenant tokens, tenant concurrency.
 * ARGV: now, window, tokens, lease member, lease expiry, lease key TTL, then the six limits (0 = none).
 * Reply: allowed (1/0), refused limit index (1-6, 0 = none), retry-after ms, never-fits (1/0), then
 * remaining and reset-ms for the four rate limits (key requests, key tokens, tenant requests, tenant
 * tokens; -1 when not limited), after the charge when allowed.
 */
export const acquireScript = new LuaScript(`
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tokens = tonumber(ARGV[3])
local member = ARGV[4]
local leaseExpiry = tonumber(ARGV[5])
local leaseKeyTtl = tonumber(ARGV[6])
local eps = 1e-6
local limits, tats = {}, {}
local refused, retry, never = 0, 0, 0

for i = 1, 6 do
  limits[i] = tonumber(ARGV[6 + i])
  if limits[i] > 0 and i % 3 ~= 0 then
    tats[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
  end
end

for i = 1, 6 do
  local limit = limits[i]
  if refused == 0 and limit > 0 then
    if i % 3 == 0 then
      redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
      if redis.call('ZCARD', KEYS[i]) >= limit then refused, retry = i, 1000 end
    else
      local cost = 1
      if i % 3 == 2 then cost = tokens end
      if cost > limit then
        refused, never = i, 1
      else
        local allowAt = math.max(tats[i], now) + cost * window / limit - window
        if allowAt > now + eps then refused, retry = i, math.ceil(allowAt - now) end
      end
    end
  end
end

if refused == 0 then
  for i = 1, 6 do
    local limit = limits[i]
    if limit > 0 then
      if i % 3 == 0 then
        redis.call('ZADD', KEYS[i], leaseExpiry, member)
        redis.call('PEXPIRE', KEYS[i], leaseKeyTtl)
      else
        local cost = 1
        if i % 3 == 2 then cost = tokens end
        tats[i] = math.max(tats[i], now) + cost * window / limit
        redis.call('SET', KEYS[i], string.format('%.3f', tats[i]), 'PX', math.ceil(tats[i] - now) + 1000)
      end
    end
  end
end

local reply = { refused == 0 and 1 or 0, refused, retry, never }
for _, i in ipairs({ 1, 2, 4, 5 }) do
  local limit = limits[i]
  if limit > 0 then
    local interval = window / limit
    local used = math.max(tats[i], now) - now
    reply[#reply + 1] = math.max(0, math.floor((window - used) / interval + eps))
    reply[#reply + 1] = math.max(0, math.ceil(tats[i] - now - eps))
  else
    reply[#reply + 1] = -1
    reply[#reply + 1] = -1
  end
end
return reply
`);

/**
 * Settlement: corrects the token charge from the estimate to real use, and frees the concurrency slots.
 *
 * KEYS: key tokens, tenant tokens, key concurrency, tenant concurrency.
 * ARGV: now, window, estimated tokens, used tokens, lease member, then the four limits (0 = none).
 */
export const settleScript = new LuaScript(`
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local delta = tonumber(ARGV[4]) - tonumber(ARGV[3])
local member = ARGV[5]
for i = 1, 2 do
  local limit = tonumber(ARGV[5 + i])
  if limit > 0 and delta ~= 0 then
    local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
    local interval = window / limit
    if delta < 0 then tat = tat + delta * interval else tat = math.max(tat, now) + delta * interval end
    if tat > now then
      redis.call('SET', KEYS[i], string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 1000)
    else
      redis.call('DEL', KEYS[i])
    end
  end
end
for i = 3, 4 do
  if tonumber(ARGV[5 + i]) > 0 then redis.call('ZREM', KEYS[i], member) end
end
return 1
`);

/**
 * Lease renewal for requests still running: pushes their expiry on, so only a gateway that stopped
 * renewing (crashed) loses its slots, after one lease TTL. One call renews many leases of a tenant.
 *
 * KEYS: concurrency sets. ARGV: new expiry, set TTL, then the lease member held in each KEYS[i].
 */
export const renewScript = new LuaScript(`
for i = 1, #KEYS do
  if redis.call('ZADD', KEYS[i], 'XX', 'CH', ARGV[1], ARGV[2 + i]) == 1 then
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
  end
end
return 1
`);
