-- wrk script of scripts/bench-peer.sh: hrvault's side of the issue-9 comparison.
-- Environment:
--   HRV_MODE   healthz | read | create
--   HRV_TOKEN  bearer token of an hr user (read, create)
--   HRV_IDS    file with one employee id per line (read: each request picks one uniformly)
--   HRV_SEED   random seed (read)
--   HRV_BASE   first record number of this run (create): thread t sends records
--              HRV_BASE + t * 10,000,000 + 1, + 2, ... so every create is unique and valid
-- Prints one line "WRK requests=… duration_us=… p50_us=… p99_us=… status_errors=… socket_errors=…".

local mode = os.getenv("HRV_MODE") or "healthz"
local token = os.getenv("HRV_TOKEN")
if token then
  wrk.headers["Authorization"] = "Bearer " .. token
end

local threads = {}
local counter = 0
local base = tonumber(os.getenv("HRV_BASE") or "20000")

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local ids = {}

function init(args)
  if mode == "read" then
    for line in io.lines(os.getenv("HRV_IDS")) do
      ids[#ids + 1] = line
    end
    math.randomseed(tonumber(os.getenv("HRV_SEED") or "1") * 1000 + tid)
  elseif mode == "create" then
    wrk.headers["Content-Type"] = "application/json"
  end
end

-- The n-th valid SSN: the same sequence as `ssn(i)` in benches/common/mod.rs.
local function ssn(n)
  local serial = 1 + n % 9999
  local group = 1 + math.floor(n / 9999) % 99
  local a = math.floor(n / (9999 * 99)) % 898
  local area = 1 + a
  if a >= 665 then area = area + 1 end
  return string.format("%03d-%02d-%04d", area, group, serial)
end

local first = { "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken" }
local last = { "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson" }
local depts = { "R&D", "Sales", "Executives", "IT Operations/InfoSec", "Support" }
local cities = { { "Springfield", "IL" }, { "Arlington", "VA" }, { "Portland", "OR" }, { "Austin", "TX" } }

local function employee(n)
  local f, l = first[1 + n % 8], last[1 + math.floor(n / 8) % 8]
  local c = cities[1 + n % 4]
  return string.format(
    '{"employee_number":"W%010d","first_name":"%s","last_name":"%s",' ..
    '"work_email":"%s.%s%d@example.com","department":"%s","job_title":"Engineer",' ..
    '"location":"%s","hire_date":"2020-01-15","status":"active","ssn":"%s",' ..
    '"date_of_birth":"%04d-%02d-%02d",' ..
    '"home_address":{"line1":"%d Main St","city":"%s","state":"%s","postal_code":"%05d","country":"US"},' ..
    '"bank_account":{"routing_number":"011000015","account_number":"%012d"}}',
    n, f, l, f:lower(), l:lower(), n, depts[1 + n % 5], c[1], ssn(n),
    1960 + n % 40, 1 + n % 12, 1 + n % 28,
    1 + n % 9999, c[1], c[2], 10000 + n % 89999, 100000000 + n)
end

function request()
  if mode == "read" then
    return wrk.format("GET", "/v1/employees/" .. ids[math.random(#ids)])
  elseif mode == "create" then
    counter = counter + 1
    local n = base + tid * 10000000 + counter
    return wrk.format("POST", "/v1/employees", nil, employee(n))
  else
    return wrk.format("GET", "/healthz")
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d p50_us=%.0f p99_us=%.0f status_errors=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
