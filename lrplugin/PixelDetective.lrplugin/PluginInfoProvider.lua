-- Plug-in Manager section: connection state, ports, token status and a Reconnect button.
local LrView = import 'LrView'
local Bridge = require 'Bridge'

local function describe()
  local info = Bridge.info()
  local state = info.connected and ('connected to ' .. tostring(info.peer and info.peer.service or 'service')
    .. ' ' .. tostring(info.peer and info.peer.version or '')) or (info.running and 'waiting for the service' or 'stopped')
  return state, string.format('receive %s, send %s', tostring(info.receivePort), tostring(info.sendPort)),
    info.tokenPresent and 'token file present' or 'no token file (is the service running?)'
end

return {
  sectionsForTopOfDialog = function(f, _)
    local state, ports, token = describe()
    return {
      {
        title = 'Pixel Detective bridge',
        f:row { f:static_text { title = 'Connection:' }, f:static_text { title = state, fill_horizontal = 1 } },
        f:row { f:static_text { title = 'Ports:' }, f:static_text { title = ports } },
        f:row { f:static_text { title = 'Token:' }, f:static_text { title = token } },
        f:row { f:push_button { title = 'Reconnect', action = function() Bridge.reconnect() end } },
      },
    }
  end,
}
