-- The catalog stand-in. It is strict where Lightroom is strict, so the plugin fails here the way it would
-- fail in Lightroom:
-- * getRawMetadata / batchGetRawMetadata / getFormattedMetadata throw on unknown keys;
-- * setRawMetadata takes only title/caption/rating/label/pickStatus; rating 0 is rejected (nil means none);
-- * every write outside withWriteAccessDo throws; nested write access throws;
-- * while another write holds access (_SDK.catalog:_holdWriteAccess(true), e.g. an export), withWriteAccessDo
--   without a timeout table throws, with one it waits up to `timeout` seconds and returns 'aborted';
-- * createKeyword without returnExisting makes a new node even when the name exists (Lightroom is not
--   idempotent within one write transaction), so duplicate nodes show up in the tree;
-- * setPropertyForPlugin accepts only the fields MetadataProvider.lua declares.
local LrTasks = import 'LrTasks'
local LrApplication = {}

local RAW_KEYS = {
  path = true, uuid = true, keywords = true, dateTimeOriginal = true, fileName = true, rating = true,
  label = true, pickStatus = true, caption = true, title = true, localIdentifier = true, isVirtualCopy = true,
  fileFormat = true, width = true, height = true, colorNameForLabel = true,
}
local FORMATTED_KEYS = { fileName = true, caption = true, title = true, keywordTags = true, label = true,
  rating = true, folderName = true }
local SETTABLE = { title = true, caption = true, rating = true, label = true, pickStatus = true }

local nextId = 0
local function newId() nextId = nextId + 1; return nextId end

local catalog = {
  path = '/tmp/Test Catalog.lrcat', photos = {}, byPath = {}, rootKeywords = {}, rootCollections = {},
  selection = {}, writing = false, privateWriting = false, busy = false, activeSources = nil, writes = {},
  declaredFields = nil,
}
_SDK.catalog = catalog

local function requireWrite(what)
  if not (catalog.writing or (what == 'setPropertyForPlugin' and catalog.privateWriting)) then
    error('LrCatalog: ' .. what .. ' must be called from inside catalog:withWriteAccessDo', 3)
  end
end

local function declaredFields()
  if catalog.declaredFields == nil then
    local chunk = assert(loadfile(_SDK.pluginDir .. '/MetadataProvider.lua'))
    local provider = chunk()
    catalog.declaredFields = {}
    for _, f in ipairs(provider.metadataFieldsForPhotos or {}) do catalog.declaredFields[f.id] = f end
  end
  return catalog.declaredFields
end

-- Keywords -----------------------------------------------------------------------------------------------
local Keyword = {}
Keyword.__index = Keyword
function Keyword:getName() return self.name end
function Keyword:getParent() return self.parent end
function Keyword:getChildren() local t = {} for i, k in ipairs(self.children) do t[i] = k end return t end
function Keyword:getSynonyms() return self.synonyms end
function Keyword:getAttributes() return { includeOnExport = self.includeOnExport, synonyms = self.synonyms } end
function Keyword:getPhotos()
  local t = {}
  for _, p in ipairs(catalog.photos) do if p.keywords[self] then t[#t + 1] = p end end
  return t
end

function catalog:createKeyword(name, synonyms, includeOnExport, parent, returnExisting)
  requireWrite('createKeyword')
  assert(type(name) == 'string' and name ~= '', 'createKeyword: name must be a non-empty string')
  local siblings = parent and parent.children or self.rootKeywords
  if returnExisting then
    for _, k in ipairs(siblings) do if k.name == name then return k end end
  end
  local kw = setmetatable({ id = newId(), name = name, synonyms = synonyms or {}, includeOnExport = includeOnExport,
    parent = parent, children = {} }, Keyword)
  siblings[#siblings + 1] = kw
  return kw
end
function catalog:getKeywords() local t = {} for i, k in ipairs(self.rootKeywords) do t[i] = k end return t end

-- Collections ----------------------------------------------------------------------------------------------
local Collection = {}
Collection.__index = Collection
function Collection:getName() return self.name end
function Collection:getParent() return self.parent end
function Collection:getPhotos() local t = {} for i, p in ipairs(self.photos) do t[i] = p end return t end
function Collection:isSmartCollection() return false end
function Collection:addPhotos(photos)
  requireWrite('addPhotos')
  for _, p in ipairs(photos) do
    if not self.members[p] then self.members[p] = true; self.photos[#self.photos + 1] = p end
  end
end
function Collection:removeAllPhotos()
  requireWrite('removeAllPhotos')
  self.photos, self.members = {}, {}
end
function Collection:removePhotos(photos)
  requireWrite('removePhotos')
  local drop = {}
  for _, p in ipairs(photos) do drop[p] = true end
  local keep = {}
  for _, p in ipairs(self.photos) do if not drop[p] then keep[#keep + 1] = p end end
  self.photos, self.members = keep, {}
  for _, p in ipairs(keep) do self.members[p] = true end
end

local CollectionSet = {}
CollectionSet.__index = CollectionSet
function CollectionSet:getName() return self.name end
function CollectionSet:getParent() return self.parent end
function CollectionSet:getChildCollections() local t = {} for _, c in ipairs(self.children) do if c.kind == 'collection' then t[#t + 1] = c end end return t end
function CollectionSet:getChildCollectionSets() local t = {} for _, c in ipairs(self.children) do if c.kind == 'set' then t[#t + 1] = c end end return t end

local function findChild(list, kind, name)
  for _, c in ipairs(list) do if c.kind == kind and c.name == name then return c end end
end

function catalog:createCollection(name, parent, returnExisting)
  requireWrite('createCollection')
  local list = parent and parent.children or self.rootCollections
  local existing = findChild(list, 'collection', name)
  if existing then
    if returnExisting then return existing end
    error('LrCatalog:createCollection: a collection named "' .. name .. '" already exists', 2)
  end
  local c = setmetatable({ kind = 'collection', id = newId(), name = name, parent = parent, photos = {}, members = {} }, Collection)
  list[#list + 1] = c
  return c
end
function catalog:createCollectionSet(name, parent, returnExisting)
  requireWrite('createCollectionSet')
  local list = parent and parent.children or self.rootCollections
  local existing = findChild(list, 'set', name)
  if existing then
    if returnExisting then return existing end
    error('LrCatalog:createCollectionSet: a set named "' .. name .. '" already exists', 2)
  end
  local s = setmetatable({ kind = 'set', id = newId(), name = name, parent = parent, children = {} }, CollectionSet)
  list[#list + 1] = s
  return s
end
function catalog:getChildCollections() local t = {} for _, c in ipairs(self.rootCollections) do if c.kind == 'collection' then t[#t + 1] = c end end return t end
function catalog:getChildCollectionSets() local t = {} for _, c in ipairs(self.rootCollections) do if c.kind == 'set' then t[#t + 1] = c end end return t end
function catalog:setActiveSources(sources) self.activeSources = sources end

-- Photos -------------------------------------------------------------------------------------------------
local Photo = {}
Photo.__index = Photo
function Photo:getRawMetadata(key)
  if not RAW_KEYS[key] then error('LrPhoto:getRawMetadata: unknown key "' .. tostring(key) .. '"', 2) end
  if key == 'keywords' then
    local t = {}
    for _, kw in ipairs(self.keywordList) do t[#t + 1] = kw end
    return t
  end
  return self.raw[key]
end
function Photo:getFormattedMetadata(key)
  if not FORMATTED_KEYS[key] then error('LrPhoto:getFormattedMetadata: unknown key "' .. tostring(key) .. '"', 2) end
  if key == 'keywordTags' then
    local names = {}
    for _, kw in ipairs(self.keywordList) do names[#names + 1] = kw.name end
    return table.concat(names, ', ')
  end
  local v = self.raw[key]
  if v == nil then return '' end
  return tostring(v)
end
function Photo:setRawMetadata(key, value)
  requireWrite('setRawMetadata')
  if not SETTABLE[key] then error('LrPhoto:setRawMetadata: key "' .. tostring(key) .. '" cannot be set', 2) end
  if key == 'rating' then
    if value ~= nil and (type(value) ~= 'number' or value < 1 or value > 5 or value % 1 ~= 0) then
      error('LrPhoto:setRawMetadata: rating must be nil or 1..5, got ' .. tostring(value), 2)
    end
  elseif key == 'pickStatus' then
    if value ~= -1 and value ~= 0 and value ~= 1 then error('LrPhoto:setRawMetadata: pickStatus must be -1, 0 or 1', 2) end
  elseif value ~= nil and type(value) ~= 'string' then
    error('LrPhoto:setRawMetadata: ' .. key .. ' must be a string', 2)
  end
  self.raw[key] = value
  catalog.writes[#catalog.writes + 1] = { path = self.raw.path, key = key, value = value }
end
function Photo:addKeyword(kw)
  requireWrite('addKeyword')
  assert(getmetatable(kw) == Keyword, 'addKeyword needs an LrKeyword')
  if not self.keywords[kw] then self.keywords[kw] = true; self.keywordList[#self.keywordList + 1] = kw end
end
function Photo:removeKeyword(kw)
  requireWrite('removeKeyword')
  if self.keywords[kw] then
    self.keywords[kw] = nil
    for i, k in ipairs(self.keywordList) do if k == kw then table.remove(self.keywordList, i) break end end
  end
end
function Photo:getPropertyForPlugin(plugin, field)
  if not declaredFields()[field] then error('getPropertyForPlugin: field "' .. tostring(field) .. '" is not declared', 2) end
  return self.pluginProps[field]
end
function Photo:setPropertyForPlugin(plugin, field, value)
  requireWrite('setPropertyForPlugin')
  if not declaredFields()[field] then error('setPropertyForPlugin: field "' .. tostring(field) .. '" is not declared', 2) end
  if value ~= nil and type(value) ~= 'string' and type(value) ~= 'number' then
    error('setPropertyForPlugin: value must be a string, a number or nil', 2)
  end
  self.pluginProps[field] = value
end

function catalog:_addPhoto(path)
  local n = #self.photos + 1
  local p = setmetatable({ raw = { path = path, uuid = string.format('UUID-%06d', newId()), localIdentifier = n,
    fileName = path:match('([^/\\]*)$'), pickStatus = 0, isVirtualCopy = false }, keywords = {}, keywordList = {},
    pluginProps = {} }, Photo)
  self.photos[n] = p
  self.byPath[path] = p
  return p
end
function catalog:getPath() return self.path end
function catalog:getAllPhotos() local t = {} for i, p in ipairs(self.photos) do t[i] = p end return t end
function catalog:findPhotoByPath(path) return self.byPath[path] end
function catalog:findPhotoByUuid(uuid)
  for _, p in ipairs(self.photos) do if p.raw.uuid == uuid then return p end end
end
-- Lightroom: the selection, or every photo in the filmstrip when nothing is selected.
function catalog:getTargetPhotos()
  if #self.selection > 0 then local t = {} for i, p in ipairs(self.selection) do t[i] = p end return t end
  return self:getAllPhotos()
end
function catalog:getTargetPhoto() return self.selection[1] end
function catalog:setSelectedPhotos(active, others)
  local sel = { active }
  for _, p in ipairs(others or {}) do if p ~= active then sel[#sel + 1] = p end end
  self.selection = sel
end
function catalog:batchGetRawMetadata(photos, keys)
  for _, k in ipairs(keys) do
    if not RAW_KEYS[k] then error('LrCatalog:batchGetRawMetadata: unknown key "' .. tostring(k) .. '"', 2) end
  end
  local out = {}
  for _, p in ipairs(photos) do
    local row = {}
    for _, k in ipairs(keys) do row[k] = p:getRawMetadata(k) end
    out[p] = row
  end
  return out
end

-- Write access ---------------------------------------------------------------------------------------------
function catalog:_holdWriteAccess(busy) self.busy = busy end

local function withAccess(flag, name, fn, opts)
  LrTasks._requireTask('withWriteAccessDo')
  if catalog.writing or catalog.privateWriting then
    error('LrCatalog:withWriteAccessDo: already inside a write access call ("' .. tostring(name) .. '")', 3)
  end
  if catalog.busy then
    if type(opts) ~= 'table' or not opts.timeout then
      error('LrCatalog:withWriteAccessDo: could not execute action "' .. tostring(name)
        .. '": it was blocked by another write access call, and no timeout parameters were provided', 3)
    end
    local deadline = _SDK.host.now() + opts.timeout
    while catalog.busy and _SDK.host.now() < deadline do LrTasks.sleep(0.05) end
    if catalog.busy then
      if opts.callback then opts.callback() end
      return 'aborted'
    end
  end
  catalog[flag] = true
  local ok, err = LrTasks.pcall(fn, {})
  catalog[flag] = false
  if not ok then error(err, 0) end
  return 'executed'
end

function catalog:withWriteAccessDo(name, fn, opts) return withAccess('writing', name, fn, opts) end
function catalog:withPrivateWriteAccessDo(fn, opts) return withAccess('privateWriting', 'private', fn, opts) end
function catalog:withReadAccessDo(fn) return fn() end

function LrApplication.activeCatalog() return catalog end
function LrApplication.versionString() return '13.0 (stand-in)' end
function LrApplication.versionTable() return { major = 13, minor = 0, revision = 0 } end
return LrApplication
