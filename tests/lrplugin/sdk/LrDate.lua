-- Lightroom's clock counts seconds since 2001-01-01 UTC. The stand-in's follows the harness clock, so
-- tests can move time forward without waiting.
local host = _SDK.host
local LrDate = {}
local EPOCH_2001 = 978307200
function LrDate.currentTime() return host.now() - EPOCH_2001 end
function LrDate.timeToW3CDate(t) return os.date('!%Y-%m-%dT%H:%M:%S', math.floor(t + EPOCH_2001)) .. 'Z' end
function LrDate.timeToUserFormat(t, fmt) return os.date('!' .. (fmt or '%Y-%m-%d %H:%M:%S'), math.floor(t + EPOCH_2001)) end
function LrDate.timeFromPosixDate(t) return t - EPOCH_2001 end
return LrDate
