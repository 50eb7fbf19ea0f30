-- A report's numbers and how its text was written are typed fields of their own (issue 12):
-- `summary` (since 0005 a copy) and `ai` leave the metadata, which keeps the rest.
ALTER TABLE reports ADD COLUMN ai JSONB;
UPDATE reports SET ai = metadata->'ai' WHERE jsonb_typeof(metadata->'ai') = 'object';
UPDATE reports SET summary = metadata->'summary'
WHERE summary IS NULL AND jsonb_typeof(metadata->'summary') = 'object';
UPDATE reports SET metadata = metadata - 'summary' - 'ai';
