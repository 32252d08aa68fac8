-- Declarations only: Lightroom reads this table; the code lives in the files it names.
return {
  LrSdkVersion = 13.0,
  LrSdkMinimumVersion = 6.0,
  LrToolkitIdentifier = 'com.pixeldetective.lightroom',
  LrPluginName = 'Pixel Detective',
  LrPluginInfoUrl = 'https://github.com/pixel-detective/pixel-detective',
  VERSION = { major = 0, minor = 1, revision = 0, build = 0 },

  LrInitPlugin = 'Init.lua',
  LrShutdownPlugin = 'Shutdown.lua',
  LrForceInitPlugin = true, -- start the bridge when Lightroom starts, not on first menu use
  LrPluginInfoProvider = 'PluginInfoProvider.lua',
  LrMetadataProvider = 'MetadataProvider.lua',

  LrLibraryMenuItems = {
    { title = 'Search photos…', file = 'SearchDialog.lua' },
    { title = 'Find similar photos', file = 'FindSimilar.lua', enabledWhen = 'photosSelected' },
    { title = 'Analyze selected', file = 'AnalyzeSelected.lua', enabledWhen = 'photosSelected' },
    { title = 'Apply AI metadata to selected', file = 'ApplyMetadata.lua', enabledWhen = 'photosSelected' },
    { title = 'Find duplicates', file = 'FindDuplicates.lua' },
    { title = 'Service status', file = 'ServiceStatus.lua' },
  },
  LrExportMenuItems = {
    { title = 'Pixel Detective: Search photos…', file = 'SearchDialog.lua' },
    { title = 'Pixel Detective: Service status', file = 'ServiceStatus.lua' },
  },
}
