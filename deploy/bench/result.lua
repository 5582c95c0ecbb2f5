-- The RESULT line the bench scripts' shell reads, shared by the wrk scripts that
-- count nothing of their own (console.lua, gate.lua, pass.lua load it with dofile):
-- requests/s, p50 and p99 in ms, answers in 2xx/3xx, other answers, socket errors.

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format("RESULT %.0f %.2f %.2f %d %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests - summary.errors.status, summary.errors.status, errors))
end
