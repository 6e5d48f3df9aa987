-- wrk script for bench/gateway.py: sends JOIST_BENCH_BODY as a JSON POST when it is set,
-- JOIST_BENCH_AUTHORIZATION as the Authorization header when it is set, and prints one JSON line
-- at the end with the counts and latency percentiles (microseconds). With JOIST_BENCH_PAUSE_MS,
-- each connection waits a random time (exponential, that mean, in whole milliseconds as wrk
-- takes them) after each answer before its next request, so that N connections together send
-- requests at random times, about N / pause per second (as bench/grpc_load.py's --pause does).
local authorization = os.getenv("JOIST_BENCH_AUTHORIZATION")
if authorization ~= nil and authorization ~= "" then
  wrk.headers["Authorization"] = authorization
end
local body = os.getenv("JOIST_BENCH_BODY")
if body ~= nil and body ~= "" then
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end

local pause_ms = tonumber(os.getenv("JOIST_BENCH_PAUSE_MS") or "") or 0
if pause_ms > 0 then
  math.randomseed(os.time())
  function delay()
    return math.floor(-pause_ms * math.log(1 - math.random()) + 0.5)
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
      .. '"socket_errors": %d, "non_2xx": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.connect + errors.read + errors.write + errors.timeout, errors.status))
end
