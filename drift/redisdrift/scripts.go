package redisdrift

import "github.com/redis/go-redis/v9"

// The drift scripts. Every drift key shares one hash tag, so both scripts
// touch one Cluster slot (drift is small and bounded: see docs/redis.md).
//
// KEYS (both scripts, in this order): 1 meta (hash: start, lookups, misses,
// extra = rows created beyond the configured ones), 2 rows (hash: per row,
// see below), 3 miss (hash: missed id → "<count> <last>"), 4 miss LRU
// (zset), 5 conf (hash: conflict key → entry), 6 conf LRU (zset), 7 known
// (hash: known key → entry), 8 known LRU (zset), 9 seq (string: the LRU
// clock). 1 to 6 are the window, which Reset deletes; 7 to 9 outlive it.
//
// Encodings (Go writes and reads the same, see drift_codec.go):
//   - a list of strings is each string as "<byte length>:<bytes>", concatenated;
//   - a row is the list (source, product); its fields in rows are the row
//     itself (→ provider) and the row followed by "\1d" deliveries, "\1p"
//     payloads, "\1m" missing user id, "\1l" late, "\1n" distinct rejection
//     codes, "\1r<code>" rejections of code, "\1x" examples (list of
//     session, time pairs, newest first);
//   - a known or conflict key is one kind letter ('n' normalized user id,
//     'e' email, 'a' anonymous id, 's' session) and the list (a, b);
//   - a known entry is the list (display, number of refs, refs as user,
//     product pairs, anonymous ids); a conflict the list (display, last,
//     refs as user, product pairs);
//   - times are unix nanoseconds, 19 digits zero-padded, so that string
//     order is time order.
//
// An LRU table is a hash and a zset of its keys scored by the LRU clock: a
// read that the memory tracker makes with Get moves the key to the clock's
// current value, adding a key to a full table first removes the lowest.

// driftLuaLib is the helpers both scripts share.
const driftLuaLib = `
local meta, rows, miss, missL, conf, confL, known, knownL, seqK =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]

local function dec(s)
  local out, i, n = {}, 1, #s
  while i <= n do
    local c = string.find(s, ':', i, true)
    if not c then break end
    local len = tonumber(string.sub(s, i, c - 1))
    out[#out + 1] = string.sub(s, c + 1, c + len)
    i = c + 1 + len
  end
  return out
end

local function enc(t)
  local b = {}
  for i, v in ipairs(t) do b[i] = #v .. ':' .. v end
  return table.concat(b)
end

local function kk(kind, a, b) return kind .. enc({a, b}) end

local function decEntry(v)
  local t = dec(v)
  local e = {display = t[1], ids = {}, anons = {}}
  local n = tonumber(t[2])
  for i = 1, n do e.ids[i] = {t[1 + 2 * i], t[2 + 2 * i]} end
  for i = 3 + 2 * n, #t do e.anons[#e.anons + 1] = t[i] end
  return e
end

local function encEntry(e)
  local t = {e.display, tostring(#e.ids)}
  for _, r in ipairs(e.ids) do t[#t + 1] = r[1]; t[#t + 1] = r[2] end
  for _, a in ipairs(e.anons) do t[#t + 1] = a end
  return enc(t)
end

local function has(list, s)
  for _, v in ipairs(list) do if v == s then return true end end
  return false
end
`

// driftApplyScript applies a batch of observations in order.
//
// ARGV: 1 max lookup misses, 2 max conflicts, 3 max known ids, 4 max
// examples, 5 TTL in ms, 6 window start if none is set yet, 7 max ids per
// entry, 8 max anonymous ids per session, 9 max rejection codes per row, 10
// max extra rows; then the observations, each a letter and its arguments:
//
//	D row, fallback row ("" none), provider, row configured, fallback configured, code ("" not rejected)
//	L hit ("1"/"0"), id ("" = not remembered), now
//	P row, fallback row, provider, row configured, fallback configured, late, missing,
//	  session, user, email, anon, product, normalized user key, email key, now, example time
//
// Every key gets the TTL. Returns the number of observations applied.
const driftApplyScript = driftLuaLib + `
local maxMiss, maxConf, maxKnown, maxEx = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local ttl = ARGV[5]
local MAXIDS, MAXANONS, MAXCODES, MAXEXTRA = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
redis.call('HSETNX', meta, 'start', ARGV[6])

local seq = tonumber(redis.call('GET', seqK) or '-1')
if seq < 0 then
  -- No clock (first write, or maxmemory evicted it): continue after the
  -- highest score in use, so that the LRU order stays right.
  seq = 0
  for _, z in ipairs({missL, confL, knownL}) do
    local top = redis.call('ZREVRANGE', z, 0, 0, 'WITHSCORES')
    if top[2] and tonumber(top[2]) > seq then seq = tonumber(top[2]) end
  end
end

local function touch(z, m)
  seq = seq + 1
  redis.call('ZADD', z, seq, m)
end

-- lruNew makes room for one more key in a table of size entries, then adds
-- m. Every key of h is in z (they are written, trimmed and expire
-- together), so an empty z with a non-empty h means maxmemory evicted z:
-- h is dropped too, or it would grow unbounded.
local function lruNew(z, h, m, size)
  local n = redis.call('ZCARD', z)
  if n == 0 then redis.call('DEL', h) end
  if n >= size then
    local popped = redis.call('ZPOPMIN', z, n - size + 1)
    for i = 1, #popped, 2 do redis.call('HDEL', h, popped[i]) end
  end
  touch(z, m)
end

local function hasRef(ids, u, p)
  for _, r in ipairs(ids) do if r[1] == u and r[2] == p then return true end end
  return false
end

local function hasUser(ids, u)
  for _, r in ipairs(ids) do if r[1] == u then return true end end
  return false
end

-- getEntry is the memory tracker's known.Get: the entry, made most recent.
local function getEntry(k)
  local v = redis.call('HGET', known, k)
  if not v then return nil end
  touch(knownL, k)
  return decEntry(v)
end

-- addID adds (u, p) to the known entry k, created if needed; display is
-- kept as the entry's display when it has none. Returns the entry and
-- whether the ref was new there.
local function addID(k, u, p, display)
  local e = getEntry(k)
  if not e then
    lruNew(knownL, known, k, maxKnown)
    e = {display = '', ids = {}, anons = {}}
  end
  local added = false
  if not hasRef(e.ids, u, p) and #e.ids < MAXIDS then
    e.ids[#e.ids + 1] = {u, p}
    added = true
  end
  if display ~= '' and e.display == '' then e.display = display end
  redis.call('HSET', known, k, encEntry(e))
  return e, added
end

local function conflict(k, display, ids, now)
  local v = redis.call('HGET', conf, k)
  local c
  if v then
    touch(confL, k)
    local t = dec(v)
    c = {display = t[1], last = t[2], ids = {}}
    for i = 3, #t - 1, 2 do c.ids[#c.ids + 1] = {t[i], t[i + 1]} end
  else
    lruNew(confL, conf, k, maxConf)
    c = {display = display, last = '', ids = {}}
  end
  if now > c.last then c.last = now end
  for _, r in ipairs(ids) do
    if not hasRef(c.ids, r[1], r[2]) and #c.ids < MAXIDS then c.ids[#c.ids + 1] = {r[1], r[2]} end
  end
  local t = {c.display, c.last}
  for _, r in ipairs(c.ids) do t[#t + 1] = r[1]; t[#t + 1] = r[2] end
  redis.call('HSET', conf, k, enc(t))
end

local function session(product, sess, user, anon, now)
  local k = kk('s', product, sess)
  local e = getEntry(k)
  if not e then
    lruNew(knownL, known, k, maxKnown)
    e = {display = '', ids = {}, anons = {}}
  end
  if anon ~= '' and anon ~= user and not has(e.anons, anon) and #e.anons < MAXANONS then
    e.anons[#e.anons + 1] = anon
  end
  if user == '' or hasUser(e.ids, user) then
    redis.call('HSET', known, k, encEntry(e))
    return
  end
  local earlier = {}
  for i, r in ipairs(e.ids) do earlier[i] = r end
  if #e.ids < MAXIDS then e.ids[#e.ids + 1] = {user, product} end
  redis.call('HSET', known, k, encEntry(e))
  for _, a in ipairs(e.anons) do
    if a ~= user then addID(kk('a', a, ''), user, '', '') end
  end
  for _, r in ipairs(earlier) do addID(kk('a', r[1], ''), user, '', '') end
  if #earlier > 0 or redis.call('ZSCORE', confL, k) then
    local ids = {}
    for i, r in ipairs(earlier) do ids[i] = r end
    ids[#ids + 1] = {user, product}
    conflict(k, '', ids, now)
  end
end

-- row is the memory tracker's row(): the row field counting this traffic.
local function row(rk, fb, prov, cfg, fbcfg)
  if redis.call('HEXISTS', rows, rk) == 1 then return rk end
  if cfg == '1' then
    redis.call('HSET', rows, rk, prov)
    return rk
  end
  local extra = tonumber(redis.call('HGET', meta, 'extra') or '0')
  if fb ~= '' and extra >= MAXEXTRA then
    if redis.call('HEXISTS', rows, fb) == 1 then return fb end
    rk = fb
    if fbcfg == '1' then
      redis.call('HSET', rows, rk, prov)
      return rk
    end
  end
  redis.call('HSET', rows, rk, prov)
  redis.call('HINCRBY', meta, 'extra', 1)
  return rk
end

local function example(f, sess, at)
  local t = dec(redis.call('HGET', rows, f) or '')
  local out = {sess, at}
  for i = 1, #t - 1, 2 do
    if t[i] ~= sess and #out < 2 * maxEx then
      out[#out + 1] = t[i]; out[#out + 1] = t[i + 1]
    end
  end
  redis.call('HSET', rows, f, enc(out))
end

local i, applied = 11, 0
while i <= #ARGV do
  local op = ARGV[i]
  if op == 'D' then
    local r = row(ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5])
    redis.call('HINCRBY', rows, r .. '\1d', 1)
    local code = ARGV[i + 6]
    if code ~= '' then
      local f = r .. '\1r' .. code
      if redis.call('HEXISTS', rows, f) == 0 then
        if tonumber(redis.call('HGET', rows, r .. '\1n') or '0') >= MAXCODES then
          f = r .. '\1r' .. 'other'
        end
        if redis.call('HEXISTS', rows, f) == 0 then redis.call('HINCRBY', rows, r .. '\1n', 1) end
      end
      redis.call('HINCRBY', rows, f, 1)
    end
    i = i + 7
  elseif op == 'L' then
    redis.call('HINCRBY', meta, 'lookups', 1)
    local id, now = ARGV[i + 2], ARGV[i + 3]
    if ARGV[i + 1] == '0' then
      redis.call('HINCRBY', meta, 'misses', 1)
      if id ~= '' then
        local v = redis.call('HGET', miss, id)
        if v then
          touch(missL, id)
          local sp = string.find(v, ' ', 1, true)
          local last = string.sub(v, sp + 1)
          if now > last then last = now end
          redis.call('HSET', miss, id, (tonumber(string.sub(v, 1, sp - 1)) + 1) .. ' ' .. last)
        else
          lruNew(missL, miss, id, maxMiss)
          redis.call('HSET', miss, id, '1 ' .. now)
        end
      end
    end
    i = i + 4
  elseif op == 'P' then
    local r = row(ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5])
    local late, missing = ARGV[i + 6], ARGV[i + 7]
    local sess, user, email, anon, product = ARGV[i + 8], ARGV[i + 9], ARGV[i + 10], ARGV[i + 11], ARGV[i + 12]
    local normK, emailK, now, exAt = ARGV[i + 13], ARGV[i + 14], ARGV[i + 15], ARGV[i + 16]
    redis.call('HINCRBY', rows, r .. '\1p', 1)
    if late == '1' then
      redis.call('HINCRBY', rows, r .. '\1l', 1)
      if sess ~= '' and maxEx > 0 then example(r .. '\1y', sess, exAt) end
    end
    if missing == '1' then
      redis.call('HINCRBY', rows, r .. '\1m', 1)
      if sess ~= '' and maxEx > 0 then example(r .. '\1x', sess, exAt) end
    end
    if user ~= '' then
      addID(kk('n', normK, ''), user, '', '')
      if emailK ~= '' then
        local ek = kk('e', emailK, '')
        local e, added = addID(ek, user, product, email)
        if added then
          local users = {}
          for _, ref in ipairs(e.ids) do
            if not has(users, ref[1]) then users[#users + 1] = ref[1] end
          end
          if #users > 1 then conflict(ek, e.display, e.ids, now) end
        end
      end
      if anon ~= '' and anon ~= user then addID(kk('a', anon, ''), user, '', '') end
    end
    if sess ~= '' and (user ~= '' or anon ~= '') then session(product, sess, user, anon, now) end
    i = i + 17
  else
    return redis.error_reply('ERR replayhook: unknown drift observation')
  end
  applied = applied + 1
end

redis.call('SET', seqK, seq, 'PX', ttl)
for k = 1, 8 do redis.call('PEXPIRE', KEYS[k], ttl) end
return applied
`

// driftResetScript starts a new window: the window's keys are deleted and
// its start set. ARGV: 1 start, 2 TTL in ms.
const driftResetScript = driftLuaLib + `
redis.call('DEL', meta, rows, miss, missL, conf, confL)
redis.call('HSET', meta, 'start', ARGV[1])
redis.call('PEXPIRE', meta, ARGV[2])
return 1
`

// driftForgetScript erases a user id from the tables, as Memory.Forget
// does: its lookup miss, its refs in known entries (an entry left with no
// id and no anonymous id is deleted, as is the entry of the id used as an
// anonymous id), and its refs in conflicts (a conflict left with fewer than
// two users is deleted). It reads the known and conflict hashes whole
// (bounded by the limits: about 100 ms of Redis's time with 100 000 known
// ids), which an erasure, rare and asked by a person, can afford.
// ARGV: 1 the user id.
const driftForgetScript = driftLuaLib + `
local id = ARGV[1]
redis.call('HDEL', miss, id)
redis.call('ZREM', missL, id)
local anonKey = kk('a', id, '')
local kv = redis.call('HGETALL', known)
for i = 1, #kv, 2 do
  local k, e = kv[i], decEntry(kv[i + 1])
  local ids, anons = {}, {}
  for _, r in ipairs(e.ids) do if r[1] ~= id then ids[#ids + 1] = r end end
  for _, a in ipairs(e.anons) do if a ~= id then anons[#anons + 1] = a end end
  if k == anonKey or (#ids == 0 and #anons == 0) then
    redis.call('HDEL', known, k)
    redis.call('ZREM', knownL, k)
  elseif #ids ~= #e.ids or #anons ~= #e.anons then
    e.ids, e.anons = ids, anons
    redis.call('HSET', known, k, encEntry(e))
  end
end
local cv = redis.call('HGETALL', conf)
for i = 1, #cv, 2 do
  local t = dec(cv[i + 1])
  local out, users = {t[1], t[2]}, {}
  for j = 3, #t - 1, 2 do
    if t[j] ~= id then
      out[#out + 1] = t[j]; out[#out + 1] = t[j + 1]
      if not has(users, t[j]) then users[#users + 1] = t[j] end
    end
  end
  if #users < 2 then
    redis.call('HDEL', conf, cv[i])
    redis.call('ZREM', confL, cv[i])
  elseif #out ~= #t then
    redis.call('HSET', conf, cv[i], enc(out))
  end
end
return 1
`

// scripts are the drift's scripts, loaded on first use (EVALSHA, then
// EVAL when Redis does not know them, as after a restart).
type scripts struct {
	apply, reset, forget *redis.Script
}

func newScripts() scripts {
	return scripts{apply: redis.NewScript(driftApplyScript), reset: redis.NewScript(driftResetScript), forget: redis.NewScript(driftForgetScript)}
}
