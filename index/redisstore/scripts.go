package redisstore

import "github.com/redis/go-redis/v9"

// The Lua scripts behind every read-modify-write. Each touches the keys of
// one user, one session, one delivery or one anonymous id only (one hash
// tag, so one Cluster slot), and runs atomically in Redis.
//
// Times cross the Lua boundary as strings written by Go
// (strconv.FormatFloat 'g', -1): Lua compares them with tonumber, which
// parses them to the same double, and stores the string it was given, never
// one Lua formatted (Lua prints only 14 digits). Claim and alias times are
// "seconds nanoseconds" integer pairs, exact in Lua's doubles.

// luaUserFields is a Lua function shared by the user scripts: it reads a
// user's hash (HGETALL reply) into id, seq, the legacy single email, the
// emails per product ("e:<product>" fields) and the refs ("r:<len>:<product>
// <session>" fields, value "<seq> <time>").
const luaUserFields = `
local function userFields(all)
  local u = {id = false, seq = 0, legacy = false, emails = {}, refs = {}}
  for i = 1, #all, 2 do
    local f, v = all[i], all[i + 1]
    local tag = string.sub(f, 1, 2)
    if f == 'id' then
      u.id = v
    elseif f == 'seq' then
      u.seq = tonumber(v)
    elseif f == 'email' then
      u.legacy = v
    elseif tag == 'e:' then
      u.emails[string.sub(f, 3)] = v
    elseif tag == 'r:' then
      local plen, rest = string.match(f, '^r:(%d+):(.*)$')
      local sp = string.find(v, ' ', 1, true)
      local ts = string.sub(v, sp + 1)
      u.refs[#u.refs + 1] = {f = f, v = v, p = string.sub(rest, 1, tonumber(plen)),
        seq = tonumber(string.sub(v, 1, sp - 1)), ts = ts, t = tonumber(ts)}
    end
  end
  return u
end
local function newestFirst(a, b)
  if a.t ~= b.t then return a.t > b.t end
  return a.seq > b.seq
end
`

// linkScript records one user → session ref.
//
// KEYS[1]: the user's hash: "id" (the user id), "seq" (link counter), one
// field "e:<product>" per product with an email, and one field "r:<ref>"
// per ref with the value "<seq> <time>": the counter value of the ref's
// last link orders refs of equal time (the latest link first), as in the
// memory index. A hash written before emails were kept per product holds
// one "email" field: it is moved to the product of the newest ref.
//
// ARGV: 1 user id, 2 ref field, 3 last_seen_at (clamped by the caller),
// 4 cutoff ("" = no lookback), 5 cap per product, 6 email ("" keeps the
// old one), 7 now, 8 lookback in ms ("0" = none), 9 fallback TTL in ms,
// 10 the ref's product, 11 the most products per user.
//
// It drops expired refs, keeps the newer time of an existing ref, keeps
// the newest cap refs of the ref's product (other products' refs are
// untouched), keeps the newest products, drops the email of every product
// left without a live ref and deletes the user when none is left. The key
// expires when its newest ref leaves the lookback. Returns 1 when the user
// holds refs afterwards, else 0.
const linkScript = luaUserFields + `
local key = KEYS[1]
local u = userFields(redis.call('HGETALL', key))
if u.id and u.id ~= ARGV[1] then
  return redis.error_reply('ERR replayhook: key holds another user')
end
local seq = u.seq
local cut = false
if ARGV[4] ~= '' then cut = tonumber(ARGV[4]) end
local field, ts, product = ARGV[2], ARGV[3], ARGV[10]
local t = tonumber(ts)
local existed = false
local live, drop, liveProducts = {}, {}, {}
for _, r in ipairs(u.refs) do
  if not cut or r.t >= cut then liveProducts[r.p] = true end
  if r.f == field then
    existed = true
    if r.t > t then ts, t = r.ts, r.t end
  elseif cut and r.t < cut then
    drop[#drop + 1] = r.f
  else
    live[#live + 1] = r
  end
end
-- the emails of products without a live ref die before the new ref may
-- bring the product back
for p, _ in pairs(u.emails) do
  if not liveProducts[p] then
    u.emails[p] = nil
    drop[#drop + 1] = 'e:' .. p
  end
end
if u.legacy then drop[#drop + 1] = 'email' end
if not cut or t >= cut then
  seq = seq + 1
  live[#live + 1] = {f = field, p = product, seq = seq, ts = ts, t = t, new = true}
elseif existed then
  drop[#drop + 1] = field
end
table.sort(live, newestFirst)
-- the cap applies to the ref's product; the products bound to all
local limit, maxProducts = tonumber(ARGV[5]), tonumber(ARGV[11])
local kept, same, rank, products = {}, 0, {}, 0
for _, r in ipairs(live) do
  local keep = true
  if r.p == product then
    same = same + 1
    keep = same <= limit
  end
  if keep and not rank[r.p] then
    products = products + 1
    rank[r.p] = products
  end
  if keep and rank[r.p] <= maxProducts then
    kept[#kept + 1] = r
  else
    drop[#drop + 1] = r.f
  end
end
live = kept
if #live == 0 then
  redis.call('DEL', key)
  return 0
end
if u.legacy and not u.emails[live[1].p] then
  u.emails[live[1].p] = u.legacy
  redis.call('HSET', key, 'e:' .. live[1].p, u.legacy)
end
for p, _ in pairs(u.emails) do
  if not rank[p] or rank[p] > maxProducts then drop[#drop + 1] = 'e:' .. p end
end
if #drop > 0 then
  redis.call('HDEL', key, unpack(drop))
end
local newest = live[1].t
for _, r in ipairs(live) do
  if r.new then
    redis.call('HSET', key, r.f, string.format('%d', r.seq) .. ' ' .. r.ts)
  end
end
redis.call('HSET', key, 'id', ARGV[1], 'seq', string.format('%d', seq))
if ARGV[6] ~= '' and rank[product] and rank[product] <= maxProducts then
  redis.call('HSET', key, 'e:' .. product, ARGV[6])
end
local ttl
if ARGV[8] ~= '0' then
  ttl = math.ceil((newest - tonumber(ARGV[7])) * 1000 + tonumber(ARGV[8]))
else
  ttl = tonumber(ARGV[9])
end
if ttl < 1 then ttl = 1 end
redis.call('PEXPIRE', key, string.format('%d', ttl))
return 1
`

// lookupScript reads one user's refs inside the lookback.
//
// KEYS[1]: the user's hash. ARGV: 1 user id, 2 cutoff ("" = no lookback).
//
// It drops expired refs and the emails of products left without a live ref
// (and the user when no ref is left). It returns nil for an unknown user,
// else {legacy email, field, value, field, value, ...} with the live refs
// and the emails of their products, in no particular order. It never
// creates a key.
const lookupScript = luaUserFields + `
local key = KEYS[1]
local u = userFields(redis.call('HGETALL', key))
if u.id ~= ARGV[1] then return false end
local cut = false
if ARGV[2] ~= '' then cut = tonumber(ARGV[2]) end
local out, drop, liveProducts = {u.legacy or ''}, {}, {}
for _, r in ipairs(u.refs) do
  if cut and r.t < cut then
    drop[#drop + 1] = r.f
  else
    out[#out + 1] = r.f
    out[#out + 1] = r.v
    liveProducts[r.p] = true
  end
end
if #out == 1 then
  redis.call('DEL', key)
  return false
end
for p, e in pairs(u.emails) do
  if liveProducts[p] then
    out[#out + 1] = 'e:' .. p
    out[#out + 1] = e
  else
    drop[#drop + 1] = 'e:' .. p
  end
end
if #drop > 0 then
  redis.call('HDEL', key, unpack(drop))
end
return out
`

// forgetScript deletes one user's hash if it holds that user.
//
// KEYS[1]: the user's hash. ARGV: 1 user id. Returns nil when it does not,
// else what it deleted as lookupScript returns it, every ref whatever its
// age: erasure finds the user's sessions through them.
const forgetScript = luaUserFields + `
local u = userFields(redis.call('HGETALL', KEYS[1]))
if u.id ~= ARGV[1] then return false end
local out = {u.legacy or ''}
for _, r in ipairs(u.refs) do
  out[#out + 1] = r.f
  out[#out + 1] = r.v
end
for p, e in pairs(u.emails) do
  out[#out + 1] = 'e:' .. p
  out[#out + 1] = e
end
redis.call('DEL', KEYS[1])
if #out == 1 then return false end
return out
`

// addActionsScript appends actions to one session.
//
// KEYS[1]: the session's hash: "p" product id, "s" session id, "u" last
// user id, "e" last email, "sum" summary, "at" newest event time.
// KEYS[2]: the list of actions (JSON), oldest first.
//
// ARGV: 1 product id, 2 session id, 3 user id ("" keeps), 4 email ("" keeps),
// 5 event time, 6 minus the cap ("-200"), 7 TTL in ms, 8... actions.
const addActionsScript = `
local meta = redis.call('HMGET', KEYS[1], 'p', 's', 'at')
if meta[2] and (meta[1] ~= ARGV[1] or meta[2] ~= ARGV[2]) then
  return redis.error_reply('ERR replayhook: key holds another session')
end
redis.call('HSET', KEYS[1], 'p', ARGV[1], 's', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'u', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'e', ARGV[4]) end
if not meta[3] or tonumber(ARGV[5]) > tonumber(meta[3]) then
  redis.call('HSET', KEYS[1], 'at', ARGV[5])
end
local n = #ARGV
if n >= 8 then
  for i = 8, n, 1000 do
    redis.call('RPUSH', KEYS[2], unpack(ARGV, i, math.min(i + 999, n)))
  end
  redis.call('LTRIM', KEYS[2], ARGV[6], '-1')
end
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('PEXPIRE', KEYS[2], ARGV[7])
return 1
`

// setSummaryScript replaces one session's summary.
//
// KEYS as addActionsScript. ARGV: 1 product id, 2 session id, 3 summary,
// 4 event time, 5 TTL in ms.
const setSummaryScript = `
local meta = redis.call('HMGET', KEYS[1], 'p', 's', 'at')
if meta[2] and (meta[1] ~= ARGV[1] or meta[2] ~= ARGV[2]) then
  return redis.error_reply('ERR replayhook: key holds another session')
end
redis.call('HSET', KEYS[1], 'p', ARGV[1], 's', ARGV[2], 'sum', ARGV[3])
if not meta[3] or tonumber(ARGV[4]) > tonumber(meta[3]) then
  redis.call('HSET', KEYS[1], 'at', ARGV[4])
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return 1
`

// claimScript claims one delivery unless a live claim or confirmation
// holds it.
//
// KEYS[1]: the delivery's key. Its value is "<sec> <nsec> <token>" once
// confirmed (the confirmation time and a token unique to the claim), and
// "P <sec> <nsec> <token>" while only claimed (the claim time). ARGV: 1 the
// new claim's value (with its "P "), 2 window cutoff seconds ("" = no
// window), 3 window cutoff nanoseconds, 4 lease cutoff seconds, 5 lease
// cutoff nanoseconds, 6 the claim's TTL in ms (the lease). Returns 1 when
// claimed, 0 when confirmed inside the window (seen; the window is not
// extended), 2 when claimed by another request inside the lease (in
// flight).
const claimScript = luaAfter + `
local v = redis.call('GET', KEYS[1])
if v then
  if string.sub(v, 1, 2) == 'P ' then
    if after(v, '^P ', ARGV[4], ARGV[5]) then return 2 end
  else
    if ARGV[2] == '' then return 0 end
    if after(v, '^', ARGV[2], ARGV[3]) then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[6])
return 1
`

// luaAfter is a Lua function shared by the dedupe scripts: whether the
// time at the start of value v (after prefix: "<sec> <nsec>") is at or
// after the cutoff (cs, cn).
const luaAfter = `
local function after(v, prefix, cs, cn)
  local s, n = string.match(v, prefix .. '(%-?%d+) (%d+)')
  if not s then return false end
  s, n = tonumber(s), tonumber(n)
  cs, cn = tonumber(cs), tonumber(cn)
  return s > cs or (s == cs and n >= cn)
end
`

// confirmScript marks one delivery stored, unless it is confirmed inside
// the window already (the window is not extended).
//
// KEYS[1]: the delivery's key. ARGV: 1 the confirmed value, 2 window
// cutoff seconds ("" = no window), 3 window cutoff nanoseconds, 4 TTL in
// ms (the window). Returns 1 when confirmed now, 0 when it already was.
const confirmScript = luaAfter + `
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 2) ~= 'P ' then
  if ARGV[2] == '' then return 0 end
  if after(v, '^', ARGV[2], ARGV[3]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
return 1
`

// releaseIfScript deletes a claim if it is still the one with that value,
// or, with an empty value, whatever unconfirmed claim holds the key (a
// confirmed key is never released).
//
// KEYS[1]: the delivery's key. ARGV: 1 the claim's value, or "". Returns 1
// if deleted.
const releaseIfScript = `
local v = redis.call('GET', KEYS[1])
if v and (v == ARGV[1] or (ARGV[1] == '' and string.sub(v, 1, 2) == 'P ')) then
  return redis.call('DEL', KEYS[1])
end
return 0
`

// rememberScript links an anonymous id to its user.
//
// KEYS[1]: the alias hash: "p" product, "anon", "u" user id, "e" email,
// "s" and "n" the time of the last identify. ARGV: 1 anonymous id, 2 user
// id, 3 email ("" keeps it for the same user), 4 seconds, 5 nanoseconds,
// 6 TTL in ms, 7 product.
const rememberScript = `
local cur = redis.call('HMGET', KEYS[1], 'anon', 'u', 'p')
if cur[1] and (cur[1] ~= ARGV[1] or (cur[3] or '') ~= ARGV[7]) then
  return redis.error_reply('ERR replayhook: key holds another anonymous id')
end
if cur[2] ~= ARGV[2] then redis.call('HDEL', KEYS[1], 'e') end
redis.call('HSET', KEYS[1], 'anon', ARGV[1], 'u', ARGV[2], 's', ARGV[4], 'n', ARGV[5], 'p', ARGV[7])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'e', ARGV[3]) end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 1
`

// resolveScript reads who an anonymous id belongs to.
//
// KEYS[1]: the alias hash. ARGV: 1 anonymous id, 2 cutoff seconds ("" = no
// ttl), 3 cutoff nanoseconds, 4 product. Returns nil when unknown or
// expired (an expired alias is deleted), else {user id, email}.
const resolveScript = `
local v = redis.call('HMGET', KEYS[1], 'anon', 'u', 'e', 's', 'n', 'p')
if v[1] ~= ARGV[1] or not v[2] or (v[6] or '') ~= ARGV[4] then return false end
if ARGV[2] ~= '' then
  local s, n = tonumber(v[4]), tonumber(v[5])
  local cs, cn = tonumber(ARGV[2]), tonumber(ARGV[3])
  if not s or not n or s < cs or (s == cs and n < cn) then
    redis.call('DEL', KEYS[1])
    return false
  end
end
return {v[2], v[3] or ''}
`

// eraseSessionScript erases a user from one session.
//
// KEYS as addActionsScript. ARGV: 1 product id, 2 session id, 3 user id,
// 4 the session email to clear ("" = none), 5 "1" to delete the session
// whole, 6... the actions (as stored) to remove. The session is deleted
// whole only if it still is the user's or has no user ("u" is the user id
// or absent: the caller judged it the user's, and no other user wrote to
// it since); else the actions are removed (every copy) and "e" is cleared
// if it still is ARGV[4]. Returns 1 if anything changed.
const eraseSessionScript = `
local meta = redis.call('HMGET', KEYS[1], 'p', 's', 'u', 'e')
if meta[1] ~= ARGV[1] or meta[2] ~= ARGV[2] then return 0 end
if ARGV[5] == '1' and (meta[3] == ARGV[3] or not meta[3]) then
  redis.call('DEL', KEYS[1], KEYS[2])
  return 1
end
local n = 0
for i = 6, #ARGV do
  n = n + redis.call('LREM', KEYS[2], 0, ARGV[i])
end
if ARGV[4] ~= '' and meta[4] == ARGV[4] then
  redis.call('HDEL', KEYS[1], 'e')
  n = n + 1
end
if meta[3] == ARGV[3] then
  redis.call('HDEL', KEYS[1], 'u')
  n = n + 1
end
if n > 0 then return 1 end
return 0
`

// forgetAliasScript deletes an alias hash if it still belongs to the user.
//
// KEYS[1]: the alias hash. ARGV: 1 user id. Returns 1 if deleted.
const forgetAliasScript = `
if redis.call('HGET', KEYS[1], 'u') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`

// scripts holds the compiled scripts (client-side SHA1, EVALSHA with an
// EVAL fallback after a Redis restart emptied its script cache).
type scripts struct {
	link, lookup, forget, addActions, setSummary, claim, confirm, releaseIf, remember, resolve, forgetAlias, eraseSession *redis.Script
}

func newScripts() scripts {
	return scripts{
		link: redis.NewScript(linkScript), lookup: redis.NewScript(lookupScript), forget: redis.NewScript(forgetScript),
		addActions: redis.NewScript(addActionsScript), setSummary: redis.NewScript(setSummaryScript),
		claim: redis.NewScript(claimScript), confirm: redis.NewScript(confirmScript), releaseIf: redis.NewScript(releaseIfScript),
		remember: redis.NewScript(rememberScript), resolve: redis.NewScript(resolveScript),
		forgetAlias: redis.NewScript(forgetAliasScript), eraseSession: redis.NewScript(eraseSessionScript),
	}
}

func (s scripts) all() []*redis.Script {
	return []*redis.Script{s.link, s.lookup, s.forget, s.addActions, s.setSummary, s.claim, s.confirm, s.releaseIf, s.remember, s.resolve, s.forgetAlias, s.eraseSession}
}
