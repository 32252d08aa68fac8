-- One logger for the plugin (Lightroom writes it to the plug-in's log file when enabled).
local LrLogger = import 'LrLogger'
local logger = LrLogger('PixelDetective')
logger:enable('logfile')
return logger
