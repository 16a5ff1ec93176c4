-- wrk's script for bench/intake.py: POSTs realistic submissions, one JSON document a
-- line in the file BENCH_BODIES names, each request the next body in turn. The requests
-- are formatted once, at the start: what wrk does per request stays a table lookup, so
-- that the generator's share of the two cores stays small (bench/intake.py reports it).
-- At the end, one line of JSON with what the benchmark reads.

local requests = {}
local next_one = 0

function init(args)
  local path = os.getenv("BENCH_BODIES")
  for line in io.lines(path) do
    requests[#requests + 1] = wrk.format("POST", "/v1/difficulties",
      { ["Content-Type"] = "application/json" }, line)
  end
  assert(#requests > 0, "no bodies in " .. tostring(path))
end

function request()
  next_one = next_one % #requests + 1
  return requests[next_one]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx_3xx": %d, "connect_errors": %d, '
      .. '"read_errors": %d, "write_errors": %d, "timeouts": %d, '
      .. '"p50_us": %d, "p99_us": %d, "p999_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
