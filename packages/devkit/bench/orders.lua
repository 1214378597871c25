-- wrk script for `npm run bench`: POSTs seed-shaped orders for the products given after `--`, each
-- as one of the customers given as CUSTOMER=TOKEN (its bearer token), counts answers that are not
-- 201 Created, and prints machine-readable totals for bench.ts. A 503 with Retry-After is the
-- system refusing work past its capacity (admission control): counted apart, and the connection
-- waits as long as it is told before its next request, as a well-behaved client does.
-- Usage: wrk -s orders.lua http://gateway -- PRODUCT_1 PRODUCT_2 ... CUSTOMER_1=TOKEN_1 ...

local threads = {}
local counter = 0

-- Runs in the main interpreter once per thread: numbers each thread so its random stream differs.
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

-- Runs inside each thread. Globals here are the thread's own; done() reads them with thread:get().
function init(args)
  products, customers = {}, {}
  for _, arg in ipairs(args) do
    local customer, token = arg:match("^([^=]+)=(.+)$")
    if customer then
      table.insert(customers, {
        id = customer,
        headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token },
      })
    else
      table.insert(products, arg)
    end
  end
  if #products == 0 then error("orders.lua: pass product ids after --") end
  if #customers == 0 then error("orders.lua: pass CUSTOMER=TOKEN pairs after --") end
  math.randomseed(os.time() * 1000 + id)
  created, other, refused = 0, 0, 0
  wait_ms = 0
  statuses = ""
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local product = products[math.random(#products)]
  local customer = customers[math.random(#customers)]
  local body = string.format(
    '{"customer_id":"%s","product_id":"%s","quantity":%d,"amount":19.99}',
    customer.id, product, math.random(3))
  return wrk.format(nil, nil, customer.headers, body)
end

function response(status, headers, body)
  local retry_after = headers["retry-after"] or headers["Retry-After"]
  if status == 201 then
    created = created + 1
  elseif status == 503 and retry_after then
    refused = refused + 1
    wait_ms = (tonumber(retry_after) or 1) * 1000
  else
    other = other + 1
    -- Remember the first few odd statuses so the report can say what went wrong.
    if #statuses < 60 then statuses = statuses .. status .. " " end
  end
end

-- wrk asks before each request of a connection, right after that connection's response().
function delay()
  local ms = wait_ms
  wait_ms = 0
  return ms
end

-- Latency is in microseconds. One "BENCH key=value ..." line that bench.ts parses.
function done(summary, latency, requests)
  local ok, bad, no, seen = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    ok = ok + t:get("created")
    bad = bad + t:get("other")
    no = no + t:get("refused")
    seen = seen .. t:get("statuses")
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d created=%d non201=%d refused=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d " ..
    "p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.0f statuses=%s\n",
    summary.requests, summary.duration, ok, bad, no, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    seen == "" and "-" or seen:gsub(" $", ""):gsub(" ", ",")))
end
