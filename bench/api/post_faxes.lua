-- SPDX-License-Identifier: Apache-2.0
-- post_faxes.lua: wrk script for the POST half of the API benchmark
-- (bench/api/run). Every request is POST /v1/faxes with the JSON body
-- {"to": MFX_BENCH_TO, "document_id": MFX_BENCH_DOC} and an Idempotency-Key
-- that no other request of any run uses (run prefix, wrk thread, counter), so
-- each one must create a fax, durable before its 201. The key comes from
-- MFX_BENCH_KEY. done() prints a RESULT line that bench/api/run reads; the
-- same script drives the bare server, which ignores what it is sent.

local key = os.getenv("MFX_BENCH_KEY") or "mfx_test_missing"
local doc = os.getenv("MFX_BENCH_DOC") or "doc_missing"
local to = os.getenv("MFX_BENCH_TO") or "+15005550001"
local run = os.getenv("MFX_BENCH_RUN") or tostring(os.time())
local path = os.getenv("MFX_BENCH_PATH") or "/v1/faxes"

local threads = {}
local counter = 0

function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

function init(args)
   body = '{"to":"' .. to .. '","document_id":"' .. doc .. '"}'
   headers = {
      ["Authorization"] = "Bearer " .. key,
      ["Content-Type"] = "application/json",
   }
end

function request()
   counter = counter + 1
   headers["Idempotency-Key"] = "bench-" .. run .. "-" .. tid .. "-" .. counter
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
