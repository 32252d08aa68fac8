--[[ A small JSON encoder/decoder for the bridge frames (Lightroom has no JSON module).
Json.null stands for JSON null (a Lua nil cannot sit in a table). Decoded arrays and objects carry a
metatable (Json.ARRAY / Json.OBJECT) so an empty [] re-encodes as [] and an empty {} as {}. Plain tables
encode as arrays when their keys are exactly 1..n (n > 0), otherwise as objects; wrap with Json.array(t)
or Json.object(t) to say which. Errors name the byte position: "json: <what> at position <n>".
]]
local Json = {}

Json.null = setmetatable({}, { __tostring = function() return 'null' end })
Json.ARRAY = { __jsontype = 'array' }
Json.OBJECT = { __jsontype = 'object' }
Json.MAX_DEPTH = 64 -- frames are shallow; the limit keeps a hostile frame from exhausting the C stack

function Json.array(t) return setmetatable(t or {}, Json.ARRAY) end
function Json.object(t) return setmetatable(t or {}, Json.OBJECT) end
function Json.isNull(v) return v == nil or v == Json.null end

-- Encoding -------------------------------------------------------------------------------------------------
local ESCAPES = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f', ['\n'] = '\\n',
  ['\r'] = '\\r', ['\t'] = '\\t' }

local function encodeString(s)
  -- Non-ASCII UTF-8 passes through as is (valid JSON); control characters become \u00XX.
  if not s:find('[%c"\\]') then return '"' .. s .. '"' end -- most strings (paths): nothing to escape
  return '"' .. s:gsub('[%c"\\]', function(c)
    return ESCAPES[c] or string.format('\\u%04x', c:byte())
  end) .. '"'
end

local function encodeNumber(n)
  if n ~= n or n == math.huge or n == -math.huge then error('json: cannot encode ' .. tostring(n), 0) end
  -- '%.0f' rather than '%d': Lua 5.1's %d goes through a C long, 32 bits on Windows.
  if n % 1 == 0 and n > -2^53 and n < 2^53 then return string.format('%.0f', n) end
  return string.format('%.17g', n)
end

local function isArray(t)
  local mt = getmetatable(t)
  if mt == Json.ARRAY then return true end
  if mt == Json.OBJECT then return false end
  local n = #t
  if n == 0 then return false end
  local count = 0
  for k in pairs(t) do
    if type(k) ~= 'number' or k < 1 or k > n or k % 1 ~= 0 then return false end
    count = count + 1
  end
  return count == n
end

local encodeValue
function encodeValue(v, depth, out)
  local tv = type(v)
  if v == nil or v == Json.null then out[#out + 1] = 'null'
  elseif tv == 'boolean' then out[#out + 1] = v and 'true' or 'false'
  elseif tv == 'number' then out[#out + 1] = encodeNumber(v)
  elseif tv == 'string' then out[#out + 1] = encodeString(v)
  elseif tv == 'table' then
    if depth >= Json.MAX_DEPTH then error('json: nesting deeper than ' .. Json.MAX_DEPTH, 0) end
    if isArray(v) then
      out[#out + 1] = '['
      for i = 1, #v do
        if i > 1 then out[#out + 1] = ',' end
        encodeValue(v[i], depth + 1, out)
      end
      out[#out + 1] = ']'
    else
      local keys = {}
      for k in pairs(v) do
        if type(k) ~= 'string' then error('json: object key must be a string, got ' .. type(k), 0) end
        keys[#keys + 1] = k
      end
      table.sort(keys) -- stable output makes frames easy to compare in logs and tests
      out[#out + 1] = '{'
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = ',' end
        out[#out + 1] = encodeString(k)
        out[#out + 1] = ':'
        encodeValue(v[k], depth + 1, out)
      end
      out[#out + 1] = '}'
    end
  else
    error('json: cannot encode a ' .. tv, 0)
  end
end

function Json.encode(v)
  local out = {}
  encodeValue(v, 0, out)
  return table.concat(out)
end

-- Decoding -------------------------------------------------------------------------------------------------
local function fail(what, pos) error(string.format('json: %s at position %d', what, pos), 0) end

-- Valid UTF-8 only (no overlongs, no surrogates, <= U+10FFFF); returns the bad position or nil.
local function badUtf8(s)
  local pos = 1
  local len = #s
  while true do
    pos = s:find('[\128-\255]', pos)
    if not pos then return nil end
    local c = s:byte(pos)
    local n, min
    if c >= 0xC2 and c <= 0xDF then n, min = 1, 0x80
    elseif c >= 0xE0 and c <= 0xEF then n, min = 2, 0x800
    elseif c >= 0xF0 and c <= 0xF4 then n, min = 3, 0x10000
    else return pos end
    if pos + n > len then return pos end
    local cp = c % (2 ^ (6 - n))
    for i = 1, n do
      local b = s:byte(pos + i)
      if b < 0x80 or b > 0xBF then return pos end
      cp = cp * 64 + (b - 0x80)
    end
    if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return pos end
    pos = pos + n + 1
  end
end

local function utf8(cp)
  if cp < 0x80 then return string.char(cp) end
  if cp < 0x800 then return string.char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return string.char(0xE0 + math.floor(cp / 4096), 0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return string.char(0xF0 + math.floor(cp / 262144), 0x80 + math.floor(cp / 4096) % 64,
    0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
end

local SIMPLE = { ['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', f = '\f', n = '\n', r = '\r', t = '\t' }

local function skip(s, pos) return (s:find('[^ \t\r\n]', pos)) or #s + 1 end

local function hex4(s, pos)
  local h = s:match('^%x%x%x%x', pos)
  if not h then fail('bad \\u escape', pos) end
  return tonumber(h, 16)
end

local function decodeString(s, pos) -- pos at the opening quote
  local parts = {}
  local i = pos + 1
  while true do
    local j = s:find('["\\%z\1-\31]', i)
    if not j then fail('unterminated string', pos) end
    local c = s:sub(j, j)
    parts[#parts + 1] = s:sub(i, j - 1)
    if c == '"' then return table.concat(parts), j + 1 end
    if c ~= '\\' then fail('control character in string', j) end
    local e = s:sub(j + 1, j + 1)
    if SIMPLE[e] then
      parts[#parts + 1] = SIMPLE[e]
      i = j + 2
    elseif e == 'u' then
      local cp = hex4(s, j + 2)
      i = j + 6
      if cp >= 0xD800 and cp <= 0xDBFF then
        if s:sub(i, i + 1) ~= '\\u' then fail('lone surrogate', j) end
        local lo = hex4(s, i + 2)
        if lo < 0xDC00 or lo > 0xDFFF then fail('lone surrogate', j) end
        cp = 0x10000 + (cp - 0xD800) * 1024 + (lo - 0xDC00)
        i = i + 6
      elseif cp >= 0xDC00 and cp <= 0xDFFF then
        fail('lone surrogate', j)
      end
      parts[#parts + 1] = utf8(cp)
    else
      fail('bad escape', j)
    end
  end
end

local function decodeNumber(s, pos)
  local num = s:match('^-?%d+%.?%d*[eE]?[-+]?%d*', pos)
  -- The loose pattern finds the extent; the strict JSON grammar is checked on the match.
  if not num or not (num:match('^-?0$') or num:match('^-?[1-9]%d*$') or num:match('^-?0[.eE]') or num:match('^-?[1-9]%d*[.eE]'))
    or not (num:match('^-?%d+$') or num:match('^-?%d+%.%d+$') or num:match('^-?%d+[eE][-+]?%d+$')
      or num:match('^-?%d+%.%d+[eE][-+]?%d+$')) then
    fail('bad number', pos)
  end
  return tonumber(num), pos + #num
end

local decodeValue
function decodeValue(s, pos, depth)
  pos = skip(s, pos)
  local c = s:sub(pos, pos)
  if c == '{' or c == '[' then
    if depth >= Json.MAX_DEPTH then fail('nesting deeper than ' .. Json.MAX_DEPTH, pos) end
  end
  if c == '{' then
    local obj = setmetatable({}, Json.OBJECT)
    pos = skip(s, pos + 1)
    if s:sub(pos, pos) == '}' then return obj, pos + 1 end
    while true do
      if s:sub(pos, pos) ~= '"' then fail('expected a string key', pos) end
      local key
      key, pos = decodeString(s, pos)
      pos = skip(s, pos)
      if s:sub(pos, pos) ~= ':' then fail("expected ':'", pos) end
      local value
      value, pos = decodeValue(s, pos + 1, depth + 1)
      obj[key] = value
      pos = skip(s, pos)
      local d = s:sub(pos, pos)
      if d == '}' then return obj, pos + 1 end
      if d ~= ',' then fail("expected ',' or '}'", pos) end
      pos = skip(s, pos + 1)
    end
  elseif c == '[' then
    local arr = setmetatable({}, Json.ARRAY)
    pos = skip(s, pos + 1)
    if s:sub(pos, pos) == ']' then return arr, pos + 1 end
    local n = 0
    while true do
      local value
      value, pos = decodeValue(s, pos, depth + 1)
      n = n + 1
      arr[n] = value
      pos = skip(s, pos)
      local d = s:sub(pos, pos)
      if d == ']' then return arr, pos + 1 end
      if d ~= ',' then fail("expected ',' or ']'", pos) end
      pos = pos + 1
    end
  elseif c == '"' then
    return decodeString(s, pos)
  elseif c == '-' or c:match('%d') then
    return decodeNumber(s, pos)
  elseif s:sub(pos, pos + 3) == 'true' then return true, pos + 4
  elseif s:sub(pos, pos + 4) == 'false' then return false, pos + 5
  elseif s:sub(pos, pos + 3) == 'null' then return Json.null, pos + 4
  elseif c == '' then fail('unexpected end of input', pos)
  end
  fail('unexpected character ' .. string.format('%q', c), pos)
end

-- Decodes one JSON text; raises "json: ... at position n" on anything malformed.
function Json.decode(s)
  if type(s) ~= 'string' then error('json: expected a string, got ' .. type(s), 0) end
  local bad = badUtf8(s)
  if bad then fail('invalid UTF-8', bad) end
  local value, pos = decodeValue(s, 1, 0)
  pos = skip(s, pos)
  if pos <= #s then fail('trailing characters', pos) end
  return value
end

-- Like decode, but returns nil, message instead of raising.
function Json.tryDecode(s)
  local ok, value = pcall(Json.decode, s)
  if ok then return value end
  return nil, value
end

return Json
