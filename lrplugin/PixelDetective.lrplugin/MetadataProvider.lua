-- Per-photo fields Pixel Detective fills (Library Filter and Metadata panel: searchable and browsable).
-- Bump schemaVersion whenever a field changes.
return {
  schemaVersion = 1,
  metadataFieldsForPhotos = {
    { id = 'pd_quality', title = 'PD quality', dataType = 'string', searchable = true, browsable = true, readOnly = true },
    { id = 'pd_sharpness', title = 'PD sharpness', dataType = 'string', searchable = true, browsable = true, readOnly = true },
    { id = 'pd_exposure', title = 'PD exposure', dataType = 'string', searchable = true, browsable = true, readOnly = true },
    { id = 'pd_noise', title = 'PD noise', dataType = 'string', searchable = true, browsable = true, readOnly = true },
    { id = 'pd_duplicateGroup', title = 'PD duplicate group', dataType = 'string', searchable = true, browsable = true, readOnly = true },
    { id = 'pd_analyzedAt', title = 'PD analyzed', dataType = 'string', searchable = true, browsable = true, readOnly = true },
  },
}
