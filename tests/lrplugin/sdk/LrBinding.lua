-- Property tables: plain tables with observers, enough for dialogs.
local LrBinding = {}
function LrBinding.makePropertyTable(context)
  local values = {}
  local observers = {}
  local t = {}
  function t:addObserver(key, fn) observers[key] = observers[key] or {}; table.insert(observers[key], fn) end
  return setmetatable(t, {
    __index = values,
    __newindex = function(_, k, v)
      values[k] = v
      for _, fn in ipairs(observers[k] or {}) do fn(t, k, v) end
    end,
  })
end
function LrBinding.keyEquals(value) return { keyEquals = value } end
return LrBinding
