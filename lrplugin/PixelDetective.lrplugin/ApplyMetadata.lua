-- Apply AI metadata to selected: `metadata` for the selection, then keywords (as hierarchies), caption
-- (only where empty unless the user says overwrite), rating/label/pick and our plug-in fields.
local LrApplication = import 'LrApplication'
local LrDialogs = import 'LrDialogs'
local Action = require 'Action'
local Bridge = require 'Bridge'
local Catalog = require 'Catalog'

Action.run('Apply AI metadata', function()
  local photos = LrApplication.activeCatalog():getTargetPhotos()
  if #photos == 0 then return LrDialogs.message('Pixel Detective', 'Select photos first.', 'info') end
  local paths = Catalog.pathsOf(photos)
  local reply, err = Bridge.call('metadata', { paths = paths }, { timeout = 120 })
  if not reply then return Action.fail('Apply AI metadata', err) end
  local items = reply.photos or {}
  if #items == 0 then
    return LrDialogs.message('Pixel Detective', 'None of the selected photos has been analyzed yet. Run "Analyze selected" first.', 'info')
  end
  local prefs = (import 'LrPrefs').prefsForPlugin()
  local result, werr = Catalog.applyMetadata(items, prefs.overwriteCaption == true, reply.keyword_parent)
  if not result then return Action.fail('Apply AI metadata', { message = werr }) end
  local msg = string.format('Updated %d photos', result.applied)
  if #result.errors > 0 then msg = msg .. string.format(', %d failed', #result.errors) end
  LrDialogs.showBezel('Pixel Detective: ' .. msg)
end)
