-- Search photos…: asks for a query, sends `search`, shows the hits as the collection
-- "Pixel Detective: <query>" in relevance order and selects them.
local LrApplication = import 'LrApplication'
local LrBinding = import 'LrBinding'
local LrDialogs = import 'LrDialogs'
local LrView = import 'LrView'
local Action = require 'Action'
local Bridge = require 'Bridge'
local Catalog = require 'Catalog'
local Json = require 'Json'

Action.run('Search photos', function(context)
  local props = LrBinding.makePropertyTable(context)
  props.query = ''
  props.limit = 50
  props.minScore = 0
  local f = LrView.osFactory()
  local contents = f:column {
    bind_to_object = props,
    spacing = f:control_spacing(),
    f:row { f:static_text { title = 'Find photos of:' }, f:edit_field { value = LrView.bind('query'), width_in_chars = 40 } },
    f:row { f:static_text { title = 'At most:' }, f:edit_field { value = LrView.bind('limit'), min = 1, max = 1000, precision = 0 } },
    f:row { f:static_text { title = 'Minimum score (0 = any):' }, f:edit_field { value = LrView.bind('minScore'), min = 0, max = 1, precision = 2 } },
  }
  local answer = LrDialogs.presentModalDialog { title = 'Pixel Detective: Search photos', contents = contents, actionVerb = 'Search' }
  if answer ~= 'ok' then return end
  local query = tostring(props.query or ''):gsub('^%s+', ''):gsub('%s+$', '')
  if query == '' then return end
  local limit = math.max(1, math.min(1000, math.floor(tonumber(props.limit) or 50)))
  local minScore = tonumber(props.minScore)
  if not minScore or minScore <= 0 then minScore = Json.null end

  local reply, err = Bridge.call('search', { query = query, limit = limit, min_score = minScore, where = Json.null })
  if not reply then return Action.fail('Search photos', err) end
  local paths = {}
  for _, hit in ipairs(reply.results or {}) do paths[#paths + 1] = hit.path end
  if #paths == 0 then
    return LrDialogs.message('Pixel Detective: Search photos', 'No photos match "' .. query .. '".', 'info')
  end
  local shown, werr = Catalog.showCollection('Pixel Detective: ' .. query, paths)
  if not shown then return Action.fail('Search photos', { message = werr }) end
  if #shown.missing > 0 then
    LrDialogs.showBezel(string.format('%d of %d matches are not in this catalog', #shown.missing, #paths))
  end
end)
