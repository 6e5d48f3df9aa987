-- wrk script for bench/gateway.py: sends JOIST_BENCH_BODY as a JSON POST when it is set,
-- JOIST_BENCH_AUTHORIZATION as the Authorization header when it is set, and prints one JSON line
-- at the end with the counts and latency percentiles (microseconds).
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

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
      .. '"socket_errors": %d, "non_2xx": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.connect + errors.read + errors.write + errors.timeout, errors.status))
end
