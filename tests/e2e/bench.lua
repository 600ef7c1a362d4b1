-- wrk script for `portcullis serve`: Dovecot-shaped allow + report requests over keep-alive,
-- alternating, with sources drawn from a large space so the engine's tables see many
-- distinct addresses. Usage (see docs/bench/server.md):
--   PC_AUTH="Basic ..." PC_SPACE=ipv6 wrk -t2 -c64 -d30s --latency -s tests/e2e/bench.lua http://127.0.0.1:8300
local auth = os.getenv("PC_AUTH") or ""
local space = os.getenv("PC_SPACE") or "ipv4"
local n = 0

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed or os.time())
end

local function source()
  if space == "ipv6" then
    -- 2001:db8::/32 with 64 random low bits: practically every request a new address.
    return string.format("2001:db8:%x:%x::%x:%x", math.random(0, 65535), math.random(0, 65535),
      math.random(0, 65535), math.random(0, 65535))
  end
  -- 198.18.0.0/15 (benchmarking range): 131,072 addresses.
  return string.format("198.%d.%d.%d", math.random(18, 19), math.random(0, 255), math.random(1, 254))
end

function request()
  n = n + 1
  local login = string.format("user%05d@example.org", math.random(0, 9999))
  local src = source()
  local body, cmd
  if n % 2 == 1 then
    cmd = "allow"
    body = string.format('{"login":"%s","pwhash":"%03x","remote":"%s","device_id":"","protocol":"imap","session_id":"s%d","tls":true}',
      login, math.random(0, 4095), src, n)
  else
    cmd = "report"
    body = string.format('{"login":"%s","pwhash":"%03x","remote":"%s","device_id":"","protocol":"imap","session_id":"s%d","tls":true,"success":%s,"policy_reject":false}',
      login, math.random(0, 4095), src, n, (math.random() < 0.9) and "true" or "false")
  end
  return wrk.format("POST", "/?command=" .. cmd,
    { ["Content-Type"] = "application/json", ["Authorization"] = auth }, body)
end

local non200 = 0
function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("requests: %d, errors: %d, p50: %.3f ms, p99: %.3f ms, p99.9: %.3f ms\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000))
end
