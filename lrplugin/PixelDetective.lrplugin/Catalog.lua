-- Catalog writes shared by the menu actions and the service-pushed handlers. Call from a task.
local LrApplication = import 'LrApplication'
local LrTasks = import 'LrTasks'
local Json = require 'Json'

local Catalog = {}
Catalog.WRITE_TIMEOUT = 10 -- s to wait for write access each attempt
Catalog.WRITE_ATTEMPTS = 3 -- an export can hold access for long; try a few times before giving up

-- withWriteAccessDo always with a timeout table (without one it throws while an export writes), retried
-- when another write held access the whole time. Returns true, or false and a message.
function Catalog.write(name, fn, private)
  local catalog = LrApplication.activeCatalog()
  for attempt = 1, Catalog.WRITE_ATTEMPTS do
    local ok, status = LrTasks.pcall(function()
      if private then return catalog:withPrivateWriteAccessDo(fn, { timeout = Catalog.WRITE_TIMEOUT }) end
      return catalog:withWriteAccessDo(name, fn, { timeout = Catalog.WRITE_TIMEOUT })
    end)
    if not ok then return false, tostring(status) end
    if status ~= 'aborted' then return true end
    if attempt < Catalog.WRITE_ATTEMPTS then LrTasks.sleep(1) end
  end
  return false, 'the catalog was busy (another write, e.g. an export, held it)'
end

-- A path whose top level is not a top-level keyword of the catalog yet goes under `parent` (the
-- user's keyword parent, "Pixel Detective" by default), as `catalog write` does; existing trees
-- ("Places|Europe|Lisbon" when "Places" exists) are reused in place.
local function underParent(catalog, path, parent, cache)
  if type(parent) ~= 'string' or parent == '' then return path end
  local top = tostring(path):match('^%s*([^|]-)%s*|') or tostring(path):gsub('^%s+', ''):gsub('%s+$', '')
  if not cache['\0tops'] then
    local tops = {}
    for _, kw in ipairs(catalog:getKeywords() or {}) do tops[string.lower(kw:getName())] = true end
    cache['\0tops'] = tops
  end
  if cache['\0tops'][string.lower(top)] or string.lower(top) == string.lower(parent:match('^[^|]+') or parent) then
    return path
  end
  return parent .. '|' .. path
end

-- "A|B|C" -> the keyword C under B under A, creating missing levels; returnExisting=true reuses nodes
-- (without it Lightroom makes duplicates within one transaction). `cache` spans one transaction.
function Catalog.keywordForPath(catalog, path, cache, parent)
  path = underParent(catalog, path, parent, cache)
  if cache[path] then return cache[path] end
  local parent, sofar = nil, nil
  for name in tostring(path):gmatch('[^|]+') do
    name = name:gsub('^%s+', ''):gsub('%s+$', '')
    if name ~= '' then
      sofar = sofar and (sofar .. '|' .. name) or name
      local kw = cache[sofar]
      if not kw then
        kw = catalog:createKeyword(name, {}, true, parent, true)
        cache[sofar] = kw
      end
      parent = kw
    end
  end
  cache[path] = parent
  return parent
end

-- Photos for paths, in the given order; paths not in the catalog are returned as `missing`.
function Catalog.photosForPaths(paths)
  local catalog = LrApplication.activeCatalog()
  local photos, missing = {}, {}
  for _, path in ipairs(paths or {}) do
    local photo = type(path) == 'string' and catalog:findPhotoByPath(path) or nil
    if photo then photos[#photos + 1] = photo else missing[#missing + 1] = path end
  end
  return photos, missing
end

function Catalog.pathsOf(photos)
  local catalog = LrApplication.activeCatalog()
  local raw = catalog:batchGetRawMetadata(photos, { 'path' })
  local paths = {}
  for i, photo in ipairs(photos) do paths[i] = raw[photo].path end
  return paths
end

local function number(v) return type(v) == 'number' and v or nil end

local function fmt(v)
  if type(v) ~= 'number' then return nil end
  return string.format('%.3f', v)
end

-- Writes one photo's AI metadata. Rating 0/null clears (Lightroom rejects 0, wants nil).
local function applyOne(catalog, photo, item, overwriteCaption, cache, parent)
  for _, path in ipairs(type(item.keywords) == 'table' and item.keywords or {}) do
    local kw = Catalog.keywordForPath(catalog, path, cache, parent)
    if kw then photo:addKeyword(kw) end
  end
  local caption = item.caption
  if type(caption) == 'string' and caption ~= '' then
    local current = photo:getRawMetadata('caption')
    if overwriteCaption or current == nil or current == '' then photo:setRawMetadata('caption', caption) end
  end
  if item.rating ~= nil then
    local r = number(item.rating)
    if r and r >= 1 and r <= 5 then photo:setRawMetadata('rating', math.floor(r)) else photo:setRawMetadata('rating', nil) end
  end
  if type(item.label) == 'string' then photo:setRawMetadata('label', item.label) end
  local pick = number(item.pick)
  if pick == -1 or pick == 0 or pick == 1 then photo:setRawMetadata('pickStatus', pick) end
end

local function pluginFields(photo, item)
  local scores = type(item.scores) == 'table' and item.scores or {}
  local function str(v) if type(v) == 'string' and v ~= '' then return v end end
  photo:setPropertyForPlugin(_PLUGIN, 'pd_quality', fmt(scores.quality))
  photo:setPropertyForPlugin(_PLUGIN, 'pd_sharpness', fmt(scores.sharpness))
  photo:setPropertyForPlugin(_PLUGIN, 'pd_exposure', fmt(scores.exposure))
  photo:setPropertyForPlugin(_PLUGIN, 'pd_noise', fmt(scores.noise))
  photo:setPropertyForPlugin(_PLUGIN, 'pd_duplicateGroup', str(item.duplicate_group))
  photo:setPropertyForPlugin(_PLUGIN, 'pd_analyzedAt', str(item.analyzed_at))
  local function int(v) if type(v) == 'number' then return string.format('%d', v) end end
  photo:setPropertyForPlugin(_PLUGIN, 'pd_eyesOpen', fmt(item.eyes_open))
  photo:setPropertyForPlugin(_PLUGIN, 'pd_faceCount', int(item.face_count))
  photo:setPropertyForPlugin(_PLUGIN, 'pd_cullRank', int(item.cull_rank))
  photo:setPropertyForPlugin(_PLUGIN, 'pd_cullReason', str(item.cull_reason))
end

-- items: [{path, keywords?, caption?, rating?, label?, pick?, scores?, ...}]. Returns
-- {applied, missing, errors} as in apply.result. One transaction for all, so an export waits once.
function Catalog.applyMetadata(items, overwriteCaption, keywordParent)
  local catalog = LrApplication.activeCatalog()
  local found, missing, errors = {}, {}, {}
  for _, item in ipairs(items or {}) do
    local photo = type(item) == 'table' and type(item.path) == 'string' and catalog:findPhotoByPath(item.path)
    if photo then found[#found + 1] = { photo = photo, item = item }
    else missing[#missing + 1] = type(item) == 'table' and item.path or Json.null end
  end
  local applied = 0
  local ok, err = Catalog.write('Pixel Detective: apply AI metadata', function()
    local cache = {}
    applied = 0
    for _, f in ipairs(found) do
      -- plain pcall: nothing in here yields, and one bad photo must not stop the others
      local fine, e = pcall(applyOne, catalog, f.photo, f.item, overwriteCaption, cache, keywordParent)
      if fine then applied = applied + 1 else errors[#errors + 1] = { path = f.item.path, message = tostring(e) } end
    end
  end)
  if not ok then return nil, err end
  local hasScores = false
  for _, f in ipairs(found) do if f.item.scores ~= nil or f.item.analyzed_at ~= nil then hasScores = true end end
  if hasScores then
    local pok, perr = Catalog.write('Pixel Detective: scores', function()
      for _, f in ipairs(found) do pcall(pluginFields, f.photo, f.item) end
    end, true)
    if not pok then errors[#errors + 1] = { path = Json.null, message = 'plug-in fields: ' .. tostring(perr) } end
  end
  return { applied = applied, missing = Json.array(missing), errors = Json.array(errors) }
end

-- A collection holding `paths` in that order (replacing what it held), optionally inside a set; the photos
-- are selected and the collection shown. Returns {collection, added, missing}.
function Catalog.showCollection(name, paths, setName, opts)
  opts = opts or {}
  local catalog = LrApplication.activeCatalog()
  local photos, missing = Catalog.photosForPaths(paths)
  local collection
  local ok, err = Catalog.write('Pixel Detective: ' .. name, function()
    local parent = setName and catalog:createCollectionSet(setName, nil, true) or nil
    collection = catalog:createCollection(name, parent, true)
    if not opts.append then collection:removeAllPhotos() end
    collection:addPhotos(photos) -- added in relevance order: the collection keeps it as its custom order
  end)
  if not ok then return nil, err end
  if opts.show ~= false then
    if catalog.setActiveSources then catalog:setActiveSources({ collection }) end
    if #photos > 0 then catalog:setSelectedPhotos(photos[1], photos) end
  end
  return { collection = name, added = #photos, missing = Json.array(missing) }
end

return Catalog
