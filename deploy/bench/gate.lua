-- wrk script for deploy/bench/gate.sh: POSTs gate check-ins (POST /api/v1/gate/redeem)
-- as the enterprise's guard. The pass tokens in the file named by BENCH_PASS_TOKENS are
-- dealt out to the threads (token i to thread i mod threads); each thread walks its own
-- passes in turn, entering each on one round and letting it out on the next, so that
-- every check-in is a real, accepted entry or exit (a thread has far fewer requests in
-- flight than passes, so a pass's exit is sent long after its entry was answered).
-- Every request carries a new nonce. Reads BENCH_GATE_ID, BENCH_TOKEN (the guard's
-- bearer token), BENCH_THREADS and BENCH_RUN (a prefix for the nonces) from the
-- environment; prints one RESULT line for the
-- shell. There is no response() function (it would cost the server's cores more Lua
-- than the check-in costs): statuses outside 2xx/3xx are counted by wrk itself, and
-- the shell counts accepted and refused scans in the database afterwards.

local path = assert(os.getenv("BENCH_PASS_TOKENS"), "BENCH_PASS_TOKENS is not set")
local gate = assert(os.getenv("BENCH_GATE_ID"), "BENCH_GATE_ID is not set")
local token = assert(os.getenv("BENCH_TOKEN"), "BENCH_TOKEN is not set")
local nthreads = tonumber(os.getenv("BENCH_THREADS") or error("BENCH_THREADS is not set"))
-- Each run's nonces of their own: a nonce seen before would be answered as that scan.
local run = assert(os.getenv("BENCH_RUN"), "BENCH_RUN is not set")

wrk.method = "POST"
wrk.path = "/api/v1/gate/redeem"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

local passes = {}
local counter = 0

function init(args)
  local file = assert(io.open(path))
  local i = 0
  for line in file:lines() do
    if line ~= "" then
      if i % nthreads == id then table.insert(passes, line) end
      i = i + 1
    end
  end
  file:close()
  assert(#passes > 0, "no pass tokens for thread " .. id)
end

-- wrk calls request() once on thread 0 before the run to check the script, and never
-- sends that request: it must not count, or that pass's entry is never made and its
-- exit is refused.
local verified = false

function request()
  if id == 0 and not verified then
    verified = true
    return wrk.format(nil, nil, nil, "{}")
  end
  local round = math.floor(counter / #passes)
  local pass = passes[counter % #passes + 1]
  local kind = (round % 2 == 0) and "entry" or "exit"
  counter = counter + 1
  -- Zero-padded: a nonce is 8 to 64 characters.
  local nonce = string.format("%s-%d-%08d", run, id, counter)
  local body = '{"nonce":"' .. nonce .. '","gate_id":"' .. gate
    .. '","type":"' .. kind .. '","code":"' .. pass .. '"}'
  return wrk.format(nil, nil, nil, body)
end

-- The RESULT line (done()), beside this script.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "result.lua")
