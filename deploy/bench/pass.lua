-- wrk script for deploy/bench/register.sh: GETs pass pages, one token per request
-- picked at random from the file named by BENCH_PASS_TOKENS (one token a line);
-- prints one RESULT line for the shell.

local path = assert(os.getenv("BENCH_PASS_TOKENS"), "BENCH_PASS_TOKENS is not set")
local file = assert(io.open(path))
local tokens = {}
for line in file:lines() do
  if line ~= "" then table.insert(tokens, line) end
end
file:close()
assert(#tokens > 0, "no pass tokens")

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 16 + id)
end

ok = 0
other = 0
sample = ""

function request()
  return wrk.format("GET", "/p/" .. tokens[math.random(#tokens)])
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  else
    other = other + 1
    if sample == "" then sample = status .. " " .. string.sub(body or "", 1, 200) end
  end
end

function done(summary, latency, requests)
  local total_ok, total_other, first = 0, 0, ""
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_other = total_other + thread:get("other")
    if first == "" then first = thread:get("sample") end
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format("RESULT %.0f %.2f %.2f %d %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    total_ok, total_other, errors))
  if first ~= "" then io.write("first non-200: " .. first .. "\n") end
end
