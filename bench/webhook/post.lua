-- wrk script: POST a 200-byte JSON body (the same for weft and nginx) and
-- print p50/p99 latency and the count of non-2xx answers in one parsable line.
local pad = string.rep("x", 200 - #'{"event":"asset.created","asset_id":12345,"pad":""}')
wrk.method = "POST"
wrk.body = '{"event":"asset.created","asset_id":12345,"pad":"' .. pad .. '"}'
wrk.headers["Content-Type"] = "application/json"
if os.getenv("WRK_GET") then  -- run.sh's /healthz phase: weft's HTTP layer alone
  wrk.method = "GET"
  wrk.body = nil
  wrk.headers["Content-Type"] = nil
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status or 0
  io.write(string.format("RESULT requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f non2xx=%d sockerr=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, non2xx,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
