-- wrk script for `portcullis serve`: Dovecot-shaped allow + report requests over keep-alive,
-- alternating. Usage (see docs/bench/server.md):
--   PC_AUTH="Basic ..." PC_SPACE=ipv4 PC_MIX=worst wrk -t1 -c64 -d30s --latency \
--     -s tests/e2e/bench.lua http://127.0.0.1:8300
--
-- PC_MIX=worst (default, the worst case for the server): every request draws a random account
--   (10,000) and a random source, allows and reports are independent, 90 % of reports are
--   successes. Nearly every success is a new account x address pair, i.e. a new familiar
--   source the store has to write.
-- PC_MIX=realistic (a mail server's ordinary day, NOT the worst case): each account has 2 or 3
--   stable addresses derived from its number (its phone, its desktop, its office); 97 % of
--   logins come from one of them and 3 % from a random address; 8 % of logins fail. Each login
--   is an `allow` followed by a `report` of the same account, source and password hash.
-- PC_SPACE=ipv4: sources in 198.18.0.0/15 (131,072 addresses). PC_SPACE=ipv6: a fresh random
--   address in 2001:db8::/32 on practically every request (a flood of distinct sources).
-- PC_PREGEN=N (default 1048576): the requests are built in init(), before wrk's clock starts,
--   and request() only hands out the next one, cycling after N (make N at least the run's
--   request count, so that the worst mix stays all-new pairs). PC_PREGEN=0 builds each
--   request in request() instead, as earlier versions of this script did; that costs wrk
--   several microseconds of Lua per request on the CPUs it shares with the server.
-- There is no response() callback: wrk then skips parsing every answer into Lua (its own
--   documented cost), and counts non-2xx/3xx answers itself ("Non-2xx or 3xx responses").
local auth = os.getenv("PC_AUTH") or ""
local space = os.getenv("PC_SPACE") or "ipv4"
local mix = os.getenv("PC_MIX") or "worst"
local n = 0
-- The login in flight (realistic mix): allow sends it, the following report finishes it.
local cur_login, cur_src, cur_hash

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

local pregen = tonumber(os.getenv("PC_PREGEN") or "1048576")
local reqs = nil
local nreqs = 0
local next_req = 0
local generate

local function random_source()
  if space == "ipv6" then
    -- 2001:db8::/32 with 64 random low bits: practically every request a new address.
    return string.format("2001:db8:%x:%x::%x:%x", math.random(0, 65535), math.random(0, 65535),
      math.random(0, 65535), math.random(0, 65535))
  end
  -- 198.18.0.0/15 (benchmarking range): 131,072 addresses.
  return string.format("198.%d.%d.%d", math.random(18, 19), math.random(0, 255), math.random(1, 254))
end

-- Stable address k (0-based) of account a, the same on every run and in every wrk thread.
local function stable_source(a, k)
  local h = (a * 2654435761 + (k + 1) * 40503) % 131072
  local b3 = h % 254 + 1
  local b2 = math.floor(h / 254) % 256
  return string.format("198.%d.%d.%d", 18 + math.floor(h / 65024) % 2, b2, b3)
end

local function body_of(login, src, hash, extra)
  return string.format('{"login":"%s","pwhash":"%03x","remote":"%s","device_id":"","protocol":"imap","session_id":"s%d","tls":true%s}',
    login, hash, src, n, extra)
end

local function post(cmd, body)
  return wrk.format("POST", "/?command=" .. cmd,
    { ["Content-Type"] = "application/json", ["Authorization"] = auth }, body)
end

generate = function()
  n = n + 1
  if mix == "realistic" then
    if n % 2 == 1 then
      local a = math.random(0, 9999)
      cur_login = string.format("user%05d@example.org", a)
      if math.random() < 0.97 then
        cur_src = stable_source(a, math.random(0, 1 + a % 2))
      else
        cur_src = random_source()
      end
      cur_hash = math.random(0, 4095)
      return post("allow", body_of(cur_login, cur_src, cur_hash, ""))
    end
    local ok = (math.random() < 0.92) and "true" or "false"
    return post("report", body_of(cur_login, cur_src, cur_hash,
      ',"success":' .. ok .. ',"policy_reject":false'))
  end
  local login = string.format("user%05d@example.org", math.random(0, 9999))
  local src = random_source()
  if n % 2 == 1 then
    return post("allow", body_of(login, src, math.random(0, 4095), ""))
  end
  local ok = (math.random() < 0.9) and "true" or "false"
  return post("report", body_of(login, src, math.random(0, 4095),
    ',"success":' .. ok .. ',"policy_reject":false'))
end

function init(args)
  math.randomseed(seed or os.time())
  if pregen > 0 then
    reqs = {}
    for i = 1, pregen do reqs[i] = generate() end
    nreqs = pregen
  end
end

function request()
  if reqs == nil then return generate() end
  next_req = next_req % nreqs + 1
  return reqs[next_req]
end

function done(summary, latency, requests)
  io.write(string.format("requests: %d, errors: %d, p50: %.3f ms, p99: %.3f ms, p99.9: %.3f ms\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000))
end
