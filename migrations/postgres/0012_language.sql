-- A tenant's language, its own AI instructions and its working hours are typed settings
-- (issue 13). The prompt leaves `metadata`, whose only key it was, and `metadata` goes.
ALTER TABLE tenant_runtime_configs ADD COLUMN language TEXT NOT NULL DEFAULT 'ru' CHECK (language IN ('ru', 'en'));
ALTER TABLE tenant_runtime_configs ADD COLUMN prompt TEXT;
ALTER TABLE tenant_runtime_configs ADD COLUMN working_hours JSONB;
UPDATE tenant_runtime_configs SET prompt = metadata->>'prompt'
WHERE jsonb_typeof(metadata->'prompt') = 'string' AND btrim(metadata->>'prompt', E' \t\n\r\f\v') <> '';
ALTER TABLE tenant_runtime_configs DROP COLUMN metadata;
