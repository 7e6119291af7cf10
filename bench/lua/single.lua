-- One fixed request, repeated: `wrk ... -s single.lua URL -- RUN_TAG METHOD SUFFIX [BODY]`.
-- The request is built once per thread, so wrk runs at full speed (no request() callback).
function init(args)
  wrk.method = args[2]
  wrk.path = wrk.path:gsub("/$", "") .. args[3]
  wrk.body = args[4]
end
