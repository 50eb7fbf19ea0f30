-- The durable job engine: one delivery record per report (so a re-run never sends a report
-- twice), the Telegram update offset per tenant (so updates are consumed once), and an index
-- for finding running jobs whose lease ran out.

CREATE TABLE report_deliveries (
    report_id   BLOB    PRIMARY KEY NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    job_id      BLOB    REFERENCES job_runs (id) ON DELETE SET NULL,
    channel     TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('sending', 'sent', 'failed', 'unknown')),
    messages    INTEGER NOT NULL DEFAULT 0 CHECK (messages >= 0),
    error       TEXT,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX report_deliveries_job ON report_deliveries (job_id);

CREATE TABLE telegram_offsets (
    tenant_id   BLOB    PRIMARY KEY NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    next_offset INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE INDEX job_runs_lease_expiry ON job_runs (lease_expires_at) WHERE status = 'running';
