-- Appended to every workload script: prints one JSON line that bench/wrk.py parses.
function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"bench": 1, "requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"non2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
