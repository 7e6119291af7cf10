-- New customers only: `wrk ... -s create.lua BASE_URL -- RUN_TAG`. The run tag and the thread's
-- number keep external ids unique across the warm-up and the measured run on one server.
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

local base, tag, n = "", "", 0

function init(args)
  base = wrk.path:gsub("/$", "")
  tag = args[1]
end

function request()
  n = n + 1
  local body = string.format('{"external_id":"bench-%s-%d-%d","name":"x"}', tag, tid, n)
  return wrk.format("POST", base .. "/customers", nil, body)
end
