-- Telegram follow-ups read each bot's updates once for the whole deployment: getUpdates' offset
-- confirms updates for the whole bot (every chat, every tenant using it), and Telegram answers a
-- second poller with 409. So the offset is kept per bot (`bot` is `telegram:{bot id}`, never the
-- token), and a lease says which node polls it; any number of nodes may run follow-ups.
CREATE TABLE telegram_pollers (
    bot              TEXT        PRIMARY KEY NOT NULL,
    lease_owner      TEXT,
    lease_expires_at TIMESTAMPTZ,
    next_offset      BIGINT,
    updated_at       TIMESTAMPTZ NOT NULL
);

-- The per-tenant offsets it replaces cannot be assigned to bots here (tokens are encrypted). A
-- bot's first poll starts without an offset, so Telegram returns the updates it has not had
-- confirmed: at most the last batch a tenant read before the upgrade.
DROP TABLE telegram_offsets;
