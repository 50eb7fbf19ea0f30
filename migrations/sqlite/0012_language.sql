-- A tenant's language, its own AI instructions and its working hours are typed settings
-- (issue 13). The prompt leaves `metadata`, whose only key it was, and `metadata` goes.
ALTER TABLE tenant_runtime_configs ADD COLUMN language TEXT NOT NULL DEFAULT 'ru' CHECK (language IN ('ru', 'en'));
ALTER TABLE tenant_runtime_configs ADD COLUMN prompt TEXT;
ALTER TABLE tenant_runtime_configs ADD COLUMN working_hours TEXT;
UPDATE tenant_runtime_configs SET prompt = json_extract(metadata, '$.prompt')
WHERE json_valid(metadata) AND json_type(metadata, '$.prompt') = 'text'
    AND trim(json_extract(metadata, '$.prompt'), ' ' || char(9, 10, 11, 12, 13)) <> '';
ALTER TABLE tenant_runtime_configs DROP COLUMN metadata;
