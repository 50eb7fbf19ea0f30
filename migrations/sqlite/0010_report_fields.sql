-- A report's numbers and how its text was written are typed fields of their own (issue 12):
-- `summary` (since 0005 a copy) and `ai` leave the metadata, which keeps the rest.
ALTER TABLE reports ADD COLUMN ai TEXT;
UPDATE reports SET ai = json_extract(metadata, '$.ai') WHERE json_type(metadata, '$.ai') = 'object';
UPDATE reports SET summary = json_extract(metadata, '$.summary')
WHERE summary IS NULL AND json_type(metadata, '$.summary') = 'object';
UPDATE reports SET metadata = json_remove(metadata, '$.summary', '$.ai');
