-- Service-pushed `apply`: writes the given metadata; reply body is apply.result.
local Catalog = require 'Catalog'
return function(body)
  if type(body.photos) ~= 'table' then return nil, 'bad_request', 'photos must be a list' end
  local result, err = Catalog.applyMetadata(body.photos, body.overwrite_caption == true, body.keyword_parent)
  if not result then return nil, 'internal', err end
  return result
end
