-- wrk script of the bench: counts answers by HTTP status and prints one JSON line
-- ("BENCH_JSON {...}") with the latency percentiles. wrk_bodies.lua is appended to
-- it for requests whose bodies must differ.

local threads = {}
statuses = {}
exhausted = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("index", #threads)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

local function json_object(map)
  local parts = {}
  for key, value in pairs(map) do
    table.insert(parts, string.format('"%s": %d', tostring(key), value))
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
  local total_statuses = {}
  local threads_exhausted = 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total_statuses[status] = (total_statuses[status] or 0) + count
    end
    threads_exhausted = threads_exhausted + thread:get("exhausted")
  end
  local errors = summary.errors
  local mean = latency.mean
  if mean ~= mean then
    mean = 0 -- NaN: no request completed
  end
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}, '
      .. '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "p999": %d, "max": %d, "mean": %.1f}, '
      .. '"statuses": %s, "threads_out_of_bodies": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.timeout, errors.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, mean,
    json_object(total_statuses), threads_exhausted
  ))
end
