-- Plug-in Manager sections: the bridge (connection state, ports, token status, a Reconnect button) and the
-- engine the service is set to use (EngineSection.lua: find engines on the network, use one with its API key).
local Bridge = require 'Bridge'
local EngineSection = require 'EngineSection'

local function describe()
  local info = Bridge.info()
  local state = info.connected and ('connected to ' .. tostring(info.peer and info.peer.service or 'service')
    .. ' ' .. tostring(info.peer and info.peer.version or '')) or (info.running and 'waiting for the service' or 'stopped')
  return state, string.format('receive %s, send %s', tostring(info.receivePort), tostring(info.sendPort)),
    info.tokenPresent and 'token file present' or 'no token file (is the service running?)'
end

return {
  sectionsForTopOfDialog = function(f, propertyTable)
    local state, ports, token = describe()
    return {
      {
        title = 'Pixel Detective bridge',
        f:row { f:static_text { title = 'Connection:' }, f:static_text { title = state, fill_horizontal = 1 } },
        f:row { f:static_text { title = 'Ports:' }, f:static_text { title = ports } },
        f:row { f:static_text { title = 'Token:' }, f:static_text { title = token } },
        f:row { f:push_button { title = 'Reconnect', action = function() Bridge.reconnect() end } },
      },
      EngineSection.view(f, propertyTable),
    }
  end,
}
