//! Migrations tested on the data an older release left: each case starts from a store
//! migrated up to an earlier version, writes rows the old way, then migrates.

#![allow(clippy::unwrap_used)]

use crate::{
    Store,
    domain::{NewJobRun, ReportMode, TriggerType, Window},
    ids::TenantId,
    store::on_pool,
    testing::TestStore,
    time::Timestamp,
};

/// A store as release 0.1 left it: migrations up to 0008.
async fn before_modes(kind: &str, test: &str) -> Option<TestStore> {
    crate::testing::store_at(kind, test, 8).await
}

crate::on_both_backends!(
    start = super::before_modes;
    old_mode_names_are_renamed_with_their_job_keys,
    a_reports_numbers_and_ai_outcome_leave_its_metadata,
    the_prompt_leaves_the_metadata_for_a_field_of_its_own,
);

/// Migration 0012 moves the prompt out of a runtime config's metadata into its own field, and
/// every tenant starts in Russian, as before.
async fn the_prompt_leaves_the_metadata_for_a_field_of_its_own(store: &Store) {
    const TENANT: &str = "INSERT INTO tenants (id, name, slug, status, timezone, created_at, updated_at) \
                          VALUES ($1, $3, $3, 'active', 'UTC', $2, $2)";
    const CONFIG: &str = "INSERT INTO tenant_runtime_configs (tenant_id, mode, business_day_start, \
        scheduled_run_time, is_schedule_enabled, min_dialogs_for_report, max_force_lookback_days, \
        max_force_window_hours, telegram_followup_minutes, metadata, schedule_from, updated_at) \
        VALUES ($1, 'amocrm_radist', '22:01:00', '22:10:00', TRUE, 1, 3, 24, 60, $3, $2, $2)";
    let now = Timestamp::now();
    let cases = [
        (TenantId::new(), "acme", serde_json::json!({"prompt": "Коротко, пожалуйста."})),
        (TenantId::new(), "bolt", serde_json::json!({})),
        (TenantId::new(), "cask", serde_json::json!({"prompt": "\n\t "})),
    ];
    for (id, slug, metadata) in &cases {
        on_pool!(store, |pool| async {
            sqlx::query(TENANT).bind(*id).bind(now).bind(*slug).execute(pool).await?;
            sqlx::query(CONFIG).bind(*id).bind(now).bind(sqlx::types::Json(metadata)).execute(pool).await.map(|_| ())
        }
        .await)
        .unwrap();
    }

    store.migrate().await.unwrap();
    let acme = store.get_runtime_config(cases[0].0).await.unwrap();
    assert_eq!(acme.prompt.as_deref(), Some("Коротко, пожалуйста."));
    assert_eq!((acme.language, acme.working_hours), (crate::domain::Language::Ru, None));
    assert_eq!(store.get_runtime_config(cases[1].0).await.unwrap().prompt, None);
    let blank = store.get_runtime_config(cases[2].0).await.unwrap();
    assert_eq!(blank.prompt, None, "a blank prompt becomes the default, so the config stays valid");
    assert!(blank.validate().is_ok());
}

/// Migration 0010 moves `summary` and `ai` out of a report's metadata into typed fields.
async fn a_reports_numbers_and_ai_outcome_leave_its_metadata(store: &Store) {
    const TENANT: &str = "INSERT INTO tenants (id, name, slug, status, timezone, created_at, updated_at) \
                          VALUES ($1, 'Acme', 'acme', 'active', 'UTC', $2, $2)";
    const REPORT: &str = "INSERT INTO reports (id, tenant_id, period_start, period_end, window_start, window_end, \
        report_type, status, summary_text, metadata, created_at, updated_at, summary) \
        VALUES ($1, $2, '2026-03-01', '2026-03-01', $3, $3, 'daily', 'ready', 'text', $4, $3, $3, $5)";
    let (tenant, report, now) = (TenantId::new(), crate::ids::ReportId::new(), Timestamp::now());
    let summary = serde_json::json!({"total_deals": 7, "deals_with_dialogs": 5, "total_messages": 40,
        "by_status": {"won": 7}, "by_manager": {"Olga": 7}});
    let metadata = serde_json::json!({"mode": "crm_only", "summary": summary,
        "ai": {"fallback": false, "model": "gpt-4o-mini", "truncated": false}});
    on_pool!(store, |pool| async {
        sqlx::query(TENANT).bind(tenant).bind(now).execute(pool).await?;
        sqlx::query(REPORT)
            .bind(report)
            .bind(tenant)
            .bind(now)
            .bind(sqlx::types::Json(&metadata))
            .bind(sqlx::types::Json(&summary))
            .execute(pool)
            .await
            .map(|_| ())
    }
    .await)
    .unwrap();

    store.migrate().await.unwrap();
    let migrated = store.get_report(report).await.unwrap();
    assert_eq!(migrated.metadata, serde_json::json!({"mode": "crm_only"}), "the rest stays");
    let numbers = migrated.summary.unwrap();
    assert_eq!((numbers.total_deals, numbers.by_manager["Olga"]), (7, 7));
    let ai = migrated.ai.unwrap();
    assert_eq!((ai.fallback, ai.model.as_deref()), (false, Some("gpt-4o-mini")));
}

/// Migration 0009 renames the vendor modes in runtime configs, jobs and the jobs'
/// idempotency keys, so the scheduler finds the job it made before the upgrade.
async fn old_mode_names_are_renamed_with_their_job_keys(store: &Store) {
    const TENANT: &str = "INSERT INTO tenants (id, name, slug, status, timezone, created_at, updated_at) \
                          VALUES ($1, 'Acme', 'acme', 'active', 'UTC', $2, $2)";
    const CONFIG: &str = "INSERT INTO tenant_runtime_configs (tenant_id, mode, business_day_start, \
        scheduled_run_time, is_schedule_enabled, min_dialogs_for_report, max_force_lookback_days, \
        max_force_window_hours, telegram_followup_minutes, metadata, schedule_from, updated_at) \
        VALUES ($1, 'radist_only', '22:01:00', '22:10:00', TRUE, 1, 3, 24, 60, '{}', $2, $2)";
    const OLD_JOB: &str = "UPDATE job_runs SET mode = 'amocrm_only', \
        idempotency_key = replace(idempotency_key, ':crm_only:', ':amocrm_only:')";
    let (id, now) = (TenantId::new(), Timestamp::now());
    on_pool!(store, |pool| async {
        sqlx::query(TENANT).bind(id).bind(now).execute(pool).await?;
        sqlx::query(CONFIG).bind(id).bind(now).execute(pool).await.map(|_| ())
    }
    .await)
    .unwrap();
    let window =
        Window::new(Timestamp::from_unix_seconds(0).unwrap(), Timestamp::from_unix_seconds(60).unwrap()).unwrap();
    let scheduled = NewJobRun::report(id, ReportMode::CrmOnly, TriggerType::Scheduled, window);
    let job = store.create_job(&scheduled).await.unwrap().into_job();
    on_pool!(store, |pool| sqlx::query(OLD_JOB).execute(pool).await.map(|_| ())).unwrap();

    store.migrate().await.unwrap();
    assert_eq!(store.get_runtime_config(id).await.unwrap().mode, ReportMode::ChatsOnly);
    let migrated = store.get_job(job.id).await.unwrap();
    assert_eq!(migrated.mode, Some(ReportMode::CrmOnly));
    assert_eq!(migrated.idempotency_key, scheduled.idempotency_key, "the key the scheduler makes today");
    assert!(
        matches!(store.create_job(&scheduled).await.unwrap(), crate::store::JobCreated::Existing(j) if j.id == job.id),
        "the window's job is found, not made again"
    );
}
