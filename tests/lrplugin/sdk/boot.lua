-- Boots the Lightroom SDK stand-in inside a plain Lua 5.1 state.
-- Called by harness.py as boot(sdk_dir, plugin_dir, host); `host` is the Python side (clock, sockets).
-- It installs what Lightroom gives every plugin: the global `import` (SDK modules), a `require` that loads
-- plugin files from the plugin folder once, and `_PLUGIN`.
return function(sdkDir, pluginDir, host)
  local loaded = {}
  local sdk = {}

  -- Every stand-in module sees the host and the other modules through `_SDK`.
  _SDK = { host = host, dir = sdkDir, pluginDir = pluginDir, modules = sdk, errors = {} }

  function import(name)
    if sdk[name] == nil then
      local chunk, err = loadfile(sdkDir .. '/' .. name .. '.lua')
      if not chunk then error('stand-in SDK has no module ' .. tostring(name) .. ': ' .. tostring(err), 2) end
      sdk[name] = chunk()
    end
    return sdk[name]
  end

  -- Lightroom's `require` looks in the plugin folder and runs each file once.
  function require(name)
    if loaded[name] == nil then
      local file = name:gsub('%.lua$', '')
      local chunk, err = loadfile(pluginDir .. '/' .. file .. '.lua')
      if not chunk then error(err, 2) end
      local value = chunk()
      loaded[name] = value == nil and true or value
    end
    return loaded[name]
  end

  _PLUGIN = { id = 'com.pixeldetective.lightroom', path = pluginDir, enabled = true }

  -- Lightroom does not give plugins os.execute.
  os.execute = nil
  return true
end
