--[[ The bridge to the Pixel Detective service (protocol v2, see ../README.md).
The plugin listens on two LrSockets (Lightroom can only listen): `receive` (service -> plugin) and `send`
(plugin -> service). Bridge.run(context) binds them and then loops as the supervisor (auth deadline,
heartbeat, dead peer, request timeouts); it must run inside postAsyncTaskWithContext, whose context owns
the sockets. Socket callbacks never sleep or yield: they only parse, route and start tasks.
Menu actions call Bridge.call / Bridge.runJob from their own tasks.
Whoever connects is a stranger until the handshake: the service's hello carries its nonce, we answer
with our nonce and an HMAC proof, and only a correct HMAC proof from the service in `auth` lets it in
(no request runs, nothing is queued for it before). The token itself never crosses the socket.
]]
local LrDate = import 'LrDate'
local LrFileUtils = import 'LrFileUtils'
local LrPathUtils = import 'LrPathUtils'
local LrSocket = import 'LrSocket'
local LrTasks = import 'LrTasks'
local LrApplication = import 'LrApplication'

local Json = require 'Json'
local Log = require 'Log'
local Sha256 = require 'Sha256'

local Bridge = {}

Bridge.PROTOCOL = 2 -- 2: mutual HMAC handshake (1 sent the token itself)
Bridge.VERSION = '0.1.0'
Bridge.AUTH_TIMEOUT = 5       -- s for each handshake frame (hello, then auth) from the service
Bridge.PING_INTERVAL = 10     -- s of silence on our side before we ping
Bridge.DEAD_AFTER = 30        -- s without hearing anything: the peer is gone
Bridge.REQUEST_TIMEOUT = 30   -- s for a reply (long jobs: between two frames)
Bridge.MAX_FRAME = 1024 * 1024
-- Optional protocol features this plugin speaks (announced in auth.ok; used when the service's hello names
-- them too). "chunks": long path lists go up in `upload` pieces, long replies come down in `part` frames.
Bridge.FEATURES = { 'chunks' }
Bridge.CHUNK_BYTES = 512 * 1024 -- paths per `upload` piece, in encoded bytes (well under MAX_FRAME)

-- Requests the plugin sends, with the reply types each can get. The dispatch table below routes those reply
-- types to the waiting caller by `re`.
Bridge.REQUESTS = {
  status = { 'status.result' },
  search = { 'search.result' },
  similar = { 'similar.result' },
  analyze = { 'analyze.accepted', 'analyze.done' },
  cancel = { 'cancel.result' },
  metadata = { 'metadata.result' },
  duplicates = { 'duplicates.result' },
  upload = { 'upload.result' },
  engines = { 'engines.result' },
  ['engine.use'] = { 'engine.use.result' },
  ping = { 'pong' },
}

local state = {
  running = false, sockets = {}, ports = {}, connected = { receive = false, send = false },
  authed = false, authDeadline = nil, lastHeard = 0, lastSent = 0, outbox = {}, handshakeOut = {},
  challenge = nil, -- while the handshake runs: { nonceS, nonceP, token, hello }
  pending = {}, jobs = {}, seq = 0, peer = nil, peerFeatures = {}, portFileWritten = false, lastError = nil,
}
Bridge._state = state

local function now() return LrDate.currentTime() end

-- Files ----------------------------------------------------------------------------------------------------
function Bridge.dir()
  return LrPathUtils.child(LrPathUtils.child(LrPathUtils.getStandardFilePath('home'), '.pixel-detective'), 'bridge')
end
function Bridge.portFilePath() return LrPathUtils.child(Bridge.dir(), 'ports.json') end
function Bridge.tokenPath() return LrPathUtils.child(Bridge.dir(), 'token') end

function Bridge.readToken()
  local path = Bridge.tokenPath()
  if not LrFileUtils.exists(path) then return nil end
  local text = LrFileUtils.readFile(path)
  if not text then return nil end
  text = text:gsub('^%s+', ''):gsub('%s+$', '')
  if text == '' then return nil end
  return text
end

-- Written to a temp name and renamed, so the service never reads half a file.
local function writePortFile()
  if not (state.ports.receive and state.ports.send) then return end
  local dir = Bridge.dir()
  LrFileUtils.createAllDirectories(dir)
  local final = Bridge.portFilePath()
  local tmp = final .. '.tmp'
  local f = assert(io.open(tmp, 'wb'))
  f:write(Json.encode({ protocol = Bridge.PROTOCOL, receive = state.ports.receive, send = state.ports.send,
    pid = Json.null, written_at = os.time() }))
  f:close()
  -- os.rename replaces atomically on POSIX; on Windows it refuses an existing target, so remove it first.
  local ok = os.rename(tmp, final)
  if not ok then
    LrFileUtils.delete(final)
    ok = os.rename(tmp, final)
  end
  state.portFileWritten = ok and true or false
end

local function removePortFile()
  LrFileUtils.delete(Bridge.portFilePath())
  state.portFileWritten = false
end

-- Frames ---------------------------------------------------------------------------------------------------
local function nextId()
  state.seq = state.seq + 1
  return string.format('lr-%d-%d', math.floor(now()), state.seq)
end

-- The envelope with `v`, `id`, `type` and `re` first and the body last, so a service that has to drop a
-- frame as too large still finds its id in the first bytes and can say which request it refused.
function Bridge.encodeFrame(frame)
  local head = '{"v":' .. Json.encode(frame.v) .. ',"id":' .. Json.encode(frame.id) .. ',"type":' .. Json.encode(frame.type)
  if frame.re ~= nil then head = head .. ',"re":' .. Json.encode(frame.re) end
  return head .. ',"body":' .. Json.encode(frame.body == nil and Json.object() or frame.body) .. '}\n'
end

local function writeFrame(data)
  local sock = state.sockets.send
  if not (sock and state.connected.send) then return false end
  state.lastSent = now()
  return sock:send(data)
end

local function rawSend(data)
  if not state.authed then return false end
  return writeFrame(data)
end

-- Queued until the send socket is up and the service has authenticated. Returns the frame's id, or nil and
-- {code, message} for a frame over the cap (never sent: the service would drop it).
local function send(frame)
  frame.v = Bridge.PROTOCOL
  frame.id = frame.id or nextId()
  if frame.body == nil then frame.body = Json.object() end
  local data = Bridge.encodeFrame(frame)
  if #data > Bridge.MAX_FRAME + 1 then
    return nil, { code = 'too_large', message = string.format('request of %d bytes (at most %d)', #data - 1, Bridge.MAX_FRAME) }
  end
  if state.authed and state.connected.send then
    rawSend(data)
  else
    state.outbox[#state.outbox + 1] = data
  end
  return frame.id
end
Bridge._send = send

-- Handshake frames go out as soon as the send socket is up; everything else only once the service has
-- proven itself.
local function sendHandshake(frame)
  frame.v = Bridge.PROTOCOL
  frame.id = frame.id or nextId()
  state.handshakeOut[#state.handshakeOut + 1] = Bridge.encodeFrame(frame)
end

local function flush()
  if not state.connected.send then return end
  local handshake = state.handshakeOut
  state.handshakeOut = {}
  for _, data in ipairs(handshake) do writeFrame(data) end
  if not state.authed then return end
  local queued = state.outbox
  state.outbox = {}
  for _, data in ipairs(queued) do rawSend(data) end
end

local function sendError(re, code, message)
  send({ type = 'error', re = re == nil and Json.null or re, body = { code = code, message = message } })
end
Bridge.sendError = sendError

function Bridge.reply(request, type_, body)
  send({ type = type_, re = request.id, body = body or Json.object() })
end

-- Connection lifecycle -------------------------------------------------------------------------------------
local function failPending(code, message)
  for id, p in pairs(state.pending) do
    p.inbox[#p.inbox + 1] = { type = 'error', re = id, body = { code = code, message = message } }
  end
end

-- Drops the connection (both sockets) and listens again. No handler runs for what was in flight.
local function resetConnection(why)
  Log:info('bridge reset:', why)
  state.lastError = why
  local wasAuthed = state.authed
  state.authed = false
  state.authDeadline = nil
  state.outbox = {}
  state.handshakeOut = {}
  state.challenge = nil
  state.peer = nil
  state.peerFeatures = {}
  if wasAuthed then failPending('disconnected', 'connection to Pixel Detective lost (' .. why .. ')') end
  for _, mode in ipairs({ 'receive', 'send' }) do
    state.connected[mode] = false
    if state.sockets[mode] and state.running then state.sockets[mode]:reconnect() end
  end
end
Bridge._reset = resetConnection

-- Dispatch -------------------------------------------------------------------------------------------------
local function routeReply(frame)
  local re = frame.re
  local p = (type(re) == 'string') and state.pending[re] or nil
  if not p and type(frame.body) == 'table' and frame.body.job ~= nil then
    -- progress/done frames may name only the job (see README, Open questions)
    local id = state.jobs[frame.body.job]
    p = id and state.pending[id]
  end
  if not p and frame.type == 'error' and not (type(re) == 'string' and re ~= '') then
    -- The service could not tell which request it refused (an older service, or a frame it could not
    -- read at all): every waiting request may be the one, so each hears it now rather than timing out.
    local any = false
    for _, q in pairs(state.pending) do q.inbox[#q.inbox + 1] = frame any = true end
    if any then return end
  end
  if not p then
    Log:info('dropping', frame.type, 'for unknown request', tostring(re))
    return
  end
  p.inbox[#p.inbox + 1] = frame
end

local function handlePushed(moduleName)
  -- Pushed requests touch the catalog, which must happen in a task; the callback only starts it.
  return function(frame)
    LrTasks.startAsyncTask(function()
      local ok, err = LrTasks.pcall(function()
        local handler = require(moduleName)
        local reply, code, message = handler(frame.body, frame)
        if reply then Bridge.reply(frame, frame.type .. '.result', reply)
        else sendError(frame.id, code or 'internal', message or 'failed') end
      end)
      if not ok then sendError(frame.id, 'internal', tostring(err)) end
    end, 'Pixel Detective: ' .. frame.type)
  end
end

-- The one table of incoming message types. Anything else gets `unknown_type` and is never executed.
local DISPATCH = {
  hello = function(frame) sendError(frame.id, 'bad_request', 'already authenticated') end,
  auth = function(frame) sendError(frame.id, 'bad_request', 'already authenticated') end,
  ping = function(frame) Bridge.reply(frame, 'pong') end,
  apply = handlePushed('PushApply'),
  show_collection = handlePushed('PushShowCollection'),
  progress = routeReply,
  part = routeReply,
  error = routeReply,
}
for _, replies in pairs(Bridge.REQUESTS) do
  for _, t in ipairs(replies) do DISPATCH[t] = routeReply end
end
Bridge.DISPATCH = DISPATCH

-- Handshake -----------------------------------------------------------------------------------------------
local function randomBytes(n)
  local f = io.open('/dev/urandom', 'rb')
  if not f then return nil end
  local data = f:read(n)
  f:close()
  return (data and #data == n) and data or nil
end

math.randomseed(os.time())
local mixed = 0
-- 256 random bits as hex. Where there is no /dev/urandom (Windows), clocks, a fresh table's address and
-- the PRNG go through SHA-256: the handshake needs a nonce that never repeats, the secret is the token.
function Bridge.newNonce()
  local raw = randomBytes(32)
  if not raw then
    mixed = mixed + 1
    raw = Sha256.digest(table.concat({ tostring(now()), tostring(os.clock()), tostring(os.time()),
      tostring({}), tostring(math.random()), tostring(mixed), tostring(state.seq) }, '|'))
  end
  return Sha256.tohex(raw)
end

-- proofs as in bridge/lightroom/auth.py: the role first, then both nonces, then the ports we listen on
function Bridge.proof(token, role, first, second)
  local message = table.concat({ role, first, second, tostring(state.ports.receive), tostring(state.ports.send) }, '|')
  return Sha256.hmacHex(token, message)
end

local function isNonce(v)
  return type(v) == 'string' and #v >= 32 and #v <= 128 and v:find('^[0-9a-f]+$') ~= nil
end

-- First frame: the service's hello. Answered with our nonce and proof; returns nil or why it failed.
local function onHello(frame)
  if type(frame) ~= 'table' or frame.type ~= 'hello' or type(frame.body) ~= 'table' then return 'first frame is not hello' end
  if frame.v ~= Bridge.PROTOCOL then
    -- an older/newer service: say so (it is not secret), then close
    sendHandshake({ type = 'error', re = type(frame.id) == 'string' and frame.id or Json.null,
      body = { code = 'unsupported_version', message = 'this plugin speaks protocol ' .. Bridge.PROTOCOL } })
    flush()
    return 'service speaks protocol ' .. tostring(frame.v)
  end
  if not isNonce(frame.body.nonce) then return 'hello without a nonce' end
  local token = Bridge.readToken()
  if not token then return 'no token file' end
  local nonceP = Bridge.newNonce()
  state.challenge = { nonceS = frame.body.nonce, nonceP = nonceP, token = token, hello = frame.body }
  state.authDeadline = now() + Bridge.AUTH_TIMEOUT
  sendHandshake({ type = 'hello.ack', re = frame.id,
    body = { nonce = nonceP, proof = Bridge.proof(token, 'pd-plugin', frame.body.nonce, nonceP) } })
  flush()
end

-- Second frame: the service's proof. Only a correct one authenticates the connection.
local function onAuth(frame)
  local c = state.challenge
  if type(frame) ~= 'table' or frame.type ~= 'auth' or type(frame.body) ~= 'table' then return 'second frame is not auth' end
  if not Sha256.same(Bridge.proof(c.token, 'pd-service', c.nonceP, c.nonceS), frame.body.proof) then
    return 'wrong proof (the service does not know the token)'
  end
  state.authed = true
  state.authDeadline = nil
  state.peer = c.hello
  state.peerFeatures = {}
  if type(c.hello.features) == 'table' then
    for _, f in ipairs(c.hello.features) do if type(f) == 'string' then state.peerFeatures[f] = true end end
  end
  state.challenge = nil
  local catalog = LrApplication.activeCatalog()
  send({ type = 'auth.ok', re = frame.id, body = { plugin_version = Bridge.VERSION,
    lightroom = LrApplication.versionString(), catalog = catalog:getPath(), features = Json.array(Bridge.FEATURES) } })
  flush()
end

local function onMessage(_, message)
  state.lastHeard = now()
  if not state.authed then
    local frame = (#message <= Bridge.MAX_FRAME) and Json.tryDecode(message) or nil
    local why
    if state.challenge then why = onAuth(frame) else why = onHello(frame) end
    if why then return resetConnection('auth failed: ' .. why) end
    return
  end
  if #message > Bridge.MAX_FRAME then return sendError(nil, 'too_large', 'frame over 1 MiB') end
  local frame, err = Json.tryDecode(message)
  if type(frame) ~= 'table' or getmetatable(frame) ~= Json.OBJECT then
    return sendError(nil, 'bad_frame', err or 'frame is not a JSON object')
  end
  local id = frame.id
  if type(id) ~= 'string' or type(frame.type) ~= 'string' or type(frame.v) ~= 'number' or type(frame.body) ~= 'table' then
    return sendError(type(id) == 'string' and id or nil, 'bad_frame', 'missing envelope fields (v, id, type, body)')
  end
  if frame.v ~= Bridge.PROTOCOL then
    return sendError(id, 'unsupported_version', 'this plugin speaks protocol ' .. Bridge.PROTOCOL)
  end
  local handler = DISPATCH[frame.type]
  if not handler then return sendError(id, 'unknown_type', 'unknown message type ' .. frame.type) end
  handler(frame)
end

local function callbacks(mode)
  return {
    onConnecting = function(_, port)
      if port and state.ports[mode] ~= port then
        state.ports[mode] = port
        writePortFile()
      end
    end,
    onConnected = function()
      state.connected[mode] = true
      state.lastHeard = now()
      if mode == 'receive' then state.authDeadline = now() + Bridge.AUTH_TIMEOUT end
      flush()
    end,
    onMessage = onMessage,
    onClosed = function(socket)
      if not state.running then return end
      if state.connected[mode] or state.authed then
        resetConnection(mode .. ' socket closed')
      else
        socket:reconnect()
      end
    end,
    onError = function(socket, err)
      if not state.running then return end
      if err == 'timeout' then
        socket:reconnect() -- nobody connected yet: keep listening
      else
        resetConnection(mode .. ' socket error: ' .. tostring(err))
      end
    end,
  }
end

-- The supervisor: deadlines and heartbeat, checked a few times a second.
local function tick()
  local t = now()
  if not state.authed then
    if state.authDeadline and t > state.authDeadline then resetConnection('handshake not finished within 5 s') end
    return
  end
  if t - state.lastHeard > Bridge.DEAD_AFTER then return resetConnection('no frame for 30 s') end
  if t - state.lastSent >= Bridge.PING_INTERVAL then send({ type = 'ping' }) end
end

function Bridge.run(context)
  if state.running then return end
  state.running = true
  state.ports = {}
  for _, mode in ipairs({ 'receive', 'send' }) do
    local params = callbacks(mode)
    params.functionContext = context
    params.plugin = _PLUGIN
    params.port = 0
    params.mode = mode
    state.sockets[mode] = LrSocket.bind(params)
  end
  while state.running do
    tick()
    LrTasks.sleep(0.2)
  end
end

function Bridge.stop()
  if not state.running then return end
  state.running = false
  failPending('disconnected', 'Lightroom plug-in shutting down')
  for _, mode in ipairs({ 'receive', 'send' }) do
    if state.sockets[mode] then state.sockets[mode]:close() end
    state.connected[mode] = false
  end
  state.sockets = {}
  state.authed = false
  removePortFile()
end

function Bridge.reconnect()
  if state.running then resetConnection('reconnect requested') end
end

function Bridge.isConnected() return state.authed and state.connected.send and state.connected.receive end

function Bridge.info()
  return { running = state.running, connected = Bridge.isConnected(), authed = state.authed,
    receivePort = state.ports.receive, sendPort = state.ports.send, tokenPresent = Bridge.readToken() ~= nil,
    peer = state.peer, lastError = state.lastError }
end

-- Requests -------------------------------------------------------------------------------------------------
local function notConnected()
  return nil, { code = 'not_connected', message = 'The Pixel Detective service is not connected. Start it (tray app or "pixel-detective serve") and try again.' }
end

local CANCELLED = { code = 'cancelled', message = 'cancelled' }

function Bridge.hasFeature(name) return state.peerFeatures[name] == true end

-- Waits (in a task) for the next frame for request `id`; nil, err on timeout; nil, nil once shouldStop().
local function nextFrame(id, timeout, shouldStop)
  local p = state.pending[id]
  local deadline = now() + timeout
  while #p.inbox == 0 do
    if now() > deadline then return nil, { code = 'timeout', message = 'no answer from Pixel Detective within ' .. timeout .. ' s' } end
    if shouldStop and shouldStop() then return nil, nil end
    LrTasks.sleep(0.05)
  end
  return table.remove(p.inbox, 1)
end

local function asError(frame)
  if frame.type == 'error' then
    local b = type(frame.body) == 'table' and frame.body or {}
    return { code = tostring(b.code), message = tostring(b.message) }
  end
end

-- Sends a request and registers it; returns its id, or nil and {code, message} (not connected, too large).
local function open(type_, body)
  if not Bridge.isConnected() then return notConnected() end
  local id = nextId()
  state.pending[id] = { inbox = {} }
  local ok, err = send({ id = id, type = type_, body = body })
  if not ok then
    state.pending[id] = nil
    return nil, err
  end
  return id
end

-- Splits `paths` into pieces of at most `maxBytes` encoded bytes each (a path over it is a piece of its own,
-- which the service then refuses as too large, naming the request).
function Bridge.chunks(paths, maxBytes)
  maxBytes = maxBytes or Bridge.CHUNK_BYTES
  local out, cur, size = {}, {}, 0
  for _, path in ipairs(paths) do
    -- quotes and a comma; a path with characters JSON escapes is measured encoded (rare, and costly)
    local n = #path + 3
    if path:find('[%c"\\]') then n = #Json.encode(path) + 1 end
    if #cur > 0 and size + n > maxBytes then
      out[#out + 1] = cur
      cur, size = {}, 0
    end
    cur[#cur + 1] = path
    size = size + n
  end
  if #cur > 0 then out[#out + 1] = cur end
  return out
end

-- A body whose `paths` do not fit one frame: with a service that takes "chunks" they go up in `upload`
-- pieces (opts.onUpload(done, total) after each; opts.isCancelled() polled between them) and the body
-- names the upload instead. Returns the body to send, or nil and {code, message}.
local function withUpload(body, opts)
  local paths = body and body.paths
  if type(paths) ~= 'table' or not Bridge.hasFeature('chunks') then return body end
  local pieces = Bridge.chunks(paths)
  if #pieces <= 1 then return body end
  local upload, done = nil, 0
  for _, piece in ipairs(pieces) do
    if opts.isCancelled and opts.isCancelled() then return nil, CANCELLED end
    local b = { paths = piece }
    if upload then b.upload = upload end
    local id, err = open('upload', b)
    if not id then return nil, err end
    local frame, ferr = nextFrame(id, opts.timeout or Bridge.REQUEST_TIMEOUT)
    state.pending[id] = nil
    if not frame then return nil, ferr end
    local e = asError(frame)
    if e then return nil, e end
    upload = frame.body.upload
    done = done + #piece
    if opts.onUpload then opts.onUpload(done, #paths) end
  end
  local out = {}
  for k, v in pairs(body) do if k ~= 'paths' then out[k] = v end end
  out.upload = upload
  return out
end

-- One request, one reply. Returns the reply body, or nil and {code, message}. Call from a task.
-- Long requests (feature "chunks"): their paths go up in pieces (see withUpload), and `part` frames before
-- the reply are put together into it (opts.onPart(done, total) after each). opts.isCancelled() is polled:
-- once true a `cancel` goes to the service and the call returns {code = 'cancelled'} at once.
-- opts.timeout: seconds between two frames. An error reply ends the call as soon as it arrives.
function Bridge.call(type_, body, opts)
  opts = opts or {}
  if not Bridge.isConnected() then return notConnected() end
  local err
  body, err = withUpload(body, opts)
  if not body then return nil, err end
  local id
  id, err = open(type_, body)
  if not id then return nil, err end
  local parts = {}
  local result, rtype
  while true do
    local frame, e = nextFrame(id, opts.timeout or Bridge.REQUEST_TIMEOUT, opts.isCancelled)
    if not frame then
      if e then err = e
      else
        err = CANCELLED
        LrTasks.startAsyncTask(function() Bridge.call('cancel', { job = id }) end, 'Pixel Detective: cancel')
      end
      break
    end
    local fe = asError(frame)
    if fe then err = fe break end
    if frame.type == 'part' then
      local b = frame.body
      if type(b.field) == 'string' and type(b.items) == 'table' then
        local list = parts[b.field] or {}
        for _, item in ipairs(b.items) do list[#list + 1] = item end
        parts[b.field] = list
        if opts.onPart then opts.onPart(tonumber(b.done) or #list, tonumber(b.total) or #list) end
      end
    else
      result, rtype = frame.body, frame.type
      break
    end
  end
  state.pending[id] = nil
  if not result then return nil, err end
  for field, list in pairs(parts) do
    for _, item in ipairs(type(result[field]) == 'table' and result[field] or {}) do list[#list + 1] = item end
    result[field] = list
  end
  return result, nil, rtype
end

-- A long job: <type>.accepted, progress frames (opts.onProgress(body)), then <type>.done. opts.isCancelled()
-- is polled; when it turns true a `cancel` request is sent once and the job's final frame is still awaited
-- (before the job is accepted — while its paths go up — the call just stops).
function Bridge.runJob(type_, body, opts)
  opts = opts or {}
  if not Bridge.isConnected() then return notConnected() end
  local err
  body, err = withUpload(body, opts)
  if not body then return nil, err end
  local id
  id, err = open(type_, body)
  if not id then return nil, err end
  local timeout = opts.timeout or Bridge.REQUEST_TIMEOUT
  local job, cancelSent
  local result
  while true do
    local frame, e = nextFrame(id, timeout, function()
      return job and not cancelSent and opts.isCancelled and opts.isCancelled()
    end)
    if frame then
      local fe = asError(frame)
      if fe then err = fe break end
      if frame.type == type_ .. '.accepted' then
        job = frame.body.job
        state.jobs[job] = id
        if opts.onAccepted then opts.onAccepted(frame.body) end
      elseif frame.type == 'progress' then
        if opts.onProgress then opts.onProgress(frame.body) end
      elseif frame.type == type_ .. '.done' then
        result = frame.body
        break
      end
    elseif e then
      err = e
      break
    else
      cancelSent = true
      LrTasks.startAsyncTask(function() Bridge.call('cancel', { job = job }) end, 'Pixel Detective: cancel')
    end
  end
  state.pending[id] = nil
  if job then state.jobs[job] = nil end
  return result, err
end

return Bridge
