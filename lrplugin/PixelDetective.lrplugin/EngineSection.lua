--[[ The Plug-in Manager's "Engine" part: which engine the Pixel Detective service is set to use (this
computer, or a remote one such as a GPU box on the local network), finding the engines advertised on the
network (`engines`), and choosing one with its API key or going back to this computer (`engine.use`).
The service checks the key against the engine before it stores anything, and never sends the key back.
The choice is for the tray app (or "pixel-detective serve") on this computer, from its next start. The plug-in keeps
talking to that service on this computer, which then answers from the remote engine: search, similar (the
selected photos are uploaded), analyze (the engine reads the photos under the same path: a shared NAS) and status;
Apply AI metadata and Find duplicates need the engine on this computer and say so.
Every button runs in its own task (a Plug-in Manager action is not one; Bridge.call waits in a task).
]]
local LrBinding = import 'LrBinding'
local LrDialogs = import 'LrDialogs'
local LrFunctionContext = import 'LrFunctionContext'
local LrTasks = import 'LrTasks'
local LrView = import 'LrView'
local Bridge = require 'Bridge'

local EngineSection = {}

EngineSection.TITLE = 'Pixel Detective: Engine'
EngineSection.BROWSE_SECONDS = 3

local function problem(message)
  LrDialogs.message(EngineSection.TITLE, message, 'warning')
end

local function failed(err)
  problem((err and err.message) or 'Pixel Detective did not answer.')
end

-- How an engine from `engines.result` is shown in the list and the section.
function EngineSection.label(e)
  local where = tostring(e.url or '')
  local name = tostring(e.display_name or e.name or '?')
  local version = (type(e.version) == 'string' and e.version ~= '') and (', version ' .. e.version) or ''
  local tls = (type(e.tls_fingerprint) == 'string' and e.tls_fingerprint ~= '') and '' or ' (no TLS: cannot be used)'
  return name .. ' at ' .. where .. version .. tls
end

local function task(name, fn)
  LrTasks.startAsyncTask(function()
    local ok, err = LrTasks.pcall(fn)
    if not ok then problem('Something went wrong: ' .. tostring(err)) end
  end, 'Pixel Detective: ' .. name)
end

-- Fills props.engine with what the service is set to use (when it is connected).
function EngineSection.refresh(props)
  if not Bridge.isConnected() then
    props.engine = 'unknown (the Pixel Detective service is not connected)'
    return
  end
  task('engine status', function()
    local s = Bridge.call('status', {})
    if s and type(s.engine) == 'string' then props.engine = s.engine end
  end)
end

-- Shows the found engines in a list to pick one; returns the picked engine or nil.
local function pick(engines)
  local picked
  LrFunctionContext.callWithContext('Pixel Detective: pick an engine', function(context)
    local f = LrView.osFactory()
    local choice = LrBinding.makePropertyTable(context)
    local items = {}
    for _, e in ipairs(engines) do items[#items + 1] = { title = EngineSection.label(e), value = e.name } end
    choice.name = engines[1].name
    local contents = f:column {
      bind_to_object = choice,
      spacing = f:control_spacing(),
      f:static_text { title = 'Engines that answered on the local network:' },
      f:popup_menu { items = items, value = LrView.bind('name'), width_in_chars = 50 },
    }
    local answer = LrDialogs.presentModalDialog { title = EngineSection.TITLE, contents = contents, actionVerb = 'Choose' }
    if answer ~= 'ok' then return end
    for _, e in ipairs(engines) do
      if e.name == choice.name then picked = e end
    end
  end)
  return picked
end

-- "Find engines…": `engines`, then a list to pick from; the pick goes to props.chosen / props.chosenLabel.
function EngineSection.find(props)
  task('find engines', function()
    local reply, err = Bridge.call('engines', { seconds = EngineSection.BROWSE_SECONDS })
    if not reply then return failed(err) end
    if type(reply.using) == 'string' then props.engine = reply.using end
    local engines = type(reply.engines) == 'table' and reply.engines or {}
    if #engines == 0 then
      return LrDialogs.message(EngineSection.TITLE, string.format('No engine answered on the local network within %d seconds. '
        .. 'On the other computer, Pixel Detective must serve its API on the network (for example '
        .. '"pixel-detective serve --http 0.0.0.0:8765"), and both computers must be on the same network.',
        EngineSection.BROWSE_SECONDS), 'info')
    end
    local e = pick(engines)
    if e then
      props.chosen = e.name
      props.chosenLabel = EngineSection.label(e)
    end
  end)
end

-- "Use this engine": the chosen engine with the key typed in props.apiKey.
function EngineSection.useChosen(props)
  local name = props.chosen
  local key = tostring(props.apiKey or ''):gsub('^%s+', ''):gsub('%s+$', '')
  if type(name) ~= 'string' or name == '' then
    return problem('First click "Find engines…" and choose an engine.')
  end
  if key == '' then
    return problem('Paste the API key that engine gave you (on that computer: "pixel-detective keys create").')
  end
  task('use engine', function()
    local reply, err = Bridge.call('engine.use', { name = name, api_key = key })
    if not reply then return failed(err) end
    props.apiKey = ''
    props.engine = tostring(reply.using)
    LrDialogs.message(EngineSection.TITLE, 'The tray app will use ' .. tostring(reply.using)
      .. '; restart it if it is running. Once restarted it serves Lightroom from that engine (so does '
      .. '"pixel-detective serve"): Search, Find similar (the selected photos are uploaded to it), Analyze (it '
      .. 'reads the photos under the same path, such as a shared NAS) and Service status. Apply AI metadata and '
      .. 'Find duplicates need Pixel Detective on this computer.', 'info')
  end)
end

-- "Use this computer": forget the remote engine (its URL, key and fingerprint).
function EngineSection.useLocal(props)
  task('use this computer', function()
    local reply, err = Bridge.call('engine.use', { ['local'] = true })
    if not reply then return failed(err) end
    props.engine = tostring(reply.using)
    LrDialogs.message(EngineSection.TITLE,
      'The tray app will use this computer; restart it if it is running.', 'info')
  end)
end

-- The section's rows, bound to `props` (the Plug-in Manager's property table).
function EngineSection.view(f, props)
  props.engine = props.engine or '…'
  props.chosenLabel = props.chosenLabel or 'none yet: click "Find engines…"'
  props.apiKey = props.apiKey or ''
  EngineSection.refresh(props)
  return {
    title = 'Pixel Detective engine',
    bind_to_object = props,
    f:row { f:static_text { title = 'In use:' }, f:static_text { title = LrView.bind('engine'), fill_horizontal = 1 } },
    f:row {
      f:push_button { title = 'Find engines…', action = function() EngineSection.find(props) end },
      f:static_text { title = LrView.bind('chosenLabel'), fill_horizontal = 1 },
    },
    f:row { f:static_text { title = 'API key:' }, f:password_field { value = LrView.bind('apiKey'), width_in_chars = 40 } },
    f:row {
      f:push_button { title = 'Use this engine', action = function() EngineSection.useChosen(props) end },
      f:push_button { title = 'Use this computer', action = function() EngineSection.useLocal(props) end },
    },
    f:static_text { title = 'The choice is for the tray app (or "pixel-detective serve") on this computer, from its next '
      .. 'start: it then serves this plug-in from that engine (Apply AI metadata and Find duplicates need this computer\'s).' },
  }
end

return EngineSection
