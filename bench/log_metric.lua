-- wrk script for bench/mlflow_api.py: MLflow's POST /api/2.0/mlflow/runs/log-metric, one
-- distinct point a call (step = thread index * 1e9 + the thread's call count), so that the
-- bench can afterwards count stored points against acknowledged calls.
-- Environment: BENCH_RUN_ID, BENCH_KEY. Prints one line "BENCH_JSON {...}" when done.

local run_id = os.getenv("BENCH_RUN_ID")
local key = os.getenv("BENCH_KEY")
local headers = { ["Content-Type"] = "application/json" }
local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function init(args)
  sent = 0
  ok = 0
  refused = 0
  base = index * 1000000000
  timestamp = os.time() * 1000
end

function request()
  sent = sent + 1
  local body = string.format(
    '{"run_id":"%s","key":"%s","value":%d.25,"timestamp":%d,"step":%d}',
    run_id, key, sent, timestamp, base + sent
  )
  return wrk.format("POST", "/api/2.0/mlflow/runs/log-metric", headers, body)
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  else
    refused = refused + 1
  end
end

function done(summary, latency, requests)
  local total_ok, total_refused, total_sent = 0, 0, 0
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_refused = total_refused + thread:get("refused")
    total_sent = total_sent + thread:get("sent")
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"duration_us":%d,"requests":%d,"ok":%d,"refused":%d,"sent":%d,' ..
    '"socket_errors":%d,"timeouts":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.duration, summary.requests, total_ok, total_refused, total_sent,
    errors.connect + errors.read + errors.write, errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max
  ))
end
