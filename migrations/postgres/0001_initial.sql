-- Synkro schema, PostgreSQL flavour. Ids are UUIDs; timestamps are timestamptz;
-- JSON is jsonb. Append-only: never edit a
-- migration that has shipped, add a new one.

CREATE TABLE tenants (
    id          UUID    PRIMARY KEY NOT NULL,
    name        TEXT    NOT NULL,
    slug        TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('active', 'paused', 'disabled')),
    timezone    TEXT    NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT tenants_slug_unique UNIQUE (slug)
);
CREATE INDEX tenants_created ON tenants (created_at DESC, id DESC);

CREATE TABLE users (
    id            UUID    PRIMARY KEY NOT NULL,
    username      TEXT    NOT NULL,
    password_hash TEXT,
    email         TEXT,
    is_superuser  BOOLEAN NOT NULL DEFAULT FALSE,
    is_active     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT users_username_unique UNIQUE (username)
);
CREATE INDEX users_created ON users (created_at DESC, id DESC);

CREATE TABLE user_roles (
    id         UUID    PRIMARY KEY NOT NULL,
    user_id    UUID    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id  UUID    REFERENCES tenants (id) ON DELETE CASCADE,
    role       TEXT    NOT NULL CHECK (role IN ('super_admin', 'admin_lite', 'user')),
    is_active  BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT user_roles_user_tenant_unique UNIQUE (user_id, tenant_id)
);
-- NULLs never collide in a unique constraint, so a second global role needs its own index.
CREATE UNIQUE INDEX user_roles_one_global ON user_roles (user_id) WHERE tenant_id IS NULL;
CREATE INDEX user_roles_tenant ON user_roles (tenant_id);

CREATE TABLE user_profiles (
    user_id    UUID    PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    phone      TEXT,
    timezone   TEXT,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE integration_configs (
    id                    UUID    PRIMARY KEY NOT NULL,
    tenant_id             UUID    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind                  TEXT    NOT NULL,
    status                TEXT    NOT NULL CHECK (status IN ('unknown', 'ok', 'error', 'pending')),
    public_config         JSONB    NOT NULL DEFAULT '{}',
    secret_data_encrypted TEXT,
    last_error            TEXT,
    last_checked_at       TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL,
    CONSTRAINT integration_configs_tenant_kind_unique UNIQUE (tenant_id, kind)
);

CREATE TABLE tenant_runtime_configs (
    tenant_id                 UUID    PRIMARY KEY NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    mode                      TEXT    NOT NULL CHECK (mode IN ('amocrm_radist', 'radist_only', 'amocrm_only')),
    timezone                  TEXT    NOT NULL,
    business_day_start        TIME       NOT NULL,
    scheduled_run_time        TIME       NOT NULL,
    is_schedule_enabled       BOOLEAN NOT NULL,
    radist_fetch_limit        INTEGER NOT NULL,
    min_dialogs_for_report    INTEGER NOT NULL,
    max_force_lookback_days   INTEGER NOT NULL,
    max_force_window_hours    INTEGER NOT NULL,
    telegram_followup_minutes INTEGER NOT NULL,
    metadata                  JSONB    NOT NULL DEFAULT '{}',
    updated_at                TIMESTAMPTZ NOT NULL
);

CREATE TABLE job_runs (
    id               UUID    PRIMARY KEY NOT NULL,
    tenant_id        UUID    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    job_type         TEXT    NOT NULL,
    mode             TEXT,
    trigger_type     TEXT    NOT NULL CHECK (trigger_type IN ('scheduled', 'manual', 'system')),
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'success', 'failed', 'cancelled')),
    current_step     TEXT,
    progress         SMALLINT NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    error            TEXT,
    window_start     TIMESTAMPTZ,
    window_end       TIMESTAMPTZ,
    requested_by     UUID    REFERENCES users (id) ON DELETE SET NULL,
    idempotency_key  TEXT,
    attempt          INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 3,
    metadata         JSONB    NOT NULL DEFAULT '{}',
    lease_owner      TEXT,
    lease_expires_at TIMESTAMPTZ,
    run_after        TIMESTAMPTZ NOT NULL,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    CONSTRAINT job_runs_idempotency_key_unique UNIQUE (idempotency_key),
    CONSTRAINT job_runs_window_order CHECK (window_start IS NULL OR window_end IS NULL OR window_end > window_start)
);
-- At most one pending or running report job per tenant.
CREATE UNIQUE INDEX job_runs_one_active_report ON job_runs (tenant_id)
    WHERE job_type = 'report_build' AND status IN ('pending', 'running');
CREATE INDEX job_runs_tenant_created ON job_runs (tenant_id, created_at DESC, id DESC);
CREATE INDEX job_runs_created ON job_runs (created_at DESC, id DESC);
CREATE INDEX job_runs_claimable ON job_runs (status, run_after);

CREATE TABLE job_run_events (
    id         UUID    PRIMARY KEY NOT NULL,
    job_id     UUID    NOT NULL REFERENCES job_runs (id) ON DELETE CASCADE,
    level      TEXT    NOT NULL CHECK (level IN ('info', 'warn', 'error')),
    step       TEXT,
    message    TEXT    NOT NULL,
    data       JSONB    NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX job_run_events_job ON job_run_events (job_id, created_at, id);

CREATE TABLE reports (
    id                   UUID    PRIMARY KEY NOT NULL,
    tenant_id            UUID    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    job_id               UUID    REFERENCES job_runs (id) ON DELETE SET NULL,
    period_start         DATE       NOT NULL,
    period_end           DATE       NOT NULL,
    window_start         TIMESTAMPTZ NOT NULL,
    window_end           TIMESTAMPTZ NOT NULL,
    report_type          TEXT    NOT NULL,
    status               TEXT    NOT NULL CHECK (status IN ('draft', 'ready', 'sent', 'failed')),
    summary_text         TEXT    NOT NULL,
    metadata             JSONB    NOT NULL DEFAULT '{}',
    data_ref             TEXT,
    followup_deadline_at TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    -- A retried job never creates a second report.
    CONSTRAINT reports_one_per_job UNIQUE (job_id)
);
CREATE INDEX reports_tenant_created ON reports (tenant_id, created_at DESC, id DESC);

CREATE TABLE report_messages (
    id         UUID    PRIMARY KEY NOT NULL,
    report_id  UUID    NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    actor_id   UUID    REFERENCES users (id) ON DELETE SET NULL,
    question   TEXT    NOT NULL,
    answer     TEXT    NOT NULL,
    source     TEXT    NOT NULL CHECK (source IN ('web', 'telegram')),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX report_messages_report ON report_messages (report_id, created_at, id);

CREATE TABLE audit_logs (
    id         UUID    PRIMARY KEY NOT NULL,
    tenant_id  UUID    REFERENCES tenants (id) ON DELETE SET NULL,
    actor_id   UUID    REFERENCES users (id) ON DELETE SET NULL,
    action     TEXT    NOT NULL,
    message    TEXT    NOT NULL,
    metadata   JSONB    NOT NULL DEFAULT '{}',
    ip_address TEXT,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_logs_created ON audit_logs (created_at DESC, id DESC);
CREATE INDEX audit_logs_tenant_created ON audit_logs (tenant_id, created_at DESC, id DESC);
