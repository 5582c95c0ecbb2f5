-- wrk script for deploy/bench/console.sh: GETs one console page (BENCH_PATH) as one
-- signed-in user (BENCH_COOKIE, the `tp_console` cookie) or, for the API, with
-- BENCH_AUTHORIZATION as the authorization header; prints one RESULT line for the
-- shell.
--
-- As pass.lua: the request is formatted once and there is no response() function,
-- which would hand every page to Lua on the server's cores. wrk counts answers
-- outside 2xx and 3xx itself; console.sh checks with curl before and after each run
-- that the page answers 200 (a 303 to the sign-in would otherwise pass unseen).

local path = assert(os.getenv("BENCH_PATH"), "BENCH_PATH is not set")
local cookie = os.getenv("BENCH_COOKIE")
local authorization = os.getenv("BENCH_AUTHORIZATION")
-- Each user's pause between a page and the next (ms; 0: none, the connection asks
-- again at once, which measures saturation rather than users).
local think = tonumber(os.getenv("BENCH_THINK_MS") or "0") or 0

local headers = {}
if cookie and cookie ~= "" then headers["Cookie"] = "tp_console=" .. cookie end
if authorization and authorization ~= "" then headers["Authorization"] = authorization end

local formatted

function init(args)
  formatted = wrk.format("GET", path, headers)
end

function request()
  return formatted
end

if think > 0 then
  function delay()
    return think
  end
end

-- The RESULT line (done()), beside this script.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "result.lua")
