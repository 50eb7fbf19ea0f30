-- Personal API tokens for scripts: the token is shown once; only its SHA-256 (hex) is stored.
CREATE TABLE api_tokens (
    id           BLOB    PRIMARY KEY NOT NULL,
    user_id      BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at   INTEGER,
    revoked_at   INTEGER,
    CONSTRAINT api_tokens_hash_unique UNIQUE (token_hash)
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at DESC, id DESC);

-- The summary numbers of a report, copied out of its metadata so that report lists read a
-- few small columns instead of whole reports.
ALTER TABLE reports ADD COLUMN summary TEXT;
UPDATE reports SET summary = json_extract(metadata, '$.summary') WHERE json_type(metadata, '$.summary') = 'object';
