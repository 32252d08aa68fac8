-- Closes both sockets and removes the port file, so the service stops trying to connect.
local Bridge = require 'Bridge'
Bridge.stop()
