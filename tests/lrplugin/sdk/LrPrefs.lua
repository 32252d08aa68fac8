-- Plugin preferences: one plain table per plugin.
local store = {}
return { prefsForPlugin = function(plugin) store[plugin or 'default'] = store[plugin or 'default'] or {}; return store[plugin or 'default'] end }
