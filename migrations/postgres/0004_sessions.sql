-- Server-side login sessions. The cookie holds a random token; only its SHA-256 (hex) is
-- stored, so a leaked database does not hand out live sessions.
CREATE TABLE sessions (
    id         TEXT        PRIMARY KEY NOT NULL,
    user_id    UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    ip         TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
