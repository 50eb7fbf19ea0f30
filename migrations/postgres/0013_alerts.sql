-- Alerts to a tenant's admins when a scheduled report fails, falls back, is not delivered or is
-- missing (issue 13): one per tenant and window, whatever went wrong first.
CREATE TABLE report_alerts (
    tenant_id    UUID        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    window_start TIMESTAMPTZ NOT NULL,
    window_end   TIMESTAMPTZ NOT NULL,
    kind         TEXT        NOT NULL CHECK (kind IN ('failed', 'fallback', 'delivery', 'missed')),
    state        TEXT        NOT NULL CHECK (state IN ('sending', 'sent', 'failed', 'no_messenger')),
    message      TEXT        NOT NULL,
    error        TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, window_start, window_end)
);
