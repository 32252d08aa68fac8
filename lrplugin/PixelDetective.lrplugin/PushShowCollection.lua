-- Service-pushed `show_collection`: the paths, in order, as a collection (`append`: added to what the
-- previous piece put there; `show`: make it the active source); reply is show_collection.result.
local Catalog = require 'Catalog'
return function(body)
  if type(body.name) ~= 'string' or body.name == '' or type(body.paths) ~= 'table' then
    return nil, 'bad_request', 'name (string) and paths (list) are required'
  end
  local result, err = Catalog.showCollection(body.name, body.paths, nil,
    { append = body.append == true, show = body.show ~= false })
  if not result then return nil, 'internal', err end
  return result
end
