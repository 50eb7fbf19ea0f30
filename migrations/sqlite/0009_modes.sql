-- Report modes named by capability, not vendor (issue 12): amocrm_radist → crm_chats,
-- radist_only → chats_only, amocrm_only → crm_only. The old names stay accepted as input.
-- SQLite cannot change a CHECK, so the runtime configs are rebuilt.
CREATE TABLE tenant_runtime_configs_new (
    tenant_id                 BLOB    PRIMARY KEY NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    mode                      TEXT    NOT NULL CHECK (mode IN ('crm_chats', 'chats_only', 'crm_only')),
    business_day_start        TEXT    NOT NULL,
    scheduled_run_time        TEXT    NOT NULL,
    is_schedule_enabled       BOOLEAN NOT NULL,
    min_dialogs_for_report    INTEGER NOT NULL,
    max_force_lookback_days   INTEGER NOT NULL,
    max_force_window_hours    INTEGER NOT NULL,
    telegram_followup_minutes INTEGER NOT NULL,
    metadata                  TEXT    NOT NULL DEFAULT '{}',
    updated_at                INTEGER NOT NULL,
    schedule_from             INTEGER NOT NULL DEFAULT 0
);
INSERT INTO tenant_runtime_configs_new (tenant_id, mode, business_day_start, scheduled_run_time, is_schedule_enabled,
    min_dialogs_for_report, max_force_lookback_days, max_force_window_hours, telegram_followup_minutes, metadata,
    updated_at, schedule_from)
SELECT tenant_id,
    CASE mode WHEN 'amocrm_radist' THEN 'crm_chats' WHEN 'radist_only' THEN 'chats_only' ELSE 'crm_only' END,
    business_day_start, scheduled_run_time, is_schedule_enabled, min_dialogs_for_report, max_force_lookback_days,
    max_force_window_hours, telegram_followup_minutes, metadata, updated_at, schedule_from
FROM tenant_runtime_configs;
DROP TABLE tenant_runtime_configs;
ALTER TABLE tenant_runtime_configs_new RENAME TO tenant_runtime_configs;

-- Jobs keep their mode under the new name, and their idempotency keys
-- (`scheduled:tenant:mode:start:end`) too, so the scheduler still finds the job it made for a
-- window before the upgrade instead of making a second one.
UPDATE job_runs SET mode = CASE mode
    WHEN 'amocrm_radist' THEN 'crm_chats'
    WHEN 'radist_only' THEN 'chats_only'
    WHEN 'amocrm_only' THEN 'crm_only'
    ELSE mode END
WHERE mode IS NOT NULL;
UPDATE job_runs SET idempotency_key =
    replace(replace(replace(idempotency_key, ':amocrm_radist:', ':crm_chats:'), ':radist_only:', ':chats_only:'),
            ':amocrm_only:', ':crm_only:')
WHERE idempotency_key IS NOT NULL;
