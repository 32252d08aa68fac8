-- Find similar photos: the selection as examples, `similar`, results as a collection in rank order.
local LrApplication = import 'LrApplication'
local LrDialogs = import 'LrDialogs'
local Action = require 'Action'
local Bridge = require 'Bridge'
local Catalog = require 'Catalog'

Action.run('Find similar', function()
  local photos = LrApplication.activeCatalog():getTargetPhotos()
  if #photos == 0 then return LrDialogs.message('Pixel Detective', 'Select one or more photos first.', 'info') end
  if #photos > 100 then return LrDialogs.message('Pixel Detective', 'Select at most 100 example photos.', 'info') end
  local paths = Catalog.pathsOf(photos)
  local reply, err = Bridge.call('similar', { paths = paths, limit = 50 })
  if not reply then return Action.fail('Find similar', err) end
  local hits = {}
  for _, hit in ipairs(reply.results or {}) do hits[#hits + 1] = hit.path end
  if #hits == 0 then return LrDialogs.message('Pixel Detective', 'No similar photos found.', 'info') end
  local name = 'Pixel Detective: similar to ' .. (paths[1]:match('([^/\\]+)$') or paths[1])
  local shown, werr = Catalog.showCollection(name, hits)
  if not shown then return Action.fail('Find similar', { message = werr }) end
end)
