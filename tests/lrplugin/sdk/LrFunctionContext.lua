-- Function contexts: cleanup handlers run when the function returns (or fails); failure handlers on error.
local LrTasks = import 'LrTasks'
local LrFunctionContext = {}

local function newContext(name)
  local ctx = { name = name, _cleanup = {}, _failure = {} }
  function ctx:addCleanupHandler(fn) self._cleanup[#self._cleanup + 1] = fn end
  function ctx:addFailureHandler(fn) self._failure[#self._failure + 1] = fn end
  return ctx
end

local function run(name, fn, ...)
  local ctx = newContext(name)
  local ok, err = LrTasks.pcall(fn, ctx, ...)
  if not ok then
    for _, h in ipairs(ctx._failure) do pcall(h, false, err) end
  end
  for i = #ctx._cleanup, 1, -1 do pcall(ctx._cleanup[i], ok, err) end
  if not ok then error(err, 0) end
end

function LrFunctionContext.callWithContext(name, fn, ...)
  run(name, fn, ...)
end

function LrFunctionContext.postAsyncTaskWithContext(name, fn)
  LrTasks.startAsyncTask(function() run(name, fn) end, name)
end

LrFunctionContext._newContext = newContext
return LrFunctionContext
