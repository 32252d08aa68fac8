-- The progress bar of a long request: paths going up to the service, then the reply coming down, in one
-- cancelable LrProgressScope. Progress.options(scope, extra) gives the opts for Bridge.call / Bridge.runJob.
local Progress = {}

function Progress.options(scope, extra)
  local opts = {
    isCancelled = function() return scope:isCanceled() end,
    onUpload = function(done, total)
      scope:setPortionComplete(done, total > 0 and total or 1)
      scope:setCaption(string.format('Sending %d of %d photos to Pixel Detective', done, total))
    end,
    onPart = function(done, total)
      scope:setPortionComplete(done, total > 0 and total or 1)
      scope:setCaption(string.format('Receiving %d of %d', done, total))
    end,
  }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return opts
end

-- A cancelled request is not a failure: a bezel, no dialog. Returns true when `err` was a cancel.
function Progress.cancelled(err)
  if err and err.code == 'cancelled' then
    (import 'LrDialogs').showBezel('Pixel Detective: cancelled')
    return true
  end
  return false
end

return Progress
