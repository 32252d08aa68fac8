-- Find duplicates: `duplicates` for the selection (or the whole filmstrip), one collection per group under
-- the collection set "Pixel Detective duplicates".
local LrApplication = import 'LrApplication'
local LrDialogs = import 'LrDialogs'
local LrProgressScope = import 'LrProgressScope'
local Action = require 'Action'
local Bridge = require 'Bridge'
local Catalog = require 'Catalog'
local Progress = require 'Progress'

local SET = 'Pixel Detective duplicates'

Action.run('Find duplicates', function(context)
  local photos = LrApplication.activeCatalog():getTargetPhotos()
  if #photos < 2 then return LrDialogs.message('Pixel Detective', 'Select at least two photos.', 'info') end
  local paths = Catalog.pathsOf(photos)
  local scope = LrProgressScope({ title = 'Pixel Detective: duplicates among ' .. #paths .. ' photos', functionContext = context })
  scope:setCancelable(true)
  local reply, err = Bridge.call('duplicates', { paths = paths, kinds = { 'exact', 'near', 'burst' } },
    Progress.options(scope, { timeout = 120 }))
  scope:done()
  if Progress.cancelled(err) then return end
  if not reply then return Action.fail('Find duplicates', err) end
  local groups = reply.groups or {}
  if #groups == 0 then return LrDialogs.message('Pixel Detective', 'No duplicates found.', 'info') end
  for i, g in ipairs(groups) do
    local first = tostring((g.paths or {})[1] or ''):match('([^/\\]+)$') or ''
    local name = string.format('%03d %s: %s', i, tostring(g.kind), first)
    local shown, werr = Catalog.showCollection(name, g.paths or {}, SET, { show = false })
    if not shown then return Action.fail('Find duplicates', { message = werr }) end
  end
  LrDialogs.showBezel(string.format('Pixel Detective: %d duplicate groups', #groups))
end)
