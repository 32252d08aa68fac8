-- Dialogs answer from a script the test sets (_SDK.dialogAnswers, a queue of functions or values) and
-- record what was shown in _SDK.shown.
local LrTasks = import 'LrTasks'
local LrDialogs = {}
_SDK.shown = _SDK.shown or {}
_SDK.dialogAnswers = _SDK.dialogAnswers or {}

local function record(kind, a, b, c)
  _SDK.shown[#_SDK.shown + 1] = { kind = kind, title = a, message = b, extra = c }
end

local function nextAnswer(default, args)
  local answer = table.remove(_SDK.dialogAnswers, 1)
  if answer == nil then return default end
  if type(answer) == 'function' or type(answer) == 'userdata' then return answer(args) end -- userdata: a Python callable
  return answer
end

function LrDialogs.message(title, message, style) record('message', title, message, style) end
function LrDialogs.showError(message) record('error', message) end
function LrDialogs.showBezel(message) record('bezel', message) end
function LrDialogs.confirm(title, message, ok, cancel)
  LrTasks._requireTask('LrDialogs.confirm')
  record('confirm', title, message)
  return nextAnswer('ok', {})
end
-- args.contents is an LrView tree; the scripted answer may set bound values (see LrView.lua) before
-- returning 'ok' or 'cancel'.
function LrDialogs.presentModalDialog(args)
  LrTasks._requireTask('LrDialogs.presentModalDialog')
  record('modal', args.title)
  return nextAnswer('ok', args)
end
function LrDialogs.attachErrorDialogToFunctionContext() end
return LrDialogs
