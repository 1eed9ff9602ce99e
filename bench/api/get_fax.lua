-- SPDX-License-Identifier: Apache-2.0
-- get_fax.lua: wrk script for the GET half of the API benchmark
-- (bench/api/run): GET of the URL given to wrk (/v1/faxes/{id}) with the
-- sandbox key from MFX_BENCH_KEY. It only adds the header and a done() that
-- prints a RESULT line for bench/api/run; the same script drives the bare
-- server, which ignores the key.

local key = os.getenv("MFX_BENCH_KEY") or "mfx_test_missing"
wrk.headers["Authorization"] = "Bearer " .. key

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d status_errors=%d socket_errors=%d " ..
      "p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
      summary.requests, summary.duration, e.status,
      e.connect + e.read + e.write + e.timeout,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
