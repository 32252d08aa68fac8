-- Analyze selected: `analyze` as a long job; progress frames move an LrProgressScope, and cancelling the
-- scope sends `cancel` (the service stops after its current batch).
local LrApplication = import 'LrApplication'
local LrDialogs = import 'LrDialogs'
local LrProgressScope = import 'LrProgressScope'
local Action = require 'Action'
local Bridge = require 'Bridge'
local Catalog = require 'Catalog'
local Progress = require 'Progress'

Action.run('Analyze selected', function(context)
  local photos = LrApplication.activeCatalog():getTargetPhotos()
  if #photos == 0 then return LrDialogs.message('Pixel Detective', 'Select photos to analyze first.', 'info') end
  local paths = Catalog.pathsOf(photos)
  local scope = LrProgressScope({ title = 'Pixel Detective: analyzing ' .. #paths .. ' photos', functionContext = context })
  scope:setCancelable(true)
  local done, err = Bridge.runJob('analyze', { paths = paths, captions = false }, Progress.options(scope, {
    timeout = 120, -- between frames: a first batch on a cold model can take a while
    onAccepted = function(b) scope:setCaption('Queued ' .. tostring(b.total) .. ' photos') end,
    onProgress = function(p)
      local total = tonumber(p.total) or #paths
      scope:setPortionComplete(tonumber(p.done) or 0, total > 0 and total or 1)
      scope:setCaption(string.format('%s: %d of %d', tostring(p.phase or 'analyzing'), tonumber(p.done) or 0, total))
    end,
  }))
  scope:done()
  if Progress.cancelled(err) then return end
  if not done then return Action.fail('Analyze selected', err) end
  if done.status ~= 'completed' then
    LrDialogs.showBezel('Pixel Detective: analysis ' .. tostring(done.status))
  else
    LrDialogs.showBezel('Pixel Detective: analysis completed')
  end
end)
