// algorithms.ts in Lua, run atomically by Redis (EVALSHA through ioredis defineCommand), so several mock
// instances sharing one Redis never admit more than the limit between them (contract 5.4). Keep the
// two in step: the property tests hold both to the same reference model.
//
// KEYS[i]: bucket i (the key's, then optionally the tenant's).
// ARGV[1]: now, epoch ms (the injected clock, so tests drive Redis with a fake clock too).
// ARGV[3i-1], ARGV[3i], ARGV[3i+1]: bucket i's algorithm code (1 fixed, 2 sliding, 3 token bucket),
//   effective limit, window ms.
// Returns, per bucket: admitted (1/0), remaining, resetAtMs, waitMs. Phase 1 asks every bucket; phase 2
// counts the request in all of them only when all admitted.
export const LIMIT_SCRIPT = `
local now = tonumber(ARGV[1])
local n = #KEYS
local algo, lim, win, s1, s2, s3, s4, ok = {}, {}, {}, {}, {}, {}, {}, {}
local all = true
for i = 1, n do
  local a, L, W = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  algo[i], lim[i], win[i] = a, L, W
  local k = KEYS[i]
  if a == 1 then
    local start = now - now % W
    local h = redis.call('HMGET', k, 's', 'c')
    local c = 0
    if tonumber(h[1]) == start then c = tonumber(h[2]) end
    s1[i], s2[i] = start, c
    ok[i] = c < L
  elseif a == 2 then
    redis.call('ZREMRANGEBYSCORE', k, '-inf', string.format('%d', now - W))
    local c = redis.call('ZCARD', k)
    s1[i] = c
    ok[i] = c < L
  else
    local h = redis.call('HMGET', k, 'm', 'f')
    local m, f = tonumber(h[1]), tonumber(h[2])
    if m == nil or f == nil or m < now or (m == now and f == 0) then m = now; f = 0 end
    local nm, nf = m + math.floor(W / L), f + W % L
    if nf >= L then nf = nf - L; nm = nm + 1 end
    s1[i], s2[i], s3[i], s4[i] = m, f, nm, nf
    ok[i] = (nm - now < W) or (nm - now == W and nf == 0)
  end
  if not ok[i] then all = false end
end

local out = {}
for i = 1, n do
  local a, L, W, k = algo[i], lim[i], win[i], KEYS[i]
  local rem, reset, wait = 0, now, 0
  if a == 1 then
    local start, c = s1[i], s2[i]
    if all then
      if c == 0 then redis.call('HSET', k, 's', string.format('%d', start), 'c', 1)
      else redis.call('HINCRBY', k, 'c', 1) end
      redis.call('PEXPIRE', k, string.format('%d', start + W - now + 1000))
      c = c + 1
    end
    if c < L then rem = L - c end
    reset = start + W
    if not ok[i] then wait = start + W - now end
  elseif a == 2 then
    local c = s1[i]
    if all then
      local j = c
      while redis.call('ZADD', k, string.format('%d', now), string.format('%d:%d', now, j)) == 0 do j = j + 1 end
      redis.call('PEXPIRE', k, string.format('%d', W + 1000))
      c = c + 1
    end
    if c < L then rem = L - c end
    if ok[i] then
      if c > 0 then reset = tonumber(redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')[2]) + W end
    else
      local e = redis.call('ZRANGE', k, c - L, c - L, 'WITHSCORES')
      reset = tonumber(e[2]) + W
      wait = reset - now
    end
  else
    local m, f = s1[i], s2[i]
    if all then
      m, f = s3[i], s4[i]
      redis.call('HSET', k, 'm', string.format('%d', m), 'f', string.format('%d', f))
      redis.call('PEXPIRE', k, string.format('%d', m - now + 1000))
    end
    local t = (W - (m - now)) * L - f
    rem = math.floor(t / W)
    if rem < 0 then rem = 0 end
    if rem >= L then
      rem = L
    else
      reset = now + math.ceil(((rem + 1) * W - t) / L)
      if not ok[i] then wait = reset - now end
    end
  end
  local flag = 0
  if ok[i] then flag = 1 end
  out[#out + 1] = flag
  out[#out + 1] = rem
  out[#out + 1] = reset
  out[#out + 1] = wait
end
return out
`
