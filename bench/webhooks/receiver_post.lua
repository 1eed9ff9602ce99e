-- SPDX-License-Identifier: Apache-2.0
-- receiver_post.lua: wrk script for the baseline of the webhook benchmark
-- (bench/webhooks/run): it POSTs to bench/webhooks/receiver what mintfaxd's
-- dispatcher would: the body of a real event (read from the file named by
-- MFX_BENCH_BODY_FILE) and the same headers with values of the same sizes
-- (webhook-id unique per request, a signature of each scheme). done() prints a
-- RESULT line the script reads.

local path = os.getenv("MFX_BENCH_PATH") or "/baseline"
local counter = 0

function init(args)
   local f = assert(io.open(os.getenv("MFX_BENCH_BODY_FILE") or "body.json", "rb"))
   body = f:read("*a")
   f:close()
   headers = {
      ["Content-Type"] = "application/json",
      ["User-Agent"] = "mintfax-webhooks/1.0",
      ["webhook-timestamp"] = tostring(os.time()),
      ["webhook-signature"] = "v1," .. string.rep("A", 43) .. "=",
      ["X-Mintfax-Signature"] = "t=" .. tostring(os.time()) .. ",v1=" .. string.rep("0", 64),
   }
end

function request()
   counter = counter + 1
   headers["webhook-id"] = string.format("evt_BENCH%021d", counter)
   headers["Request-Id"] = string.format("req_BENCH%021d", counter)
   return wrk.format("POST", path, headers, body)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d status_errors=%d socket_errors=%d " ..
      "p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
      summary.requests, summary.duration, e.status,
      e.connect + e.read + e.write + e.timeout,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
