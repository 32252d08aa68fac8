-- Progress scopes record every update in _SDK.progress; a test cancels one with _SDK.cancelProgress(title).
local LrProgressScope = {}
LrProgressScope.__index = LrProgressScope
_SDK.progress = _SDK.progress or {}

function LrProgressScope:new(args)
  local scope = setmetatable({ title = args.title, portion = 0, caption = '', cancelled = false,
    finished = false, updates = {}, cancelable = true }, self)
  _SDK.progress[#_SDK.progress + 1] = scope
  if args.functionContext then args.functionContext:addCleanupHandler(function() scope:done() end) end
  return scope
end
function LrProgressScope:setPortionComplete(done, total)
  self.portion = (total and total > 0) and done / total or done
  self.updates[#self.updates + 1] = { done = done, total = total }
end
function LrProgressScope:setCaption(c) self.caption = c end
function LrProgressScope:setCancelable(b) self.cancelable = b end
function LrProgressScope:isCanceled() return self.cancelled end
function LrProgressScope:isDone() return self.finished end
function LrProgressScope:cancel() self.cancelled = true end
function LrProgressScope:done() self.finished = true end

function _SDK.cancelProgress(title)
  for _, scope in ipairs(_SDK.progress) do
    if title == nil or scope.title == title then scope.cancelled = true end
  end
end
setmetatable(LrProgressScope, { __call = function(cls, args) return cls:new(args) end })
return LrProgressScope
