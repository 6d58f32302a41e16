-- wrk script for N-6: GET one record per request, cycling through the ids of a file, with the API key
-- from the environment; prints one JSON line with the counts and latency percentiles when done. A line
-- may hold several values separated by spaces: each {id} of the path takes the next one.
local ids = {}
for line in io.lines(os.getenv("CONSORTIA_BENCH_IDS_FILE")) do
  if line ~= "" then
    local values = {}
    for value in line:gmatch("%S+") do values[#values + 1] = value end
    ids[#ids + 1] = values
  end
end
local template = os.getenv("CONSORTIA_BENCH_PATH")
local headers = {
  ["Authorization"] = "apikey " .. os.getenv("CONSORTIA_BENCH_API_KEY"),
  ["Accept"] = "application/json",
}
local counter = 0

function setup(thread)
  -- spread the threads over the ids
  thread:set("counter", math.random(#ids))
end

function request()
  counter = counter % #ids + 1
  local values, next_value = ids[counter], 0
  local path = template:gsub("{id}", function()
    next_value = next_value + 1
    return values[next_value]
  end)
  return wrk.format("GET", path, headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "microseconds": %d, "errors": %d, "status_errors": %d, "p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
