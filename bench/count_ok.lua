-- Exactness run: distinct emails and event types like the yardstick's load, and a tally of 200 answers
-- so stored events can be compared with what was answered "ok".
local events = {"email_click", "landing_click", "conversion"}
local cid = os.getenv("CID") or "1"
local n = 0
local threads = {}

setup = function(thread) table.insert(threads, thread) end
init = function(args) ok = 0 end

request = function()
  n = n + 1
  return wrk.format("GET", string.format(
    "/api/event?cid=%s&event=%s&email=check%d@gmail.com&domain=example%d.com&run=exact",
    cid, events[(n % 3) + 1], n % 20000, n % 3 + 1))
end

response = function(status, headers, body)
  if status == 200 then ok = ok + 1 end
end

done = function(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + (t:get("ok") or 0) end
  io.write(string.format("ok %d\nrequests %d\n", total, summary.requests))
end
