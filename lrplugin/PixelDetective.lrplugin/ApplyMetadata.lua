-- Apply AI metadata to selected: `metadata` for the selection, then keywords (as hierarchies), caption
-- (only where empty unless the user says overwrite), rating/label/pick and our plug-in fields.
local LrApplication = import 'LrApplication'
local LrDialogs = import 'LrDialogs'
local LrProgressScope = import 'LrProgressScope'
local Action = require 'Action'
local Bridge = require 'Bridge'
local Catalog = require 'Catalog'
local Progress = require 'Progress'

Action.run('Apply AI metadata', function(context)
  local photos = LrApplication.activeCatalog():getTargetPhotos()
  if #photos == 0 then return LrDialogs.message('Pixel Detective', 'Select photos first.', 'info') end
  local paths = Catalog.pathsOf(photos)
  local scope = LrProgressScope({ title = 'Pixel Detective: metadata for ' .. #paths .. ' photos', functionContext = context })
  scope:setCancelable(true)
  local reply, err = Bridge.call('metadata', { paths = paths }, Progress.options(scope, { timeout = 120 }))
  if Progress.cancelled(err) then return scope:done() end
  if not reply then
    scope:done()
    return Action.fail('Apply AI metadata', err)
  end
  scope:setCaption('Writing to the catalog')
  local items = reply.photos or {}
  if #items == 0 then
    scope:done()
    return LrDialogs.message('Pixel Detective', 'None of the selected photos has been analyzed yet. Run "Analyze selected" first.', 'info')
  end
  local prefs = (import 'LrPrefs').prefsForPlugin()
  local result, werr = Catalog.applyMetadata(items, prefs.overwriteCaption == true, reply.keyword_parent)
  scope:done()
  if not result then return Action.fail('Apply AI metadata', { message = werr }) end
  local msg = string.format('Updated %d photos', result.applied)
  if #result.errors > 0 then msg = msg .. string.format(', %d failed', #result.errors) end
  LrDialogs.showBezel('Pixel Detective: ' .. msg)
end)
