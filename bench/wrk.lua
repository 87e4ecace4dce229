-- wrk script for bench/run.py: rotates API keys and paths, checks every response, and
-- prints one JSON line of results.
--
-- Environment: BENCH_KEYS (comma-separated API keys, may be empty), BENCH_PATHS
-- (newline-separated paths, rotated), BENCH_METHOD (GET or POST), BENCH_BODY (the POST
-- body), BENCH_EXPECT (a string every good body contains), BENCH_REJECT (a string no good
-- body contains; optional), BENCH_TEMPLATE_START (optional: the body is a template whose
-- `{{n}}` becomes the request's number and `{{start}}` the instant BENCH_TEMPLATE_START +
-- n × BENCH_TEMPLATE_STEP seconds, so each request books a slot of its own),
-- BENCH_OFFSET (where numbering starts, so rounds never reuse a number).

local function split(text, sep)
  local out = {}
  if text == nil or text == "" then return out end
  for part in string.gmatch(text, "([^" .. sep .. "]+)") do
    table.insert(out, part)
  end
  return out
end

local keys = split(os.getenv("BENCH_KEYS"), ",")
local paths = split(os.getenv("BENCH_PATHS"), "\n")
local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local expect = os.getenv("BENCH_EXPECT") or ""
local reject = os.getenv("BENCH_REJECT") or ""
if body == "" then body = nil end
if reject == "" then reject = nil end
local template_start = tonumber(os.getenv("BENCH_TEMPLATE_START") or "")
local template_step = tonumber(os.getenv("BENCH_TEMPLATE_STEP") or "300")
local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")

local threads = {}
local counter = 0
local bad = 0
local first_bad = nil

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  -- Templated bodies number requests per thread: run them with one thread (-t1).
  counter = tonumber(id) or 0
end

function request()
  counter = counter + 1
  local headers = {}
  if #keys > 0 then
    headers["Authorization"] = "Bearer " .. keys[(counter % #keys) + 1]
  end
  if body ~= nil then
    headers["Content-Type"] = "application/json"
  end
  local path = paths[(counter % #paths) + 1]
  local this_body = body
  if template_start ~= nil and body ~= nil then
    local n = offset + counter
    local start = os.date("!%Y-%m-%dT%H:%M:%SZ", template_start + n * template_step)
    this_body = string.gsub(string.gsub(body, "{{n}}", tostring(n)), "{{start}}", start)
  end
  return wrk.format(method, path, headers, this_body)
end

function response(status, headers, response_body)
  local ok = status == 200
    and response_body ~= nil
    and string.find(response_body, expect, 1, true) ~= nil
    and (reject == nil or string.find(response_body, reject, 1, true) == nil)
  if not ok then
    bad = bad + 1
    if first_bad == nil then
      first_bad = tostring(status) .. " " .. string.sub(response_body or "", 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local total_bad = 0
  local sample = ""
  for _, thread in ipairs(threads) do
    total_bad = total_bad + (thread:get("bad") or 0)
    local fb = thread:get("first_bad")
    if fb ~= nil and sample == "" then sample = fb end
  end
  local errors = summary.errors
  local socket_errors = errors.connect + errors.read + errors.write + errors.timeout
  sample = string.gsub(sample, '[%c"\\]', " ")
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bad": %d, "non2xx": %d, ' ..
    '"socket_errors": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"sample": "%s"}\n',
    summary.requests, summary.duration, total_bad, errors.status, socket_errors,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    sample))
end
