-- Real files, through the host (Python) so the test sees the same bytes.
local host = _SDK.host
local LrFileUtils = {}
function LrFileUtils.exists(path) return host.file_exists(path) end
function LrFileUtils.readFile(path) return host.read_file(path) end
function LrFileUtils.createAllDirectories(path) return host.make_dirs(path) end
function LrFileUtils.delete(path) return host.delete(path) end
-- Like Lightroom's, move refuses to replace an existing file.
function LrFileUtils.move(src, dst) return host.move(src, dst) end
return LrFileUtils
