-- Personal API tokens for scripts: the token is shown once; only its SHA-256 (hex) is stored.
CREATE TABLE api_tokens (
    id           UUID        PRIMARY KEY NOT NULL,
    user_id      UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT        NOT NULL,
    token_hash   TEXT        NOT NULL,
    prefix       TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    expires_at   TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    CONSTRAINT api_tokens_hash_unique UNIQUE (token_hash)
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at DESC, id DESC);

-- The summary numbers of a report, copied out of its metadata so that report lists read a
-- few small columns instead of whole reports.
ALTER TABLE reports ADD COLUMN summary JSONB;
UPDATE reports SET summary = metadata->'summary' WHERE jsonb_typeof(metadata->'summary') = 'object';
