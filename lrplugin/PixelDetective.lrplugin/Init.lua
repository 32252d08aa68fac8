-- Starts the bridge. postAsyncTaskWithContext (not a bare startAsyncTask, which Lightroom cancels at init);
-- the context owns the sockets, so Bridge.run keeps the task alive until shutdown.
local LrFunctionContext = import 'LrFunctionContext'
local Bridge = require 'Bridge'

LrFunctionContext.postAsyncTaskWithContext('Pixel Detective bridge', function(context)
  Bridge.run(context)
end)
