-- Synkro schema, SQLite flavour. Ids are 16-byte UUID blobs; timestamps are integer
-- microseconds since the Unix epoch (UTC); JSON is text. Append-only: never edit a
-- migration that has shipped, add a new one.

CREATE TABLE tenants (
    id          BLOB    PRIMARY KEY NOT NULL,
    name        TEXT    NOT NULL,
    slug        TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('active', 'paused', 'disabled')),
    timezone    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CONSTRAINT tenants_slug_unique UNIQUE (slug)
);
CREATE INDEX tenants_created ON tenants (created_at DESC, id DESC);

CREATE TABLE users (
    id            BLOB    PRIMARY KEY NOT NULL,
    username      TEXT    NOT NULL,
    password_hash TEXT,
    email         TEXT,
    is_superuser  BOOLEAN NOT NULL DEFAULT 0,
    is_active     BOOLEAN NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CONSTRAINT users_username_unique UNIQUE (username)
);
CREATE INDEX users_created ON users (created_at DESC, id DESC);

CREATE TABLE user_roles (
    id         BLOB    PRIMARY KEY NOT NULL,
    user_id    BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id  BLOB    REFERENCES tenants (id) ON DELETE CASCADE,
    role       TEXT    NOT NULL CHECK (role IN ('super_admin', 'admin_lite', 'user')),
    is_active  BOOLEAN NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    CONSTRAINT user_roles_user_tenant_unique UNIQUE (user_id, tenant_id)
);
-- NULLs never collide in a unique constraint, so a second global role needs its own index.
CREATE UNIQUE INDEX user_roles_one_global ON user_roles (user_id) WHERE tenant_id IS NULL;
CREATE INDEX user_roles_tenant ON user_roles (tenant_id);

CREATE TABLE user_profiles (
    user_id    BLOB    PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    phone      TEXT,
    timezone   TEXT,
    updated_at INTEGER NOT NULL
);

CREATE TABLE integration_configs (
    id                    BLOB    PRIMARY KEY NOT NULL,
    tenant_id             BLOB    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind                  TEXT    NOT NULL,
    status                TEXT    NOT NULL CHECK (status IN ('unknown', 'ok', 'error', 'pending')),
    public_config         TEXT    NOT NULL DEFAULT '{}',
    secret_data_encrypted TEXT,
    last_error            TEXT,
    last_checked_at       INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    CONSTRAINT integration_configs_tenant_kind_unique UNIQUE (tenant_id, kind)
);

CREATE TABLE tenant_runtime_configs (
    tenant_id                 BLOB    PRIMARY KEY NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    mode                      TEXT    NOT NULL CHECK (mode IN ('amocrm_radist', 'radist_only', 'amocrm_only')),
    timezone                  TEXT    NOT NULL,
    business_day_start        TEXT    NOT NULL,
    scheduled_run_time        TEXT    NOT NULL,
    is_schedule_enabled       BOOLEAN NOT NULL,
    radist_fetch_limit        INTEGER NOT NULL,
    min_dialogs_for_report    INTEGER NOT NULL,
    max_force_lookback_days   INTEGER NOT NULL,
    max_force_window_hours    INTEGER NOT NULL,
    telegram_followup_minutes INTEGER NOT NULL,
    metadata                  TEXT    NOT NULL DEFAULT '{}',
    updated_at                INTEGER NOT NULL
);

CREATE TABLE job_runs (
    id               BLOB    PRIMARY KEY NOT NULL,
    tenant_id        BLOB    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    job_type         TEXT    NOT NULL,
    mode             TEXT,
    trigger_type     TEXT    NOT NULL CHECK (trigger_type IN ('scheduled', 'manual', 'system')),
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'success', 'failed', 'cancelled')),
    current_step     TEXT,
    progress         INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    error            TEXT,
    window_start     INTEGER,
    window_end       INTEGER,
    requested_by     BLOB    REFERENCES users (id) ON DELETE SET NULL,
    idempotency_key  TEXT,
    attempt          INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 3,
    metadata         TEXT    NOT NULL DEFAULT '{}',
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    run_after        INTEGER NOT NULL,
    cancel_requested BOOLEAN NOT NULL DEFAULT 0,
    started_at       INTEGER,
    finished_at      INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
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
    id         BLOB    PRIMARY KEY NOT NULL,
    job_id     BLOB    NOT NULL REFERENCES job_runs (id) ON DELETE CASCADE,
    level      TEXT    NOT NULL CHECK (level IN ('info', 'warn', 'error')),
    step       TEXT,
    message    TEXT    NOT NULL,
    data       TEXT    NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL
);
CREATE INDEX job_run_events_job ON job_run_events (job_id, created_at, id);

CREATE TABLE reports (
    id                   BLOB    PRIMARY KEY NOT NULL,
    tenant_id            BLOB    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    job_id               BLOB    REFERENCES job_runs (id) ON DELETE SET NULL,
    period_start         TEXT    NOT NULL,
    period_end           TEXT    NOT NULL,
    window_start         INTEGER NOT NULL,
    window_end           INTEGER NOT NULL,
    report_type          TEXT    NOT NULL,
    status               TEXT    NOT NULL CHECK (status IN ('draft', 'ready', 'sent', 'failed')),
    summary_text         TEXT    NOT NULL,
    metadata             TEXT    NOT NULL DEFAULT '{}',
    data_ref             TEXT,
    followup_deadline_at INTEGER,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    -- A retried job never creates a second report.
    CONSTRAINT reports_one_per_job UNIQUE (job_id)
);
CREATE INDEX reports_tenant_created ON reports (tenant_id, created_at DESC, id DESC);

CREATE TABLE report_messages (
    id         BLOB    PRIMARY KEY NOT NULL,
    report_id  BLOB    NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    actor_id   BLOB    REFERENCES users (id) ON DELETE SET NULL,
    question   TEXT    NOT NULL,
    answer     TEXT    NOT NULL,
    source     TEXT    NOT NULL CHECK (source IN ('web', 'telegram')),
    created_at INTEGER NOT NULL
);
CREATE INDEX report_messages_report ON report_messages (report_id, created_at, id);

CREATE TABLE audit_logs (
    id         BLOB    PRIMARY KEY NOT NULL,
    tenant_id  BLOB    REFERENCES tenants (id) ON DELETE SET NULL,
    actor_id   BLOB    REFERENCES users (id) ON DELETE SET NULL,
    action     TEXT    NOT NULL,
    message    TEXT    NOT NULL,
    metadata   TEXT    NOT NULL DEFAULT '{}',
    ip_address TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX audit_logs_created ON audit_logs (created_at DESC, id DESC);
CREATE INDEX audit_logs_tenant_created ON audit_logs (tenant_id, created_at DESC, id DESC);
