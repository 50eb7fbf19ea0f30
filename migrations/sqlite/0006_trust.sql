-- Reports and deliveries a tenant can trust (issue 10).
--
-- 1. One source of truth for a tenant's time zone: the tenant's own. Where the runtime config's
--    copy drifted, the one changed last wins; then the copy goes.
UPDATE tenants SET timezone = (SELECT c.timezone FROM tenant_runtime_configs c WHERE c.tenant_id = tenants.id)
WHERE EXISTS (
    SELECT 1 FROM tenant_runtime_configs c
    WHERE c.tenant_id = tenants.id AND c.timezone <> tenants.timezone AND c.updated_at > tenants.updated_at
);
ALTER TABLE tenant_runtime_configs DROP COLUMN timezone;

-- 2. Settings that did nothing (Radist's chat cap lives on the Radist integration: max_chats).
ALTER TABLE tenant_runtime_configs DROP COLUMN radist_fetch_limit;
--    Likewise caps in metadata (max_leads, max_pages, ...), which nothing read: metadata keeps
--    only the keys that do something (`prompt`).
UPDATE tenant_runtime_configs SET metadata = CASE
    WHEN json_type(metadata, '$.prompt') = 'text' THEN json_object('prompt', json_extract(metadata, '$.prompt'))
    ELSE '{}' END;

-- 3. When the tenant's current schedule took effect: the scheduler never runs a window that was
--    due before it (no report posted at once for a window that closed before a change). Existing
--    schedules keep catching up as before.
ALTER TABLE tenant_runtime_configs ADD COLUMN schedule_from INTEGER NOT NULL DEFAULT 0;

-- 4. Deliveries: `retrying` (a retryable failure, tried again later by a delivery job), attempts,
--    the next try and when retrying stops. SQLite cannot change a CHECK, so the table is rebuilt.
CREATE TABLE report_deliveries_new (
    report_id       BLOB    PRIMARY KEY NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    job_id          BLOB    REFERENCES job_runs (id) ON DELETE SET NULL,
    channel         TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('sending', 'sent', 'retrying', 'failed', 'unknown')),
    messages        INTEGER NOT NULL DEFAULT 0 CHECK (messages >= 0),
    error           TEXT,
    started_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 0),
    next_attempt_at INTEGER,
    give_up_at      INTEGER
);
INSERT INTO report_deliveries_new (report_id, job_id, channel, state, messages, error, started_at, finished_at)
SELECT report_id, job_id, channel, state, messages, error, started_at, finished_at FROM report_deliveries;
DROP TABLE report_deliveries;
ALTER TABLE report_deliveries_new RENAME TO report_deliveries;
CREATE INDEX report_deliveries_job ON report_deliveries (job_id);
CREATE INDEX report_deliveries_attention ON report_deliveries (state) WHERE state IN ('unknown', 'failed', 'retrying');

-- 5. The worker whose lease ran out when another took the job over (for the job's log).
ALTER TABLE job_runs ADD COLUMN taken_over_from TEXT;
