-- The built-in warehouse: deal rows and archived reports for tenants without a Supabase of
-- their own. Keyed like the Supabase tables, by the tenant's slug.

CREATE TABLE warehouse_deals (
    tenant_id          TEXT    NOT NULL REFERENCES tenants (slug) ON DELETE CASCADE ON UPDATE CASCADE,
    deal_id            INTEGER NOT NULL,
    deal_name          TEXT,
    status_id          INTEGER,
    status             TEXT,
    responsible        TEXT,
    phone              TEXT,
    chat_id            TEXT,
    first_message_at   INTEGER,
    last_message_at    INTEGER,
    messages_count     INTEGER NOT NULL DEFAULT 0,
    deal_attrs_json    TEXT    NOT NULL DEFAULT '{}',
    contact_attrs_json TEXT    NOT NULL DEFAULT '{}',
    dialog_raw         TEXT    NOT NULL DEFAULT '[]',
    dialog_norm        TEXT    NOT NULL DEFAULT '',
    updated_at         INTEGER,
    stored_at          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, deal_id)
);
CREATE INDEX warehouse_deals_last_message ON warehouse_deals (tenant_id, last_message_at, deal_id);
CREATE INDEX warehouse_deals_updated ON warehouse_deals (tenant_id, updated_at, deal_id);

CREATE TABLE warehouse_reports (
    tenant_id        TEXT    NOT NULL REFERENCES tenants (slug) ON DELETE CASCADE ON UPDATE CASCADE,
    source_report_id TEXT    NOT NULL,
    period_start     TEXT    NOT NULL,
    period_end       TEXT    NOT NULL,
    summary_text     TEXT    NOT NULL,
    metadata         TEXT    NOT NULL DEFAULT '{}',
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, source_report_id)
);
