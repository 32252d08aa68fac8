-- Per-photo fields Pixel Detective fills (Library Filter and Metadata panel: searchable and browsable).
-- Bump schemaVersion whenever a field changes.
return {
  schemaVersion = 2,
  metadataFieldsForPhotos = {
    { id = 'pd_quality', title = 'PD quality', dataType = 'string', searchable = true, browsable = true, readOnly = true },
    { id = 'pd_sharpness', title = 'PD sharpness', dataType = 'string', searchable = true, browsable = true, readOnly = true },
    { id = 'pd_exposure', title = 'PD exposure', dataType = 'string', searchable = true, browsable = true, readOnly = true },
    { id = 'pd_noise', title = 'PD noise', dataType = 'string', searchable = true, browsable = true, readOnly = true },
    { id = 'pd_duplicateGroup', title = 'PD duplicate group', dataType = 'string', searchable = true, browsable = true, readOnly = true },
    { id = 'pd_analyzedAt', title = 'PD analyzed', dataType = 'string', searchable = true, browsable = true, readOnly = true },
    -- Faces and culling (`pixel-detective cull`): for smart collections such as "PD eyes open < 0.35".
    { id = 'pd_eyesOpen', title = 'PD eyes open', dataType = 'string', searchable = true, browsable = true, readOnly = true },
    { id = 'pd_faceCount', title = 'PD face count', dataType = 'string', searchable = true, browsable = true, readOnly = true },
    { id = 'pd_cullRank', title = 'PD cull rank', dataType = 'string', searchable = true, browsable = true, readOnly = true },
    { id = 'pd_cullReason', title = 'PD cull reason', dataType = 'string', searchable = true, browsable = true, readOnly = true },
  },
}
