
-- Appended to wrk_report.lua: POSTs bodies read from a file, one per line, each sent
-- once (login codes are single use). Arguments after --: the file and the number of
-- wrk threads; the file is split between the threads, and a thread whose share is
-- used up stops (reported as threads_out_of_bodies).
local bodies = {}
local next_body = 1

function init(args)
  local thread_count = tonumber(args[2])
  local line_number = 0
  for line in io.lines(args[1]) do
    if line_number % thread_count == index - 1 then
      table.insert(bodies, line)
    end
    line_number = line_number + 1
  end
end

function request()
  if next_body > #bodies then
    exhausted = 1
    wrk.thread:stop()
    return wrk.format("GET", "/api/v2/ping")
  end
  local body = bodies[next_body]
  next_body = next_body + 1
  return wrk.format("POST", nil, nil, body)
end
