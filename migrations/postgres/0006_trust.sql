-- Reports and deliveries a tenant can trust (issue 10).
--
-- 1. One source of truth for a tenant's time zone: the tenant's own. Where the runtime config's
--    copy drifted, the one changed last wins; then the copy goes.
UPDATE tenants t SET timezone = c.timezone
FROM tenant_runtime_configs c
WHERE c.tenant_id = t.id AND c.timezone <> t.timezone AND c.updated_at > t.updated_at;
ALTER TABLE tenant_runtime_configs DROP COLUMN timezone;

-- 2. Settings that did nothing (Radist's chat cap lives on the Radist integration: max_chats).
ALTER TABLE tenant_runtime_configs DROP COLUMN radist_fetch_limit;
--    Likewise caps in metadata (max_leads, max_pages, ...), which nothing read: metadata keeps
--    only the keys that do something (`prompt`).
UPDATE tenant_runtime_configs SET metadata = CASE
    WHEN jsonb_typeof(metadata -> 'prompt') = 'string' THEN jsonb_build_object('prompt', metadata -> 'prompt')
    ELSE '{}'::jsonb END;

-- 3. When the tenant's current schedule took effect: the scheduler never runs a window that was
--    due before it (no report posted at once for a window that closed before a change). Existing
--    schedules keep catching up as before.
ALTER TABLE tenant_runtime_configs ADD COLUMN schedule_from TIMESTAMPTZ NOT NULL DEFAULT 'epoch';

-- 4. Deliveries: `retrying` (a retryable failure, tried again later by a delivery job), attempts,
--    the next try and when retrying stops.
ALTER TABLE report_deliveries DROP CONSTRAINT report_deliveries_state_check;
ALTER TABLE report_deliveries ADD CONSTRAINT report_deliveries_state_check
    CHECK (state IN ('sending', 'sent', 'retrying', 'failed', 'unknown'));
ALTER TABLE report_deliveries
    ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 0),
    ADD COLUMN next_attempt_at TIMESTAMPTZ,
    ADD COLUMN give_up_at TIMESTAMPTZ;
CREATE INDEX report_deliveries_attention ON report_deliveries (state) WHERE state IN ('unknown', 'failed', 'retrying');

-- 5. The worker whose lease ran out when another took the job over (for the job's log).
ALTER TABLE job_runs ADD COLUMN taken_over_from TEXT;
