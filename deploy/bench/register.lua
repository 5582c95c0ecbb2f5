-- wrk script for deploy/bench/register.sh: POSTs driver registrations to one
-- enterprise code. Every request carries a new plate (闽A, then the thread's serial
-- character, then a four-character counter), so the same-plate-same-day dedupe never
-- answers 200 instead of 201. Reads BENCH_CODE_TOKEN and BENCH_ARRIVAL (zone time,
-- YYYY-MM-DDTHH:MM) from the environment; prints one RESULT line for the shell and a
-- STATUSES line (201, 500, 502, 503 answers).

local serials = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
local token = assert(os.getenv("BENCH_CODE_TOKEN"), "BENCH_CODE_TOKEN is not set")
local arrival = assert(os.getenv("BENCH_ARRIVAL"), "BENCH_ARRIVAL is not set")

wrk.method = "POST"
wrk.path = "/api/v1/public/codes/" .. token .. "/registrations"
wrk.headers["Content-Type"] = "application/json"

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

counter = 0
created = 0
other = 0
sample = ""
-- Answers by kind (threads' globals can only hold numbers and strings).
s500 = 0
s502 = 0
s503 = 0

local function serial(n, width)
  local out = ""
  for _ = 1, width do
    local digit = n % #serials
    out = serials:sub(digit + 1, digit + 1) .. out
    n = (n - digit) / #serials
  end
  return out
end

function request()
  counter = counter + 1
  local plate = "闽A" .. serial(id, 1) .. serial(counter, 4)
  local body = '{"consent":true,"driver_name":"张三","document_type":"resident_id",'
    .. '"document_number":"11010519491231002X","phone":"13800138000","plate":"' .. plate
    .. '","vehicle_type":"heavy_truck","origin_region":"350102","cargo":"钢材",'
    .. '"purpose":"deliver","expected_arrival":"' .. arrival .. '","people_in_cab":1}'
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 500 then s500 = s500 + 1 end
  if status == 502 then s502 = s502 + 1 end
  if status == 503 then s503 = s503 + 1 end
  if status == 201 then
    created = created + 1
  else
    other = other + 1
    if sample == "" then
      sample = status .. " " .. string.sub(body or "", 1, 200)
    end
  end
end

function done(summary, latency, requests)
  local total_created, total_other, first = 0, 0, ""
  local t500, t502, t503 = 0, 0, 0
  for _, thread in ipairs(threads) do
    total_created = total_created + thread:get("created")
    total_other = total_other + thread:get("other")
    t500 = t500 + thread:get("s500")
    t502 = t502 + thread:get("s502")
    t503 = t503 + thread:get("s503")
    if first == "" then first = thread:get("sample") end
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format("RESULT %.0f %.2f %.2f %d %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    total_created, total_other, errors))
  io.write(string.format("STATUSES 201=%d 500=%d 502=%d 503=%d\n",
    total_created, t500, t502, t503))
  if first ~= "" then io.write("first non-201: " .. first .. "\n") end
end
