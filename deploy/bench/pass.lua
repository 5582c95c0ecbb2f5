-- wrk script for deploy/bench/register.sh: GETs pass pages, cycling through the
-- tokens in the file named by BENCH_PASS_TOKENS (one token a line), each thread from
-- its own starting point; prints one RESULT line for the shell.
--
-- The requests are formatted once, in init(), and there is no response() function:
-- with one, wrk hands every response's headers and body to Lua, which costs more CPU
-- than the page itself, on the same cores as the server. Statuses are checked by wrk
-- itself (summary.errors.status counts answers outside 2xx and 3xx).

local path = assert(os.getenv("BENCH_PASS_TOKENS"), "BENCH_PASS_TOKENS is not set")

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local requests = {}
local next_request = 0

function init(args)
  local file = assert(io.open(path))
  for line in file:lines() do
    if line ~= "" then table.insert(requests, wrk.format("GET", "/p/" .. line)) end
  end
  file:close()
  assert(#requests > 0, "no pass tokens")
  next_request = (id * 7919) % #requests
end

function request()
  next_request = next_request % #requests + 1
  return requests[next_request]
end

-- The RESULT line (done()), beside this script.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "result.lua")
