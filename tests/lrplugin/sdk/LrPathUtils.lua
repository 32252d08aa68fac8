-- Paths with '/' separators; 'home' (and the other standard folders) map to the test's temp folder.
local host = _SDK.host
local LrPathUtils = {}
function LrPathUtils.getStandardFilePath(which) return host.standard_path(which) end
function LrPathUtils.child(parent, child)
  if parent:sub(-1) == '/' then return parent .. child end
  return parent .. '/' .. child
end
function LrPathUtils.parent(path) return (path:match('^(.*)/[^/]*$')) end
function LrPathUtils.leafName(path) return (path:match('([^/]*)$')) end
function LrPathUtils.extension(path) return (path:match('%.([^./]*)$')) or '' end
function LrPathUtils.removeExtension(path) return (path:gsub('%.[^./]*$', '')) end
function LrPathUtils.standardizePath(path) return path end
return LrPathUtils
