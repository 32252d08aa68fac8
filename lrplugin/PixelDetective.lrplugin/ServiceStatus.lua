-- Service status: what the service reports (`status`), or why we are not connected.
local LrDialogs = import 'LrDialogs'
local Action = require 'Action'
local Bridge = require 'Bridge'

Action.run('Service status', function()
  local info = Bridge.info()
  if not info.connected then
    return LrDialogs.message('Pixel Detective', string.format(
      'Not connected. Listening on ports %s/%s; token file %s.%s',
      tostring(info.receivePort), tostring(info.sendPort), info.tokenPresent and 'found' or 'missing',
      info.lastError and ('\nLast problem: ' .. info.lastError) or ''), 'info')
  end
  local s, err = Bridge.call('status', {})
  if not s then return Action.fail('Service status', err) end
  local running = type(s.running) == 'table' and (tostring(s.running.kind or s.running.job or 'a job')) or 'nothing'
  LrDialogs.message('Pixel Detective', string.format(
    'Service %s, model %s\nIndexed: %s photos (%s vectors, %s failed)\nRunning: %s\nWeights ok: %s, captions: %s',
    tostring(s.service_version), tostring(s.model), tostring(s.indexed), tostring(s.vectors), tostring(s.failed),
    running, tostring(s.weights_ok), tostring(s.captions)), 'info')
end)
