-- Runs a menu action in its own task (menu scripts run outside tasks) and turns failures into a dialog.
local LrDialogs = import 'LrDialogs'
local LrFunctionContext = import 'LrFunctionContext'
local LrTasks = import 'LrTasks'

local Action = {}

function Action.run(name, fn)
  LrTasks.startAsyncTask(function()
    local ok, err = LrTasks.pcall(LrFunctionContext.callWithContext, name, fn)
    if not ok then LrDialogs.message('Pixel Detective: ' .. name, tostring(err), 'critical') end
  end, 'Pixel Detective: ' .. name)
end

-- Shows a bridge error ({code, message}) to the user.
function Action.fail(name, err)
  LrDialogs.message('Pixel Detective: ' .. name, (err and err.message) or 'failed', 'warning')
end

return Action
