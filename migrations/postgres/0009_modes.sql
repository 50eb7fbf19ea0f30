-- Report modes named by capability, not vendor (issue 12): amocrm_radist → crm_chats,
-- radist_only → chats_only, amocrm_only → crm_only. The old names stay accepted as input.
ALTER TABLE tenant_runtime_configs DROP CONSTRAINT IF EXISTS tenant_runtime_configs_mode_check;
UPDATE tenant_runtime_configs SET mode = CASE mode
    WHEN 'amocrm_radist' THEN 'crm_chats'
    WHEN 'radist_only' THEN 'chats_only'
    WHEN 'amocrm_only' THEN 'crm_only'
    ELSE mode END;
ALTER TABLE tenant_runtime_configs ADD CONSTRAINT tenant_runtime_configs_mode_check
    CHECK (mode IN ('crm_chats', 'chats_only', 'crm_only'));

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
