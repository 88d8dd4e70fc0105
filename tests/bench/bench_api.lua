-- bench_api.lua: wrk's requests for bench_api (tests/bench/bench_api.py).
--
-- From the environment: EQMS_BENCH_TOKEN (the bearer token), EQMS_BENCH_METHOD
-- (GET or POST, default GET), EQMS_BENCH_PATHS (paths separated by spaces,
-- taken in turn by each of wrk's threads) and EQMS_BENCH_BODY (the JSON body
-- of a POST). At the end one JSON line with the totals and the latency
-- percentiles (microseconds) that bench_api.py reads.

local method = os.getenv("EQMS_BENCH_METHOD") or "GET"
local body = os.getenv("EQMS_BENCH_BODY")
local paths = {}
for p in string.gmatch(os.getenv("EQMS_BENCH_PATHS") or "/", "%S+") do
    paths[#paths + 1] = p
end
local turn = 0

wrk.headers["Authorization"] = "Bearer " .. (os.getenv("EQMS_BENCH_TOKEN") or "")
if body then
    wrk.headers["Content-Type"] = "application/json"
end

function setup(thread)
    -- the threads start at different paths
    thread:set("turn", math.random(0, #paths - 1))
end

function request()
    turn = turn % #paths + 1
    return wrk.format(method, paths[turn], nil, body)
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        '{"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,' ..
        '"read_errors":%d,"write_errors":%d,"timeouts":%d,"non2xx":%d,' ..
        '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
        summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
        e.timeout, e.status, latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency.max, latency.mean))
end
