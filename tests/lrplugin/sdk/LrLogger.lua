-- Loggers keep their lines in memory; tests can read them through _SDK.logs.
_SDK.logs = _SDK.logs or {}
return function(name)
  local logger = { name = name }
  local function put(level) return function(self, ...)
    local parts = {}
    for i = 1, select('#', ...) do parts[#parts + 1] = tostring((select(i, ...))) end
    _SDK.logs[#_SDK.logs + 1] = level .. ' ' .. name .. ': ' .. table.concat(parts, ' ')
  end end
  logger.trace, logger.debug, logger.info, logger.warn, logger.error = put('trace'), put('debug'), put('info'), put('warn'), put('error')
  logger.tracef = function(self, fmt, ...) logger.trace(self, string.format(fmt, ...)) end
  logger.infof = function(self, fmt, ...) logger.info(self, string.format(fmt, ...)) end
  logger.warnf = function(self, fmt, ...) logger.warn(self, string.format(fmt, ...)) end
  logger.errorf = function(self, fmt, ...) logger.error(self, string.format(fmt, ...)) end
  function logger:enable() end
  return logger
end
