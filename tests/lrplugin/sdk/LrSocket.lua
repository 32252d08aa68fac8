-- LrSocket.bind over real localhost TCP (the Python host owns the OS sockets). The host queues events and
-- the harness loop delivers them here, on the Lua side, one at a time: callbacks never run on another thread.
-- Like Lightroom: onConnecting(socket, port) when listening, onConnected(socket, port), onMessage(socket,
-- line) per newline-terminated line (without the newline), onClosed(socket), onError(socket, 'timeout') when
-- nobody connected in time (call socket:reconnect() to listen again). send(msg) writes msg as given.
local host = _SDK.host
local LrSocket = {}
local sockets = {}

local Socket = {}
Socket.__index = Socket

function Socket:send(msg)
  if self.mode ~= 'send' then error('send() on a receive socket', 2) end
  return host.sock_send(self.id, msg)
end
function Socket:close() host.sock_close(self.id) end
function Socket:reconnect() host.sock_reconnect(self.id) end

function LrSocket.bind(params)
  assert(params.mode == 'send' or params.mode == 'receive', "mode must be 'send' or 'receive'")
  assert(params.functionContext, 'LrSocket.bind needs a functionContext')
  local id = host.sock_bind(params.mode, params.port or 0, params.timeout or 10)
  local sock = setmetatable({ id = id, mode = params.mode, params = params }, Socket)
  sockets[id] = sock
  -- The socket lives as long as its function context.
  params.functionContext:addCleanupHandler(function() host.sock_close(id) end)
  return sock
end

-- Called by the harness loop.
function LrSocket._deliver(id, event, arg)
  local sock = sockets[id]
  if not sock then return end
  local cb = sock.params[event]
  if cb then cb(sock, arg) end
end

return LrSocket
