-- Cooperative tasks: each task is a coroutine; the harness loop calls LrTasks._tick() which resumes every
-- task whose sleep is over. Like Lightroom, yielding outside a task is an error.
local host = _SDK.host
local LrTasks = {}

local tasks = {}    -- list of { co, name, wake }
local current = {}  -- coroutine -> task record

local function now() return host.now() end

function LrTasks.startAsyncTask(fn, name)
  local co = coroutine.create(fn)
  local task = { co = co, name = name or 'task', wake = 0 }
  current[co] = task
  tasks[#tasks + 1] = task
  return task
end

function LrTasks.canYield()
  local co = coroutine.running()
  return co ~= nil and current[co] ~= nil or (co ~= nil and LrTasks._inner[co] == true)
end

-- Coroutines started by LrTasks.pcall are inside a task too.
LrTasks._inner = setmetatable({}, { __mode = 'k' })

local function requireTask(what)
  if not LrTasks.canYield() then
    error(what .. ' must be called from within a task (LrTasks.startAsyncTask)', 3)
  end
end
LrTasks._requireTask = requireTask

function LrTasks.sleep(seconds)
  requireTask('LrTasks.sleep')
  coroutine.yield('sleep', seconds or 0)
end

function LrTasks.yield()
  requireTask('LrTasks.yield')
  coroutine.yield('sleep', 0)
end

-- Lua 5.1's pcall cannot be yielded across; Lightroom's LrTasks.pcall can. Run fn in its own coroutine
-- and pass its yields up to the scheduler.
function LrTasks.pcall(fn, ...)
  local co = coroutine.create(fn)
  LrTasks._inner[co] = true
  local res = { coroutine.resume(co, ...) }
  while true do
    if not res[1] then return false, res[2] end
    if coroutine.status(co) == 'dead' then return true, unpack(res, 2, table.maxn(res)) end
    local back = { coroutine.yield(unpack(res, 2, table.maxn(res))) }
    res = { coroutine.resume(co, unpack(back, 1, table.maxn(back))) }
  end
end

function LrTasks.execute() error('LrTasks.execute is not available in the stand-in') end

-- Harness entry: resume the tasks that are due. Returns the number still alive.
function LrTasks._tick()
  local t = now()
  local due = {}
  for _, task in ipairs(tasks) do
    if task.wake <= t then due[#due + 1] = task end
  end
  for _, task in ipairs(due) do
    local ok, what, arg = coroutine.resume(task.co)
    if not ok then
      _SDK.errors[#_SDK.errors + 1] = 'task ' .. task.name .. ': ' .. tostring(what)
    elseif coroutine.status(task.co) ~= 'dead' then
      task.wake = now() + ((what == 'sleep' and tonumber(arg)) or 0)
    end
  end
  local alive = {}
  for _, task in ipairs(tasks) do
    if coroutine.status(task.co) ~= 'dead' then alive[#alive + 1] = task else current[task.co] = nil end
  end
  tasks = alive
  return #tasks
end

function LrTasks._names()
  local out = {}
  for _, task in ipairs(tasks) do out[#out + 1] = task.name end
  return out
end

return LrTasks
