-- SPDX-License-Identifier: Apache-2.0
-- topups.lua: wrk script that causes events for the throughput half of the
-- webhook benchmark (bench/webhooks/run). Every request is
-- POST /v1/environment/topups {"amount": 1} with the sandbox key from
-- MFX_BENCH_KEY: one committed top-up, one balance.topup event, one delivery
-- per subscribed endpoint. done() prints a RESULT line the script reads.

local key = os.getenv("MFX_BENCH_KEY") or "mfx_test_missing"

function init(args)
   body = '{"amount":1}'
   headers = {
      ["Authorization"] = "Bearer " .. key,
      ["Content-Type"] = "application/json",
   }
end

function request()
   return wrk.format("POST", "/v1/environment/topups", headers, body)
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
