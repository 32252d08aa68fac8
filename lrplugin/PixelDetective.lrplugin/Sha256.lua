--[[ SHA-256 and HMAC-SHA256 in plain Lua 5.1 (FIPS 180-4, RFC 2104), for the bridge handshake.
Lightroom's Lua has no bit library, so the 32-bit operations are arithmetic on numbers (doubles hold 2^53
exactly): AND/XOR work a nibble at a time through 16x16 tables, rotations and shifts are division and
multiplication by powers of two. Slow next to C, but the handshake hashes a few hundred bytes.
]]
local Sha256 = {}

local floor = math.floor
local byte, char, format, rep = string.byte, string.char, string.format, string.rep
local MOD = 4294967296 -- 2^32

-- Nibble tables: AND4[a * 16 + b + 1], XOR4[a * 16 + b + 1] for 0 <= a, b < 16.
local AND4, XOR4 = {}, {}
for a = 0, 15 do
  for b = 0, 15 do
    local andv, xorv, bit = 0, 0, 1
    local x, y = a, b
    for _ = 1, 4 do
      local xb, yb = x % 2, y % 2
      if xb == 1 and yb == 1 then andv = andv + bit end
      if xb ~= yb then xorv = xorv + bit end
      x, y, bit = (x - xb) / 2, (y - yb) / 2, bit * 2
    end
    AND4[a * 16 + b + 1], XOR4[a * 16 + b + 1] = andv, xorv
  end
end

local function nibblewise(tbl, a, b)
  local r, p = 0, 1
  for _ = 1, 8 do
    local x, y = a % 16, b % 16
    r = r + tbl[x * 16 + y + 1] * p
    a, b, p = (a - x) / 16, (b - y) / 16, p * 16
  end
  return r
end

local function band(a, b) return nibblewise(AND4, a, b) end
local function bxor(a, b) return nibblewise(XOR4, a, b) end
local function bnot(a) return MOD - 1 - a end
local function rshift(a, n) return floor(a / 2 ^ n) end
local function rrotate(a, n)
  local low = a % 2 ^ n
  return (a - low) / 2 ^ n + low * 2 ^ (32 - n)
end

local K = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

-- The message padded to a multiple of 64 bytes: 0x80, zeros, then the length in bits (64-bit big endian).
local function pad(msg)
  local bits = #msg * 8
  local zeros = (55 - #msg) % 64
  local len = {}
  for i = 8, 1, -1 do
    len[i] = char(bits % 256)
    bits = floor(bits / 256)
  end
  return msg .. '\128' .. rep('\0', zeros) .. table.concat(len)
end

local function compress(H, block, offset)
  local w = {}
  for i = 1, 16 do
    local b1, b2, b3, b4 = byte(block, offset + (i - 1) * 4 + 1, offset + (i - 1) * 4 + 4)
    w[i] = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
  end
  for i = 17, 64 do
    local v15, v2 = w[i - 15], w[i - 2]
    local s0 = bxor(bxor(rrotate(v15, 7), rrotate(v15, 18)), rshift(v15, 3))
    local s1 = bxor(bxor(rrotate(v2, 17), rrotate(v2, 19)), rshift(v2, 10))
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) % MOD
  end
  local a, b, c, d, e, f, g, h = H[1], H[2], H[3], H[4], H[5], H[6], H[7], H[8]
  for i = 1, 64 do
    local S1 = bxor(bxor(rrotate(e, 6), rrotate(e, 11)), rrotate(e, 25))
    local ch = bxor(band(e, f), band(bnot(e), g))
    local t1 = (h + S1 + ch + K[i] + w[i]) % MOD
    local S0 = bxor(bxor(rrotate(a, 2), rrotate(a, 13)), rrotate(a, 22))
    local maj = bxor(bxor(band(a, b), band(a, c)), band(b, c))
    local t2 = (S0 + maj) % MOD
    h, g, f, e, d, c, b, a = g, f, e, (d + t1) % MOD, c, b, a, (t1 + t2) % MOD
  end
  H[1], H[2], H[3], H[4] = (H[1] + a) % MOD, (H[2] + b) % MOD, (H[3] + c) % MOD, (H[4] + d) % MOD
  H[5], H[6], H[7], H[8] = (H[5] + e) % MOD, (H[6] + f) % MOD, (H[7] + g) % MOD, (H[8] + h) % MOD
end

-- The 32-byte digest of `msg` (a byte string).
function Sha256.digest(msg)
  local H = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 }
  local padded = pad(msg)
  for offset = 0, #padded - 64, 64 do compress(H, padded, offset) end
  local out = {}
  for i = 1, 8 do
    local v = H[i]
    out[i] = char(floor(v / 16777216) % 256, floor(v / 65536) % 256, floor(v / 256) % 256, v % 256)
  end
  return table.concat(out)
end

function Sha256.tohex(s)
  return (s:gsub('.', function(c) return format('%02x', byte(c)) end))
end

function Sha256.hex(msg) return Sha256.tohex(Sha256.digest(msg)) end

local function xorWith(s, value)
  return (s:gsub('.', function(c) return char(bxor(byte(c), value)) end))
end

-- HMAC-SHA256 (RFC 2104) of `msg` under `key`, both byte strings; the digest as 64 lowercase hex digits.
function Sha256.hmacHex(key, msg)
  if #key > 64 then key = Sha256.digest(key) end
  key = key .. rep('\0', 64 - #key)
  local inner = Sha256.digest(xorWith(key, 0x36) .. msg)
  return Sha256.hex(xorWith(key, 0x5c) .. inner)
end

-- Equal strings, compared over their whole length so timing does not tell how much of a proof matched.
function Sha256.same(a, b)
  if type(a) ~= 'string' or type(b) ~= 'string' or #a ~= #b then return false end
  local diff = 0
  for i = 1, #a do
    if byte(a, i) ~= byte(b, i) then diff = diff + 1 end
  end
  return diff == 0
end

return Sha256
