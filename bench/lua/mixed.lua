-- The stateful loop: create a customer, get it by the id the create returned, search it by its
-- external id. Each thread keeps queues of follow-ups, so the mix stays about 1:1:1 whatever
-- the order in which its connections answer. `wrk ... -s mixed.lua BASE_URL -- RUN_TAG`; the run
-- tag keeps external ids unique across the warm-up and the measured run on one server.
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

local base, tag, n = "", "", 0
local gets, searches = {}, {}

function init(args)
  base = wrk.path:gsub("/$", "")
  tag = args[1]
end

function request()
  local ext = table.remove(searches)
  if ext then
    return wrk.format("POST", base .. "/customers/search", nil, '{"external_id":"' .. ext .. '"}')
  end
  local created = table.remove(gets)
  if created then
    table.insert(searches, created.ext)
    return wrk.format("GET", base .. "/customers/" .. created.id)
  end
  n = n + 1
  local body = string.format('{"external_id":"bench-%s-%d-%d","name":"x"}', tag, tid, n)
  return wrk.format("POST", base .. "/customers", nil, body)
end

function response(status, headers, body)
  if status == 201 then
    local id = body:match('"id"%s*:%s*"([^"]*)"')
    local ext = body:match('"external_id"%s*:%s*"([^"]*)"')
    if id and ext then
      table.insert(gets, {id = id, ext = ext})
    end
  end
end
