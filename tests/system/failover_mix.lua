-- wrk script of the failover tests: cycles GET /albums/<id>, GET /me and
-- POST /albums/<id>/plays, counts answers by kind and prints one FAILOVER_JSON line.
-- Arguments after --: album id, bearer token, appid.
local threads = {}
local mix = {}
local next_request = 0
ok, failed, plays_acknowledged = 0, 0, 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local headers = { ["X-Mini-Program"] = args[3], ["Authorization"] = "Bearer " .. args[2] }
  mix[1] = wrk.format("GET", "/api/v2/albums/" .. args[1], headers)
  mix[2] = wrk.format("GET", "/api/v2/me", headers)
  mix[3] = wrk.format("POST", "/api/v2/albums/" .. args[1] .. "/plays", headers)
end

function request()
  next_request = next_request % #mix + 1
  return mix[next_request]
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    failed = failed + 1
  end
  if status == 202 then
    plays_acknowledged = plays_acknowledged + 1
  end
end

function done(summary, latency, requests)
  local totals = { ok = 0, failed = 0, plays_acknowledged = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + thread:get(name)
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'FAILOVER_JSON {"requests": %d, "ok": %d, "failed_status": %d, "socket_errors": %d, '
      .. '"plays_acknowledged": %d, "latency_max_ms": %.1f}\n',
    summary.requests, totals.ok, totals.failed,
    errors.connect + errors.read + errors.write + errors.timeout,
    totals.plays_acknowledged, latency.max / 1000
  ))
end
