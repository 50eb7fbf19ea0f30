//! The store conformance suite: every store operation and every database-enforced invariant,
//! written once and run against SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use futures::TryStreamExt;
use serde_json::json;
use synkro::{
    Keyring, Page, PageRequest, Store, StoreError,
    domain::*,
    error::Error,
    ids::*,
    secrets::{SecretError, SecretMap},
    store::{Constraint, DeliveryStart, DeliveryState, JobCreated, LeaseState, QueueDepth},
    time::{TimeZoneName, Timestamp},
};
use synkro::{
    connector::{ArchivedReport, DealRow, RowTime, Warehouse},
    store::BuiltinWarehouse,
};
use time::{Duration, macros::date};

synkro::on_both_backends!(
    migrations_are_idempotent_and_current,
    tenants_crud_and_slug_uniqueness,
    lists_page_newest_first_without_gaps_or_repeats,
    users_and_profiles,
    report_lists_filter_by_status_and_period_and_trends_read_totals,
    roles_one_per_tenant_and_one_global,
    integrations_one_per_kind_and_checks,
    secrets_self_test_and_reencryption,
    runtime_config_round_trip,
    the_tenant_time_zone_is_the_only_one,
    one_active_report_job_per_tenant,
    concurrent_idempotent_creates_make_one_job,
    job_progress_finish_and_cancel,
    job_events_in_order_and_after_a_cursor,
    reports_one_per_job_and_follow_ups,
    audit_filters_and_paging,
    deleting_a_tenant_cascades_but_keeps_audit,
    deleting_a_user_keeps_their_history,
    timestamps_and_dates_round_trip_exactly,
    builtin_warehouse_upserts_pages_and_archives,
    claims_take_the_oldest_due_job_and_set_the_lease,
    concurrent_workers_never_claim_a_job_twice,
    an_expired_lease_is_taken_over_and_the_old_owner_is_fenced,
    a_job_whose_workers_keep_stopping_gives_up_and_the_next_is_claimed,
    jobs_are_not_claimed_before_run_after,
    jobs_asked_to_stop_are_never_claimed,
    extend_lease_reports_a_requested_stop,
    retry_later_makes_a_job_claimable_again_at_run_after,
    deliveries_happen_once,
    a_delivery_abandoned_mid_send_has_an_unknown_outcome,
    a_failed_delivery_is_sent_again_only_when_asked,
    a_retryable_failure_waits_for_its_retry,
    a_job_that_gives_up_settles_its_delivery_as_unknown,
    deliveries_go_with_their_report,
    report_for_job_finds_the_jobs_report,
    queue_depth_counts_due_later_and_running,
    tenants_due_are_active_with_the_schedule_on,
    sessions_live_until_revoked_or_expired,
    an_alert_is_claimed_once_per_window_unless_sending_it_failed,
);

async fn an_alert_is_claimed_once_per_window_unless_sending_it_failed(store: &Store) {
    use synkro::store::{ALERT_SENDING_FOR, AlertKind, AlertState};
    let acme = tenant(store, "acme").await;
    let window = window(1_772_323_200, 1_772_323_200 + 86_400);
    let now = Timestamp::now();
    let claim = async |kind, at| store.claim_alert(acme.id, window, kind, "text", at).await.unwrap();

    assert!(claim(AlertKind::Fallback, now).await, "the first thing that goes wrong claims the window");
    assert!(!claim(AlertKind::Delivery, now).await, "while it is being sent, nothing else does");
    store.finish_alert(acme.id, window, AlertState::Failed, Some("bot refused")).await.unwrap();
    assert!(claim(AlertKind::Delivery, now).await, "a failed send is claimed again by the next problem");
    let stored = store.list_alerts(acme.id, 10).await.unwrap();
    assert_eq!(
        (stored.len(), stored[0].kind, stored[0].state, stored[0].error.clone()),
        (1, AlertKind::Delivery, AlertState::Sending, None)
    );
    // A sender that died leaves `sending` behind: claimable once it is stale.
    let soon = now + time::Duration::minutes(1);
    assert!(!claim(AlertKind::Missed, soon).await);
    let later = now + time::Duration::try_from(ALERT_SENDING_FOR).unwrap() + time::Duration::seconds(1);
    assert!(claim(AlertKind::Missed, later).await);
    store.finish_alert(acme.id, window, AlertState::Sent, None).await.unwrap();
    assert!(!claim(AlertKind::Failed, later + time::Duration::days(1)).await, "a sent alert is final");
    let counts = store.alert_counts().await.unwrap();
    assert_eq!(counts, [(AlertKind::Missed, AlertState::Sent, 1)]);
}

async fn tenant(store: &Store, slug: &str) -> Tenant {
    store.create_tenant(&NewTenant::new(&format!("Tenant {slug}"), slug, "Europe/Berlin").unwrap()).await.unwrap()
}

async fn user(store: &Store, name: &str) -> User {
    store.create_user(&NewUser::new(name).unwrap()).await.unwrap()
}

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(secs).unwrap()
}

fn window(start: i64, end: i64) -> Window {
    Window::new(ts(start), ts(end)).unwrap()
}

fn report_job(tenant: TenantId, start: i64) -> NewJobRun {
    NewJobRun::report(tenant, ReportMode::CrmChats, TriggerType::Manual, window(start, start + 3600))
}

fn new_report(tenant: TenantId, job: Option<JobId>, text: &str) -> NewReport {
    NewReport {
        tenant_id: tenant,
        job_id: job,
        period_start: date!(2026 - 03 - 01),
        period_end: date!(2026 - 03 - 01),
        window: window(1_772_300_000, 1_772_386_400),
        report_type: ReportType::Daily,
        status: ReportStatus::Ready,
        summary_text: text.to_owned(),
        summary: Summary { total_deals: 3, ..Summary::default() },
        ai: AiOutcome { fallback: true, error: Some("no AI integration is configured".into()), ..AiOutcome::default() },
        analytics: Default::default(),
        metadata: json!({"mode": "crm_only"}),
        data_ref: Some("warehouse:deals".into()),
        followup_deadline_at: Some(ts(1_772_390_000)),
    }
}

/// Walks every page of a list and returns all items.
async fn collect<T, F, Fut>(size: u32, mut next: F) -> Vec<T>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, StoreError>>,
{
    let mut all = Vec::new();
    let mut req = PageRequest::first(size).unwrap();
    loop {
        let page = next(req).await.unwrap();
        assert!(page.items.len() <= size as usize);
        all.extend(page.items);
        match page.next_cursor {
            Some(cursor) => req = PageRequest::after(size, cursor).unwrap(),
            None => return all,
        }
    }
}

async fn migrations_are_idempotent_and_current(store: &Store) {
    assert!(store.migrations_current().await.unwrap());
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
}

async fn tenants_crud_and_slug_uniqueness(store: &Store) {
    let acme = tenant(store, "acme").await;
    assert_eq!(acme.status, TenantStatus::Active);
    assert_eq!(acme.timezone.as_str(), "Europe/Berlin");
    assert_eq!(store.get_tenant(acme.id).await.unwrap(), acme);
    assert_eq!(store.get_tenant_by_slug(&Slug::new("acme").unwrap()).await.unwrap().id, acme.id);

    let dup = store.create_tenant(&NewTenant::new("Other", "acme", "UTC").unwrap()).await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(Constraint::TenantSlug)), "{dup:?}");
    assert!(dup.to_string().contains("slug"), "{dup}");

    let update = TenantUpdate {
        name: Some("Acme Retail".into()),
        status: Some(TenantStatus::Paused),
        timezone: Some(TimeZoneName::new("Asia/Almaty").unwrap()),
    };
    let updated = store.update_tenant(acme.id, &update).await.unwrap();
    assert_eq!((updated.name.as_str(), updated.status), ("Acme Retail", TenantStatus::Paused));
    assert_eq!(updated.timezone.as_str(), "Asia/Almaty");
    assert!(updated.updated_at >= acme.updated_at);
    let untouched = store.update_tenant(acme.id, &TenantUpdate::default()).await.unwrap();
    assert_eq!(untouched.name, "Acme Retail");
    let bad = TenantUpdate { name: Some("  ".into()), ..Default::default() };
    assert!(matches!(store.update_tenant(acme.id, &bad).await, Err(StoreError::Invalid(e)) if e.field == "name"));

    let beta = tenant(store, "beta").await;
    let active: Vec<_> = store.list_active_tenants().await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(active, [beta.id], "a paused tenant is not active");

    store.delete_tenant(acme.id).await.unwrap();
    assert!(matches!(store.get_tenant(acme.id).await, Err(StoreError::NotFound { entity: "tenant" })));
    assert!(matches!(store.delete_tenant(acme.id).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(store.update_tenant(acme.id, &update).await, Err(StoreError::NotFound { .. })));
}

async fn lists_page_newest_first_without_gaps_or_repeats(store: &Store) {
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(tenant(store, &format!("t{i}")).await.id);
    }
    let listed: Vec<_> = collect(3, |req| async move { store.list_tenants(&req).await }).await;
    let ids: Vec<_> = listed.iter().map(|t| t.id).collect();
    created.reverse();
    assert_eq!(ids, created, "newest first, every tenant exactly once");

    let one_page = store.list_tenants(&PageRequest::first(10).unwrap()).await.unwrap();
    assert_eq!(one_page.items.len(), 7);
    assert!(one_page.next_cursor.is_none(), "no cursor after the last page");
    let exact = store.list_tenants(&PageRequest::first(7).unwrap()).await.unwrap();
    assert!(exact.next_cursor.is_none(), "a full last page has no next page");

    let users: Vec<_> = {
        for i in 0..5 {
            user(store, &format!("u{i}")).await;
        }
        collect(2, |req| async move { store.list_users(&req).await }).await
    };
    let names: Vec<_> = users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["u4", "u3", "u2", "u1", "u0"]);
}

async fn users_and_profiles(store: &Store) {
    let mut new = NewUser::new("anna").unwrap().with_email("anna@example.com").unwrap();
    new.password_hash = Some(PasswordHash::from_phc("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"));
    let anna = store.create_user(&new).await.unwrap();
    assert_eq!(anna.email.as_deref(), Some("anna@example.com"));
    assert!(anna.is_active && !anna.is_superuser);
    assert_eq!(anna.password_hash, new.password_hash);
    assert_eq!(store.get_user_by_username("anna").await.unwrap().id, anna.id);
    assert!(matches!(store.get_user_by_username("ANNA").await, Err(StoreError::NotFound { entity: "user" })));

    let dup = store.create_user(&NewUser::new("anna").unwrap()).await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(Constraint::Username)), "{dup:?}");

    let update =
        UserUpdate { email: Some(None), is_superuser: Some(true), is_active: Some(false), ..Default::default() };
    let changed = store.update_user(anna.id, &update).await.unwrap();
    assert_eq!(changed.email, None, "Some(None) clears the e-mail");
    assert!(changed.is_superuser && !changed.is_active);
    assert_eq!(changed.password_hash, anna.password_hash, "an unset field is kept");
    let bad = UserUpdate { email: Some(Some("nope".into())), ..Default::default() };
    assert!(matches!(store.update_user(anna.id, &bad).await, Err(StoreError::Invalid(e)) if e.field == "email"));

    assert_eq!(store.get_profile(anna.id).await.unwrap(), None);
    let mut profile =
        UserProfile::new(anna.id, Some("+7 900 000-00-00"), Some(TimeZoneName::new("Asia/Almaty").unwrap())).unwrap();
    profile.language = Some(synkro_core::domain::Language::En);
    let saved = store.put_profile(&profile).await.unwrap();
    assert_eq!(saved.phone.as_deref(), Some("+7 900 000-00-00"));
    assert_eq!(saved.language, Some(synkro_core::domain::Language::En), "the dashboard's language is kept");
    let replaced = store.put_profile(&UserProfile::new(anna.id, None, None).unwrap()).await.unwrap();
    assert_eq!((replaced.phone, replaced.timezone, replaced.language), (None, None, None));
    assert_eq!(store.get_profile(anna.id).await.unwrap().unwrap().user_id, anna.id);
    let orphan = UserProfile::new(UserId::new(), None, None).unwrap();
    assert!(matches!(store.put_profile(&orphan).await, Err(StoreError::NotFound { .. })));

    store.delete_user(anna.id).await.unwrap();
    assert!(matches!(store.get_user(anna.id).await, Err(StoreError::NotFound { .. })));
    assert_eq!(store.get_profile(anna.id).await.unwrap(), None, "the profile goes with the user");
}

async fn roles_one_per_tenant_and_one_global(store: &Store) {
    let (acme, beta) = (tenant(store, "acme").await, tenant(store, "beta").await);
    let anna = user(store, "anna").await;
    let grant = |tenant_id, role| NewUserRole { user_id: anna.id, tenant_id, role };

    let on_acme = store.grant_role(&grant(Some(acme.id), Role::AdminLite)).await.unwrap();
    assert!(on_acme.is_active);
    let again = store.grant_role(&grant(Some(acme.id), Role::User)).await.unwrap_err();
    assert!(matches!(again, StoreError::Conflict(Constraint::RolePerTenant)), "{again:?}");
    store.grant_role(&grant(Some(beta.id), Role::User)).await.unwrap();

    let global = store.grant_role(&grant(None, Role::SuperAdmin)).await.unwrap();
    assert_eq!(global.tenant_id, None);
    let second_global = store.grant_role(&grant(None, Role::User)).await.unwrap_err();
    assert!(matches!(second_global, StoreError::Conflict(Constraint::GlobalRole)), "{second_global:?}");

    let roles = store.list_user_roles(anna.id).await.unwrap();
    assert_eq!(roles.len(), 3);
    assert_eq!(roles[0].id, global.id, "global role first");
    assert_eq!(store.list_tenant_roles(acme.id).await.unwrap(), std::slice::from_ref(&on_acme));

    let off = store.set_role_active(on_acme.id, false).await.unwrap();
    assert!(!off.is_active);
    store.revoke_role(on_acme.id).await.unwrap();
    assert!(store.list_tenant_roles(acme.id).await.unwrap().is_empty());
    assert!(matches!(store.revoke_role(on_acme.id).await, Err(StoreError::NotFound { entity: "role" })));
    store.grant_role(&grant(Some(acme.id), Role::User)).await.unwrap();

    let ghost = NewUserRole { user_id: UserId::new(), tenant_id: Some(acme.id), role: Role::User };
    assert!(matches!(store.grant_role(&ghost).await, Err(StoreError::NotFound { .. })));
    let no_tenant = grant(Some(TenantId::new()), Role::User);
    assert!(matches!(store.grant_role(&no_tenant).await, Err(StoreError::NotFound { .. })));
}

async fn integrations_one_per_kind_and_checks(store: &Store) {
    let (acme, beta) = (tenant(store, "acme").await, tenant(store, "beta").await);
    let keyring = Keyring::generate();
    let secrets: SecretMap = [("access_token".to_owned(), "tok-123".into())].into_iter().collect();
    let amocrm = ConnectorKind::new("amocrm").unwrap();
    let new = NewIntegrationConfig::new(
        acme.id,
        amocrm.clone(),
        json!({"subdomain": "acme"}),
        Some(keyring.encrypt(&secrets)),
    )
    .unwrap();
    let created = store.create_integration(&new).await.unwrap();
    assert_eq!(created.status, IntegrationStatus::Unknown);
    assert_eq!(created.public_config, json!({"subdomain": "acme"}));
    assert_eq!(keyring.decrypt(created.secret_data_encrypted.as_ref().unwrap()).unwrap(), secrets);

    let dup = store.create_integration(&new).await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(Constraint::IntegrationKind)), "{dup:?}");
    let other_tenant = NewIntegrationConfig { tenant_id: beta.id, ..new.clone() };
    store.create_integration(&other_tenant).await.unwrap();
    let telegram =
        NewIntegrationConfig::new(acme.id, ConnectorKind::new("telegram").unwrap(), json!({}), None).unwrap();
    store.create_integration(&telegram).await.unwrap();

    let kinds: Vec<_> =
        store.list_integrations(acme.id).await.unwrap().into_iter().map(|c| c.kind.to_string()).collect();
    assert_eq!(kinds, ["amocrm", "telegram"]);

    let checked = store
        .record_integration_check(created.id, IntegrationStatus::Error, Some("auth: token expired"))
        .await
        .unwrap();
    assert_eq!(checked.status, IntegrationStatus::Error);
    assert_eq!(checked.last_error.as_deref(), Some("auth: token expired"));
    assert!(checked.last_checked_at.is_some());

    let updated = store.update_integration(created.id, &json!({"subdomain": "acme2"}), None).await.unwrap();
    assert_eq!(updated.status, IntegrationStatus::Unknown, "a change needs a new check");
    assert_eq!((updated.last_error, updated.secret_data_encrypted), (None, None));
    assert_eq!(store.get_integration(acme.id, &amocrm).await.unwrap().public_config, json!({"subdomain": "acme2"}));

    store.delete_integration(created.id).await.unwrap();
    assert!(matches!(
        store.get_integration(acme.id, &amocrm).await,
        Err(StoreError::NotFound { entity: "integration" })
    ));
    let orphan = NewIntegrationConfig { tenant_id: TenantId::new(), ..new };
    assert!(matches!(store.create_integration(&orphan).await, Err(StoreError::NotFound { .. })));
}

async fn secrets_self_test_and_reencryption(store: &Store) {
    let acme = tenant(store, "acme").await;
    let old = Keyring::generate();
    let secrets: SecretMap =
        [("api_key".to_owned(), "sk-live-42".into()), ("pin".to_owned(), "0000".into())].into_iter().collect();
    for kind in ["ai", "radist"] {
        let cfg = NewIntegrationConfig::new(
            acme.id,
            ConnectorKind::new(kind).unwrap(),
            json!({}),
            Some(old.encrypt(&secrets)),
        )
        .unwrap();
        store.create_integration(&cfg).await.unwrap();
    }
    let plain = NewIntegrationConfig::new(acme.id, ConnectorKind::new("telegram").unwrap(), json!({}), None).unwrap();
    store.create_integration(&plain).await.unwrap();

    let check = store.verify_secrets(&old).await.unwrap();
    assert_eq!((check.total, check.current, check.reencrypted), (2, 2, 0));

    let new_only = Keyring::generate();
    let refused = store.verify_secrets(&new_only).await.unwrap_err();
    assert!(matches!(refused, Error::Secret(SecretError::Undecryptable)), "{refused:?}");
    assert!(refused.to_string().contains("SYNKRO_SECRET_KEYS"), "the error names the setting: {refused}");
    assert!(store.reencrypt_secrets(&new_only).await.is_err(), "nothing is rewritten when a key is missing");

    let rotated =
        Keyring::parse(&format!("{},{}", new_only.primary_key().expose(), old.primary_key().expose())).unwrap();
    let check = store.verify_secrets(&rotated).await.unwrap();
    assert_eq!((check.total, check.current), (2, 0));
    let done = store.reencrypt_secrets(&rotated).await.unwrap();
    assert_eq!(done.reencrypted, 2);
    assert_eq!(store.reencrypt_secrets(&rotated).await.unwrap().reencrypted, 0, "a second run has nothing to do");

    let after = store.verify_secrets(&new_only).await.unwrap();
    assert_eq!(after.current, 2, "the old key can now be dropped");
    assert!(store.verify_secrets(&old).await.is_err());
    for cfg in store.list_integrations(acme.id).await.unwrap() {
        if let Some(token) = cfg.secret_data_encrypted {
            assert_eq!(new_only.decrypt(&token).unwrap(), secrets, "values survive rotation");
        }
    }
}

async fn runtime_config_round_trip(store: &Store) {
    let acme = tenant(store, "acme").await;
    // A new tenant has its config at the documented defaults, effective from its creation.
    let initial = store.get_runtime_config(acme.id).await.unwrap();
    let defaults = TenantRuntimeConfig::defaults(acme.id, acme.timezone.clone());
    assert_eq!(
        TenantRuntimeConfig {
            updated_at: defaults.updated_at,
            schedule_from: defaults.schedule_from,
            ..initial.clone()
        },
        defaults
    );
    assert_eq!(initial.schedule_from, acme.created_at);
    let saved = store.put_runtime_config(&initial).await.unwrap();
    assert_eq!(saved.schedule_from, initial.schedule_from, "saving the same schedule keeps it");

    let mut changed = saved.clone();
    changed.min_dialogs_for_report = 3;
    changed.prompt = Some("Short, please.".into());
    changed.language = Language::En;
    changed.working_hours =
        Some(serde_json::from_value(json!({"start": "09:00", "end": "18:00", "days": ["mon", "fri"]})).unwrap());
    let replaced = store.put_runtime_config(&changed).await.unwrap();
    assert_eq!(replaced.schedule_from, initial.schedule_from, "other settings do not move the schedule");
    let read = store.get_runtime_config(acme.id).await.unwrap();
    assert_eq!(
        (read.prompt, read.language, read.working_hours),
        (changed.prompt.clone(), Language::En, changed.working_hours)
    );

    changed.mode = ReportMode::ChatsOnly;
    changed.is_schedule_enabled = false;
    changed.scheduled_run_time = time::macros::time!(06:30);
    let replaced = store.put_runtime_config(&changed).await.unwrap();
    assert_eq!(replaced.mode, ReportMode::ChatsOnly);
    assert_eq!(replaced.scheduled_run_time, time::macros::time!(06:30));
    assert!(replaced.schedule_from > initial.schedule_from, "a schedule change restarts it");

    changed.max_force_window_hours = 0;
    assert!(
        matches!(store.put_runtime_config(&changed).await, Err(StoreError::Invalid(e)) if e.field == "max_force_window_hours")
    );
    changed.max_force_window_hours = 24;
    changed.prompt = Some("   ".into());
    assert!(
        matches!(store.put_runtime_config(&changed).await, Err(StoreError::Invalid(e)) if e.field == "prompt"),
        "a blank prompt is refused"
    );
    let orphan = TenantRuntimeConfig::defaults(TenantId::new(), TimeZoneName::utc());
    assert!(matches!(store.put_runtime_config(&orphan).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(store.get_runtime_config(orphan.tenant_id).await, Err(StoreError::NotFound { .. })));
}

async fn the_tenant_time_zone_is_the_only_one(store: &Store) {
    let acme = tenant(store, "acme").await;
    let before = store.get_runtime_config(acme.id).await.unwrap();
    assert_eq!(before.timezone, acme.timezone);

    // The tenant's zone changes: the config (and so every window) follows, and the schedule
    // restarts.
    let almaty = TimeZoneName::new("Asia/Almaty").unwrap();
    let update = TenantUpdate { timezone: Some(almaty.clone()), ..Default::default() };
    store.update_tenant(acme.id, &update).await.unwrap();
    let after = store.get_runtime_config(acme.id).await.unwrap();
    assert_eq!(after.timezone, almaty);
    assert!(after.schedule_from > before.schedule_from);
    let (_, due) = store.tenants_due().await.unwrap().into_iter().find(|(t, _)| t.id == acme.id).unwrap();
    assert_eq!(due.timezone, almaty, "the scheduler sees the tenant's zone");

    // The config's zone changes: the tenant's follows.
    let tokyo = TimeZoneName::new("Asia/Tokyo").unwrap();
    let config = TenantRuntimeConfig { timezone: tokyo.clone(), ..after.clone() };
    let saved = store.put_runtime_config(&config).await.unwrap();
    assert_eq!(saved.timezone, tokyo);
    assert_eq!(store.get_tenant(acme.id).await.unwrap().timezone, tokyo);
    assert!(saved.schedule_from > after.schedule_from);

    // Pausing and resuming restarts the schedule too; a rename does not.
    let resumed = TenantUpdate { status: Some(TenantStatus::Paused), ..Default::default() };
    store.update_tenant(acme.id, &resumed).await.unwrap();
    let paused = store.get_runtime_config(acme.id).await.unwrap();
    assert!(paused.schedule_from > saved.schedule_from);
    let renamed = TenantUpdate { name: Some("Acme 2".into()), ..Default::default() };
    store.update_tenant(acme.id, &renamed).await.unwrap();
    assert_eq!(store.get_runtime_config(acme.id).await.unwrap().schedule_from, paused.schedule_from);
}

async fn one_active_report_job_per_tenant(store: &Store) {
    let (acme, beta) = (tenant(store, "acme").await, tenant(store, "beta").await);
    let first = store.create_job(&report_job(acme.id, 1_000_000)).await.unwrap();
    let JobCreated::New(first) = first else { panic!("expected a new job") };
    assert_eq!((first.status, first.progress, first.attempt), (JobStatus::Pending, 0, 0));

    let refused = store.create_job(&report_job(acme.id, 2_000_000)).await.unwrap_err();
    match &refused {
        StoreError::Conflict(Constraint::ActiveReportJob { active }) => {
            assert_eq!(*active, Some(first.id))
        }
        other => panic!("expected an active-job conflict, got {other:?}"),
    }
    assert!(refused.to_string().contains(&first.id.to_string()), "the answer names the active job: {refused}");

    let same_key = store.create_job(&report_job(acme.id, 1_000_000)).await.unwrap();
    assert_eq!(same_key, JobCreated::Existing(first.clone()));
    store.create_job(&report_job(beta.id, 2_000_000)).await.unwrap();
    assert_eq!(store.active_report_job(acme.id).await.unwrap().map(|j| j.id), Some(first.id));

    store.finish_job(first.id, JobStatus::Failed, Some("radist: unauthorized")).await.unwrap();
    assert_eq!(store.active_report_job(acme.id).await.unwrap(), None);
    let next = store.create_job(&report_job(acme.id, 2_000_000)).await.unwrap();
    assert!(matches!(next, JobCreated::New(_)), "a finished job frees the slot");
}

async fn concurrent_idempotent_creates_make_one_job(store: &Store) {
    let acme = tenant(store, "acme").await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        let job = report_job(acme.id, 5_000_000);
        tasks.push(tokio::spawn(async move { store.create_job(&job).await }));
    }
    let mut ids = HashSet::new();
    let mut created = 0;
    for task in tasks {
        let outcome = task.await.unwrap().unwrap();
        created += usize::from(matches!(outcome, JobCreated::New(_)));
        ids.insert(outcome.job().id);
    }
    assert_eq!((ids.len(), created), (1, 1), "eight racing creates give one row");
    let all = store.list_jobs(Some(acme.id), &PageRequest::first(50).unwrap()).await.unwrap();
    assert_eq!(all.items.len(), 1);
}

async fn job_progress_finish_and_cancel(store: &Store) {
    let (acme, beta) = (tenant(store, "acme").await, tenant(store, "beta").await);
    let job = store.create_job(&report_job(acme.id, 1_000)).await.unwrap().into_job();
    assert_eq!((job.window_start, job.window_end), (Some(ts(1_000)), Some(ts(4_600))));
    assert_eq!(job.mode, Some(ReportMode::CrmChats));

    let moved = store.update_job_progress(job.id, "sync_sources", 25).await.unwrap();
    assert_eq!((moved.current_step.as_deref(), moved.progress), (Some("sync_sources"), 25));
    let too_far = store.update_job_progress(job.id, "x", 101).await.unwrap_err();
    assert!(matches!(too_far, StoreError::Invalid(ref e) if e.field == "progress"), "{too_far:?}");
    assert!(matches!(
        store.update_job_progress(JobId::new(), "x", 1).await,
        Err(StoreError::NotFound { entity: "job" })
    ));

    assert!(matches!(store.finish_job(job.id, JobStatus::Running, None).await, Err(StoreError::Invalid(_))));
    let done = store.finish_job(job.id, JobStatus::Success, None).await.unwrap();
    assert_eq!((done.status, done.progress), (JobStatus::Success, 100));
    assert!(done.finished_at.is_some());
    let again = store.finish_job(job.id, JobStatus::Failed, Some("late")).await.unwrap_err();
    assert!(matches!(again, StoreError::Conflict(_)), "a finished job's outcome never changes: {again:?}");
    assert_eq!(store.get_job(job.id).await.unwrap().status, JobStatus::Success);

    let pending = store.create_job(&report_job(acme.id, 9_000)).await.unwrap().into_job();
    let stopped = store.request_job_cancel(pending.id).await.unwrap();
    assert_eq!(stopped.status, JobStatus::Cancelled, "a pending job stops at once");
    assert!(stopped.cancel_requested && stopped.finished_at.is_some());
    assert_eq!(store.request_job_cancel(pending.id).await.unwrap().status, JobStatus::Cancelled);

    store.create_job(&report_job(beta.id, 1_000)).await.unwrap();
    let acme_jobs = store.list_jobs(Some(acme.id), &PageRequest::first(10).unwrap()).await.unwrap();
    assert_eq!(acme_jobs.items.iter().map(|j| j.id).collect::<Vec<_>>(), [pending.id, job.id]);
    let all = collect(1, |req| async move { store.list_jobs(None, &req).await }).await;
    assert_eq!(all.len(), 3);
}

async fn job_events_in_order_and_after_a_cursor(store: &Store) {
    let acme = tenant(store, "acme").await;
    let job = store.create_job(&report_job(acme.id, 1_000)).await.unwrap().into_job();
    let mut ids = Vec::new();
    for (i, step) in ["check_config", "sync_sources", "load_rows"].iter().enumerate() {
        let mut event = NewJobEvent::info(job.id, step, format!("step {i}"));
        event.data = json!({"n": i});
        ids.push(store.append_job_event(&event).await.unwrap().id);
    }
    let warn =
        NewJobEvent { level: EventLevel::Warn, ..NewJobEvent::info(job.id, "sync_sources", "radist cap cut 12 chats") };
    ids.push(store.append_job_event(&warn).await.unwrap().id);

    let all = store.list_job_events(job.id, None, 100).await.unwrap();
    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), ids);
    assert_eq!(all[1].data, json!({"n": 1}));
    assert_eq!(all[3].level, EventLevel::Warn);
    let after = store.list_job_events(job.id, Some(ids[1]), 100).await.unwrap();
    assert_eq!(after.iter().map(|e| e.id).collect::<Vec<_>>(), &ids[2..]);
    assert_eq!(store.list_job_events(job.id, None, 2).await.unwrap().len(), 2);
    assert!(matches!(store.list_job_events(job.id, None, 0).await, Err(StoreError::Invalid(_))));

    let bad = NewJobEvent { data: json!([1]), ..NewJobEvent::info(job.id, "x", "y") };
    assert!(matches!(store.append_job_event(&bad).await, Err(StoreError::Invalid(e)) if e.field == "data"));
    let orphan = NewJobEvent::info(JobId::new(), "x", "y");
    assert!(matches!(store.append_job_event(&orphan).await, Err(StoreError::NotFound { .. })));
}

async fn reports_one_per_job_and_follow_ups(store: &Store) {
    let acme = tenant(store, "acme").await;
    let anna = user(store, "anna").await;
    let job = store.create_job(&report_job(acme.id, 1_000)).await.unwrap().into_job();
    let report = store.create_report(&new_report(acme.id, Some(job.id), "Day one")).await.unwrap();
    assert_eq!(report.status, ReportStatus::Ready);
    assert_eq!(report.metadata, json!({"mode": "crm_only"}));
    assert_eq!(report.summary.as_ref().map(|s| s.total_deals), Some(3), "the numbers are a typed field");
    assert_eq!(report.ai.as_ref().map(|a| a.fallback), Some(true));
    assert_eq!(store.get_report(report.id).await.unwrap(), report);
    let view = store.get_report_view(report.id).await.unwrap();
    assert_eq!(view, Report { metadata: json!({}), ..report.clone() }, "a page's view leaves out the details");
    assert!(matches!(store.get_report_view(ReportId::new()).await, Err(StoreError::NotFound { .. })));

    let twice = store.create_report(&new_report(acme.id, Some(job.id), "Day one again")).await.unwrap_err();
    assert!(matches!(twice, StoreError::Conflict(Constraint::ReportPerJob)), "{twice:?}");

    let mut ids = vec![report.id];
    for i in 0..4 {
        ids.push(store.create_report(&new_report(acme.id, None, &format!("forced {i}"))).await.unwrap().id);
    }
    ids.reverse();
    let listed = collect(2, |req| async move { store.list_reports(acme.id, &req).await }).await;
    assert_eq!(listed.iter().map(|r| r.id).collect::<Vec<_>>(), ids);
    assert_eq!(store.latest_report(acme.id).await.unwrap().map(|r| r.id), Some(ids[0]));

    let sent = store.set_report_status(report.id, ReportStatus::Sent).await.unwrap();
    assert_eq!(sent.status, ReportStatus::Sent);

    for i in 0..8 {
        let source = if i % 2 == 0 { MessageSource::Web } else { MessageSource::Telegram };
        let message = NewReportMessage {
            report_id: report.id,
            actor_id: (source == MessageSource::Web).then_some(anna.id),
            question: format!("q{i}"),
            answer: format!("a{i}"),
            source,
        };
        store.add_report_message(&message).await.unwrap();
    }
    let last_six = store.recent_report_messages(report.id, 6).await.unwrap();
    let questions: Vec<_> = last_six.iter().map(|m| m.question.as_str()).collect();
    assert_eq!(questions, ["q2", "q3", "q4", "q5", "q6", "q7"], "the last six, oldest first");
    assert_eq!(last_six[1].actor_id, None);
    let empty = NewReportMessage {
        report_id: report.id,
        actor_id: None,
        question: " ".into(),
        answer: "x".into(),
        source: MessageSource::Web,
    };
    assert!(matches!(store.add_report_message(&empty).await, Err(StoreError::Invalid(e)) if e.field == "question"));
}

async fn audit_filters_and_paging(store: &Store) {
    let (acme, beta) = (tenant(store, "acme").await, tenant(store, "beta").await);
    let (anna, bob) = (user(store, "anna").await, user(store, "bob").await);
    let entry = |tenant: Option<TenantId>, action: &str| {
        let mut e = NewAuditLog::new(action.parse().unwrap(), format!("{action} happened"));
        e.tenant_id = tenant;
        e.actor_id = Some(anna.id);
        e.ip_address = Some("203.0.113.7".parse().unwrap());
        e
    };
    let first = store.append_audit(&entry(Some(acme.id), "auth.login")).await.unwrap();
    assert_eq!(first.ip_address.as_deref(), Some("203.0.113.7"));
    let boundary = store.append_audit(&entry(Some(acme.id), "integration.update")).await.unwrap().created_at;
    store.append_audit(&entry(Some(beta.id), "integration.update")).await.unwrap();
    store.append_audit(&entry(None, "auth.login")).await.unwrap();

    let filter = |tenant_id, action: Option<&str>, from, to| AuditFilter {
        tenant_id,
        action: action.map(str::to_owned),
        from,
        to,
        ..Default::default()
    };
    let count = |f: AuditFilter| async move {
        collect(2, |req| {
            let f = f.clone();
            async move { store.list_audit(&f, &req).await }
        })
        .await
        .len()
    };
    assert_eq!(count(AuditFilter::default()).await, 4);
    assert_eq!(count(filter(Some(acme.id), None, None, None)).await, 2);
    assert_eq!(count(filter(None, Some("integration.update"), None, None)).await, 2);
    assert_eq!(count(filter(Some(beta.id), Some("auth.login"), None, None)).await, 0);
    assert_eq!(count(filter(None, None, Some(boundary), None)).await, 3, "from is inclusive");
    assert_eq!(count(filter(None, None, None, Some(boundary))).await, 1, "to is exclusive");
    let by_bob = NewAuditLog { actor_id: Some(bob.id), ..entry(Some(acme.id), "auth.login") };
    store.append_audit(&by_bob).await.unwrap();
    assert_eq!(count(AuditFilter { actor_id: Some(bob.id), ..Default::default() }).await, 1, "by one actor");
    assert_eq!(count(AuditFilter { actor_id: Some(anna.id), ..Default::default() }).await, 4);

    let bad = NewAuditLog { metadata: json!("x"), ..entry(None, "auth.login") };
    assert!(matches!(store.append_audit(&bad).await, Err(StoreError::Invalid(_))));
}

async fn deleting_a_tenant_cascades_but_keeps_audit(store: &Store) {
    let acme = tenant(store, "acme").await;
    let anna = user(store, "anna").await;
    let role =
        store.grant_role(&NewUserRole { user_id: anna.id, tenant_id: Some(acme.id), role: Role::User }).await.unwrap();
    let kind = ConnectorKind::new("radist").unwrap();
    store
        .create_integration(&NewIntegrationConfig::new(acme.id, kind.clone(), json!({}), None).unwrap())
        .await
        .unwrap();
    store.put_runtime_config(&TenantRuntimeConfig::defaults(acme.id, acme.timezone.clone())).await.unwrap();
    let job = store.create_job(&report_job(acme.id, 1_000)).await.unwrap().into_job();
    store.append_job_event(&NewJobEvent::info(job.id, "check_config", "ok")).await.unwrap();
    let report = store.create_report(&new_report(acme.id, Some(job.id), "text")).await.unwrap();
    let question = NewReportMessage {
        report_id: report.id,
        actor_id: Some(anna.id),
        question: "why?".into(),
        answer: "because".into(),
        source: MessageSource::Web,
    };
    store.add_report_message(&question).await.unwrap();
    let mut audit = NewAuditLog::new(AuditAction::TenantCreate, "created");
    audit.tenant_id = Some(acme.id);
    let audit = store.append_audit(&audit).await.unwrap();

    store.delete_tenant(acme.id).await.unwrap();

    assert!(matches!(store.get_integration(acme.id, &kind).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(store.get_runtime_config(acme.id).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(store.get_job(job.id).await, Err(StoreError::NotFound { .. })));
    assert!(store.list_job_events(job.id, None, 10).await.unwrap().is_empty());
    assert!(matches!(store.get_report(report.id).await, Err(StoreError::NotFound { .. })));
    assert!(store.recent_report_messages(report.id, 10).await.unwrap().is_empty());
    assert!(store.list_user_roles(anna.id).await.unwrap().iter().all(|r| r.id != role.id));
    store.get_user(anna.id).await.unwrap();
    let kept = store.list_audit(&AuditFilter::default(), &PageRequest::first(10).unwrap()).await.unwrap();
    let kept = kept.items.iter().find(|a| a.id == audit.id).expect("audit entries outlive their tenant");
    assert_eq!(kept.tenant_id, None);
}

async fn deleting_a_user_keeps_their_history(store: &Store) {
    let acme = tenant(store, "acme").await;
    let anna = user(store, "anna").await;
    store.grant_role(&NewUserRole { user_id: anna.id, tenant_id: None, role: Role::User }).await.unwrap();
    let mut new_job = report_job(acme.id, 1_000);
    new_job.requested_by = Some(anna.id);
    let job = store.create_job(&new_job).await.unwrap().into_job();
    assert_eq!(job.requested_by, Some(anna.id));
    let report = store.create_report(&new_report(acme.id, Some(job.id), "text")).await.unwrap();
    let question = NewReportMessage {
        report_id: report.id,
        actor_id: Some(anna.id),
        question: "q".into(),
        answer: "a".into(),
        source: MessageSource::Web,
    };
    let message = store.add_report_message(&question).await.unwrap();
    let mut audit = NewAuditLog::new(AuditAction::AuthLogin, "signed in");
    audit.actor_id = Some(anna.id);
    let audit = store.append_audit(&audit).await.unwrap();

    store.delete_user(anna.id).await.unwrap();

    assert!(store.list_user_roles(anna.id).await.unwrap().is_empty());
    assert_eq!(store.get_job(job.id).await.unwrap().requested_by, None);
    let messages = store.recent_report_messages(report.id, 10).await.unwrap();
    assert_eq!((messages[0].id, messages[0].actor_id), (message.id, None));
    let entries = store.list_audit(&AuditFilter::default(), &PageRequest::first(10).unwrap()).await.unwrap();
    assert_eq!(entries.items.iter().find(|a| a.id == audit.id).unwrap().actor_id, None);
}

async fn timestamps_and_dates_round_trip_exactly(store: &Store) {
    let acme = tenant(store, "acme").await;
    let start = Timestamp::from_unix_micros(1_772_323_261_123_456).unwrap();
    let end = start + Duration::hours(24);
    let mut job =
        NewJobRun::report(acme.id, ReportMode::CrmOnly, TriggerType::Scheduled, Window::new(start, end).unwrap());
    job.metadata = json!({"caps": {"max_pages": 50}, "note": "naïve ünïcode ✓"});
    let saved = store.create_job(&job).await.unwrap().into_job();
    let read = store.get_job(saved.id).await.unwrap();
    assert_eq!(read.window_start, Some(start), "microseconds survive");
    assert_eq!(read.window_end, Some(end));
    assert_eq!(read.metadata, job.metadata);
    assert_eq!(read, saved);

    let mut report = new_report(acme.id, None, "Отчёт за день ✓");
    report.period_start = date!(2026 - 10 - 25);
    report.period_end = date!(2026 - 10 - 26);
    let saved = store.create_report(&report).await.unwrap();
    let read = store.get_report(saved.id).await.unwrap();
    assert_eq!((read.period_start, read.period_end), (date!(2026 - 10 - 25), date!(2026 - 10 - 26)));
    assert_eq!(read.summary_text, "Отчёт за день ✓");
}

fn deal_row(tenant: &str, deal_id: i64, last_message_s: i64) -> DealRow {
    DealRow {
        tenant_id: tenant.to_owned(),
        deal_id,
        deal_name: Some(format!("Deal {deal_id}")),
        status_id: Some(142),
        status: Some("Won".into()),
        responsible: Some("Olga".into()),
        phone: Some("79001112233".into()),
        chat_id: Some(format!("c{deal_id}")),
        first_message_at: Some(ts(last_message_s - 60)),
        last_message_at: Some(ts(last_message_s)),
        messages_count: 3,
        deal_attrs_json: json!({"price": 1000}),
        contact_attrs_json: json!({"name": "Client"}),
        dialog_raw: json!([{"id": "m1", "text": "hi"}]),
        dialog_norm: "2026-03-01 10:00  client: hi\n".into(),
        updated_at: Some(ts(1_000_000 + deal_id)),
    }
}

async fn builtin_warehouse_upserts_pages_and_archives(store: &Store) {
    let acme = tenant(store, "acme").await;
    let beta = tenant(store, "beta").await;
    let warehouse = BuiltinWarehouse::new(store.clone());
    let rows: Vec<_> = (0..2_500).map(|i| deal_row("acme", i, 2_000_000 + i)).collect();
    assert_eq!(warehouse.upsert_deals(&rows).await.unwrap(), 2_500);
    warehouse.upsert_deals(&[deal_row("beta", 1, 2_000_001)]).await.unwrap();

    let mut changed = deal_row("acme", 7, 2_000_007);
    changed.status = Some("Lost".into());
    changed.messages_count = 9;
    warehouse.upsert_deals(&[changed.clone()]).await.unwrap();

    let window = Window::new(ts(2_000_000), ts(2_000_000 + 2_500)).unwrap();
    let batches: Vec<_> = warehouse.rows_in_window("acme", window, RowTime::LastMessageAt).try_collect().await.unwrap();
    assert_eq!(batches.iter().map(|b| b.items.len()).collect::<Vec<_>>(), [1000, 1000, 500], "pages of 1,000");
    let all: Vec<_> = batches.into_iter().flat_map(|b| b.items).collect();
    assert_eq!(all.len(), 2_500, "re-upserting never duplicates a deal");
    assert_eq!(all[7], changed, "an upsert replaces the row's values");
    assert_eq!(all[0], rows[0], "every field round-trips");

    let narrow = Window::new(ts(1_000_010), ts(1_000_020)).unwrap();
    let by_updated: Vec<_> = warehouse.rows_in_window("acme", narrow, RowTime::UpdatedAt).try_collect().await.unwrap();
    let ids: Vec<_> = by_updated.into_iter().flat_map(|b| b.items).map(|r| r.deal_id).collect();
    assert_eq!(ids, (10..20).collect::<Vec<_>>());
    let empty: Vec<_> = warehouse.rows_in_window("nobody", window, RowTime::LastMessageAt).try_collect().await.unwrap();
    assert!(empty.is_empty());

    let report = |id: &str, text: &str| ArchivedReport {
        tenant_id: "acme".into(),
        source_report_id: id.into(),
        period_start: "2026-03-01".into(),
        period_end: "2026-03-01".into(),
        summary_text: text.into(),
        metadata: json!({"total_deals": 3}),
        created_at: Timestamp::now(),
    };
    warehouse.archive_report(&report("r1", "first")).await.unwrap();
    warehouse.archive_report(&report("r1", "first, retried")).await.unwrap();
    warehouse.archive_report(&report("r2", "second the same day")).await.unwrap();
    let archived = store.archived_reports("acme", 10).await.unwrap();
    let mut texts: Vec<_> = archived.iter().map(|r| r.summary_text.as_str()).collect();
    texts.sort();
    assert_eq!(texts, ["first, retried", "second the same day"]);

    store.delete_tenant(acme.id).await.unwrap();
    let gone: Vec<_> = warehouse.rows_in_window("acme", window, RowTime::LastMessageAt).try_collect().await.unwrap();
    assert!(gone.is_empty(), "a deleted tenant's warehouse rows go with it");
    assert!(store.archived_reports("acme", 10).await.unwrap().is_empty());
    let _ = beta;
}

// ---- The job engine: leases, retries, deliveries, offsets, queue depth, the scheduler. ----

/// The lease the tests' workers take, and the same length for timestamp arithmetic.
const LEASE: std::time::Duration = std::time::Duration::from_secs(30);
const LEASE_LEN: Duration = Duration::seconds(30);

/// One pending report job for each of `n` new tenants (`{prefix}0`, `{prefix}1`, ...), oldest
/// first, and a time at which all of them are due.
async fn pending_jobs(store: &Store, prefix: &str, n: usize) -> (Vec<JobRun>, Timestamp) {
    let mut jobs = Vec::new();
    for i in 0..n {
        let t = tenant(store, &format!("{prefix}{i}")).await;
        jobs.push(store.create_job(&report_job(t.id, 1_000_000)).await.unwrap().into_job());
    }
    let due = jobs.iter().map(|j| j.run_after).max().unwrap() + Duration::seconds(1);
    (jobs, due)
}

async fn claimed_id(store: &Store, worker: &str, now: Timestamp) -> Option<JobId> {
    store.claim_job(worker, LEASE, now).await.unwrap().map(|j| j.id)
}

async fn claims_take_the_oldest_due_job_and_set_the_lease(store: &Store) {
    let (jobs, t0) = pending_jobs(store, "t", 3).await;
    let (a, b, c) = (&jobs[0], &jobs[1], &jobs[2]);

    let first = store.claim_job("w1", LEASE, t0).await.unwrap().expect("a due job is claimed");
    assert_eq!(first.id, a.id, "the oldest run_after first");
    assert_eq!(first.status, JobStatus::Running);
    assert_eq!(first.lease_owner.as_deref(), Some("w1"));
    assert_eq!(first.lease_expires_at, Some(t0 + LEASE_LEN));
    assert_eq!(first.attempt, 1);
    assert_eq!((first.started_at, first.updated_at, first.finished_at), (Some(t0), t0, None));
    assert_eq!(first.run_after, a.run_after);
    assert_eq!(store.get_job(a.id).await.unwrap(), first, "the claim is stored as returned");
    assert_eq!(claimed_id(store, "w2", t0).await, Some(b.id));
    assert_eq!(claimed_id(store, "w2", t0).await, Some(c.id));
    assert_eq!(claimed_id(store, "w3", t0).await, None, "a running job with a live lease is not claimable");

    // Back to pending: a with a later run_after than b and c, which share one.
    let x = t0 + Duration::seconds(10);
    assert!(store.retry_job_later(c.id, "w2", x, "transient").await.unwrap());
    assert!(store.retry_job_later(b.id, "w2", x, "transient").await.unwrap());
    assert!(store.retry_job_later(a.id, "w1", x + Duration::seconds(1), "transient").await.unwrap());
    let later = x + Duration::seconds(1);
    assert_eq!(claimed_id(store, "w4", later).await, Some(b.id), "run_after first, then created_at");
    assert_eq!(claimed_id(store, "w4", later).await, Some(c.id));
    let again = store.claim_job("w4", LEASE, later).await.unwrap().unwrap();
    assert_eq!(again.id, a.id, "a later run_after goes after older jobs whatever their creation");
    assert_eq!(again.attempt, 2);
    assert_eq!(again.started_at, Some(t0), "started_at keeps the first start");
    assert_eq!(again.lease_expires_at, Some(later + LEASE_LEN));

    assert!(matches!(store.claim_job("", LEASE, later).await, Err(StoreError::Invalid(e)) if e.field == "worker"));
    assert!(
        matches!(store.claim_job("w", std::time::Duration::ZERO, later).await, Err(StoreError::Invalid(e)) if e.field == "lease")
    );
    let forever = store.claim_job("w", std::time::Duration::MAX, later).await;
    assert!(matches!(forever, Err(StoreError::Invalid(e)) if e.field == "lease"), "a lease past the calendar");
}

async fn concurrent_workers_never_claim_a_job_twice(store: &Store) {
    let (jobs, now) = pending_jobs(store, "t", 20).await;
    let mut tasks = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let worker = format!("worker-{w}");
            let mut got = Vec::new();
            while let Some(job) = store.claim_job(&worker, LEASE, now).await.unwrap() {
                assert_eq!(job.lease_owner.as_deref(), Some(worker.as_str()));
                got.push(job.id);
            }
            (worker, got)
        }));
    }
    let mut claims = Vec::new();
    for task in tasks {
        let (worker, got) = task.await.unwrap();
        for id in got {
            claims.push((worker.clone(), id));
        }
    }
    assert_eq!(claims.len(), 20, "every job claimed exactly once: {claims:?}");
    let ids: HashSet<_> = claims.iter().map(|(_, id)| *id).collect();
    assert_eq!(ids, jobs.iter().map(|j| j.id).collect::<HashSet<_>>());
    for (worker, id) in &claims {
        let job = store.get_job(*id).await.unwrap();
        assert_eq!((job.lease_owner.as_deref(), job.attempt), (Some(worker.as_str()), 1), "{id}");
    }
}

async fn an_expired_lease_is_taken_over_and_the_old_owner_is_fenced(store: &Store) {
    let (jobs, t0) = pending_jobs(store, "t", 1).await;
    let job = jobs[0].id;
    store.claim_job("w1", LEASE, t0).await.unwrap().unwrap();
    let t1 = t0 + Duration::seconds(10);
    let state = store.extend_lease(job, "w1", LEASE, t1).await.unwrap();
    assert_eq!(state, LeaseState { held: true, cancel_requested: false });
    assert_eq!(store.get_job(job).await.unwrap().lease_expires_at, Some(t1 + LEASE_LEN));
    assert!(!store.extend_lease(job, "w2", LEASE, t1).await.unwrap().held, "only the owner extends");

    let expiry = t1 + LEASE_LEN;
    assert_eq!(claimed_id(store, "w2", expiry).await, None, "a lease is held until it has passed");
    let after = expiry + Duration::seconds(1);
    let taken = store.claim_job("w2", LEASE, after).await.unwrap().expect("an expired lease is taken over");
    assert_eq!(taken.id, job);
    assert_eq!((taken.lease_owner.as_deref(), taken.attempt), (Some("w2"), 2));
    assert_eq!(
        (taken.status, taken.started_at, taken.lease_expires_at),
        (JobStatus::Running, Some(t0), Some(after + LEASE_LEN))
    );

    let late = after + Duration::seconds(1);
    assert_eq!(
        store.extend_lease(job, "w1", LEASE, late).await.unwrap(),
        LeaseState { held: false, cancel_requested: false }
    );
    assert_eq!(store.finish_owned_job(job, "w1", JobStatus::Success, None).await.unwrap(), None);
    assert!(!store.retry_job_later(job, "w1", late, "transient").await.unwrap());
    assert_eq!(store.get_job(job).await.unwrap(), taken, "the old owner changed nothing");

    let bad = store.finish_owned_job(job, "w2", JobStatus::Running, None).await;
    assert!(matches!(bad, Err(StoreError::Invalid(e)) if e.field == "status"));
    let done = store.finish_owned_job(job, "w2", JobStatus::Success, None).await.unwrap().expect("the owner finishes");
    assert_eq!((done.status, done.progress, done.error), (JobStatus::Success, 100, None));
    assert_eq!((done.lease_owner, done.lease_expires_at), (None, None));
    assert!(done.finished_at.is_some());
    assert!(!store.extend_lease(job, "w2", LEASE, late).await.unwrap().held, "a finished job has no lease");
    assert_eq!(store.finish_owned_job(job, "w2", JobStatus::Failed, Some("x")).await.unwrap(), None);
    assert_eq!(store.get_job(job).await.unwrap().status, JobStatus::Success, "a finished job stays finished");
    assert_eq!(claimed_id(store, "w3", late + Duration::hours(1)).await, None, "a finished job is never claimed");
}

async fn a_job_whose_workers_keep_stopping_gives_up_and_the_next_is_claimed(store: &Store) {
    let a_tenant = tenant(store, "acme").await;
    let mut new = report_job(a_tenant.id, 1_000_000);
    new.max_attempts = 2;
    let a = store.create_job(&new).await.unwrap().into_job();
    let (others, t0) = pending_jobs(store, "t", 1).await;
    let b = &others[0];

    assert_eq!(claimed_id(store, "w1", t0).await, Some(a.id));
    let t1 = t0 + LEASE_LEN + Duration::seconds(1);
    let second = store.claim_job("w2", LEASE, t1).await.unwrap().unwrap();
    assert_eq!((second.id, second.attempt), (a.id, 2), "the crashed job is taken over before younger ones");
    let t2 = t1 + LEASE_LEN + Duration::seconds(1);
    let next = store.claim_job("w3", LEASE, t2).await.unwrap().expect("the next job is claimed instead");
    assert_eq!((next.id, next.lease_owner.as_deref()), (b.id, Some("w3")));

    let message = "the job's worker stopped 2 times before it finished; giving up (max_attempts = 2)";
    let failed = store.get_job(a.id).await.unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some(message));
    assert_eq!((failed.attempt, failed.finished_at), (2, Some(t2)));
    assert_eq!((failed.lease_owner, failed.lease_expires_at), (None, None));
    let events = store.list_job_events(a.id, None, 100).await.unwrap();
    let engine: Vec<_> = events.iter().filter(|e| e.step.as_deref() == Some("engine")).collect();
    let takeover = "worker w1 lost the job during attempt 1 (it stopped or lost contact and its lease ran out); \
                    worker w2 takes over with attempt 2";
    assert_eq!((engine[0].level, engine[0].message.as_str()), (EventLevel::Warn, takeover), "{engine:?}");
    assert_eq!(engine[0].data["lost_by"], json!("w1"));
    assert_eq!((engine[1].level, engine[1].message.as_str()), (EventLevel::Error, message));
    assert_eq!(engine[1].data["max_attempts"], json!(2));
    assert_eq!(store.active_report_job(a_tenant.id).await.unwrap(), None, "the tenant's slot is free again");
    assert_eq!(store.finish_owned_job(a.id, "w2", JobStatus::Success, None).await.unwrap(), None);
    assert_eq!(claimed_id(store, "w4", t2 + Duration::hours(1)).await, Some(b.id), "only b's lease can expire now");
    assert_eq!(claimed_id(store, "w5", t2 + Duration::hours(2)).await, Some(b.id));
    assert_eq!(claimed_id(store, "w6", t2 + Duration::hours(3)).await, None, "b used its 3 attempts too");
    let b = store.get_job(b.id).await.unwrap();
    assert_eq!((b.status, b.attempt), (JobStatus::Failed, 3));
    let message = "the job's worker stopped 3 times before it finished; giving up (max_attempts = 3)";
    assert_eq!(b.error.as_deref(), Some(message));
}

async fn jobs_are_not_claimed_before_run_after(store: &Store) {
    let (jobs, _) = pending_jobs(store, "t", 1).await;
    let job = &jobs[0];
    let before = job.run_after + Duration::microseconds(-1);
    assert_eq!(claimed_id(store, "w1", before).await, None);
    assert_eq!(store.get_job(job.id).await.unwrap().status, JobStatus::Pending);
    assert_eq!(claimed_id(store, "w1", job.run_after).await, Some(job.id), "due at run_after itself");
}

async fn jobs_asked_to_stop_are_never_claimed(store: &Store) {
    let (jobs, t0) = pending_jobs(store, "t", 4).await;
    let far = t0 + Duration::hours(1);
    // A pending job asked to stop.
    let cancelled = store.request_job_cancel(jobs[0].id).await.unwrap();
    assert_eq!((cancelled.status, cancelled.cancel_requested), (JobStatus::Cancelled, true));
    // A running job asked to stop whose worker then backs off: it ends instead of waiting.
    assert_eq!(claimed_id(store, "w1", t0).await, Some(jobs[1].id));
    store.request_job_cancel(jobs[1].id).await.unwrap();
    assert!(store.retry_job_later(jobs[1].id, "w1", t0, "rate limited").await.unwrap());
    let stopped = store.get_job(jobs[1].id).await.unwrap();
    assert_eq!((stopped.status, stopped.lease_owner), (JobStatus::Cancelled, None));
    assert!(stopped.finished_at.is_some());
    // A running job asked to stop whose worker died: taken over, it ends cancelled.
    assert_eq!(claimed_id(store, "w2", t0).await, Some(jobs[2].id));
    store.request_job_cancel(jobs[2].id).await.unwrap();
    let next = store.claim_job("w3", LEASE, far).await.unwrap().expect("the next job is claimed instead");
    assert_eq!(next.id, jobs[3].id);
    let ended = store.get_job(jobs[2].id).await.unwrap();
    assert_eq!((ended.status, ended.attempt, ended.lease_owner), (JobStatus::Cancelled, 1, None));
    let events = store.list_job_events(jobs[2].id, None, 10).await.unwrap();
    assert!(events.iter().any(|e| e.step.as_deref() == Some("engine")), "{events:?}");
    assert_eq!(claimed_id(store, "w4", far).await, None);
    for job in &jobs[..3] {
        assert_eq!(store.get_job(job.id).await.unwrap().status, JobStatus::Cancelled);
    }
}

async fn extend_lease_reports_a_requested_stop(store: &Store) {
    let (jobs, t0) = pending_jobs(store, "t", 1).await;
    let job = jobs[0].id;
    store.claim_job("w1", LEASE, t0).await.unwrap().unwrap();
    let t1 = t0 + Duration::seconds(5);
    assert_eq!(
        store.extend_lease(job, "w1", LEASE, t1).await.unwrap(),
        LeaseState { held: true, cancel_requested: false }
    );
    let flagged = store.request_job_cancel(job).await.unwrap();
    assert_eq!((flagged.status, flagged.cancel_requested), (JobStatus::Running, true));
    let t2 = t1 + Duration::seconds(5);
    assert_eq!(
        store.extend_lease(job, "w1", LEASE, t2).await.unwrap(),
        LeaseState { held: true, cancel_requested: true }
    );
    let done = store.finish_owned_job(job, "w1", JobStatus::Cancelled, None).await.unwrap().unwrap();
    assert_eq!(done.status, JobStatus::Cancelled);
    assert!(!store.extend_lease(JobId::new(), "w1", LEASE, t2).await.unwrap().held, "an unknown job");
}

async fn retry_later_makes_a_job_claimable_again_at_run_after(store: &Store) {
    let (jobs, t0) = pending_jobs(store, "t", 1).await;
    let job = jobs[0].id;
    store.claim_job("w1", LEASE, t0).await.unwrap().unwrap();
    let at = t0 + Duration::seconds(60);
    assert!(store.retry_job_later(job, "w1", at, "radist: rate limited").await.unwrap());
    let waiting = store.get_job(job).await.unwrap();
    assert_eq!((waiting.status, waiting.run_after), (JobStatus::Pending, at));
    assert_eq!(waiting.error.as_deref(), Some("radist: rate limited"));
    assert_eq!((waiting.lease_owner, waiting.lease_expires_at, waiting.attempt), (None, None, 1));
    assert_eq!(store.active_report_job(jobs[0].tenant_id).await.unwrap().map(|j| j.id), Some(job), "keeps its slot");
    assert!(!store.retry_job_later(job, "w1", at, "again").await.unwrap(), "a pending job has no owner");

    assert_eq!(claimed_id(store, "w2", at + Duration::seconds(-1)).await, None);
    let again = store.claim_job("w2", LEASE, at).await.unwrap().expect("claimable at run_after");
    assert_eq!((again.id, again.attempt, again.lease_owner.as_deref()), (job, 2, Some("w2")));
}

async fn delivery_setup(store: &Store, slug: &str) -> (Tenant, JobId, Report) {
    let t = tenant(store, slug).await;
    let job = store.create_job(&report_job(t.id, 1_000_000)).await.unwrap().into_job().id;
    let report = store.create_report(&new_report(t.id, Some(job), "Report")).await.unwrap();
    (t, job, report)
}

async fn deliveries_happen_once(store: &Store) {
    let (_, job, report) = delivery_setup(store, "acme").await;
    let t0 = ts(1_800_000_000);
    assert_eq!(store.get_delivery(report.id).await.unwrap(), None);
    assert_eq!(
        store.begin_delivery(report.id, Some(job), "telegram", t0, false).await.unwrap(),
        DeliveryStart::Started
    );
    let sending = store.get_delivery(report.id).await.unwrap().unwrap();
    assert_eq!(
        (sending.state, sending.messages, sending.started_at, sending.finished_at),
        (DeliveryState::Sending, 0, t0, None)
    );
    assert_eq!((sending.job_id, sending.channel.as_str()), (Some(job), "telegram"));

    let t1 = t0 + Duration::seconds(3);
    let sent = store.finish_delivery(report.id, DeliveryState::Sent, 3, None, t1).await.unwrap();
    assert_eq!((sent.state, sent.messages, sent.finished_at), (DeliveryState::Sent, 3, Some(t1)));
    let again = store.begin_delivery(report.id, Some(job), "telegram", t1 + Duration::minutes(5), false).await.unwrap();
    assert_eq!(again, DeliveryStart::AlreadySent(sent.clone()));
    assert_eq!(store.get_delivery(report.id).await.unwrap(), Some(sent.clone()), "nothing changed");
    let overwrite = store.finish_delivery(report.id, DeliveryState::Failed, 0, Some("x"), t1).await.unwrap();
    assert_eq!(overwrite, sent, "a sent delivery stays sent");

    let bad = store.finish_delivery(report.id, DeliveryState::Sending, 0, None, t1).await;
    assert!(matches!(bad, Err(StoreError::Invalid(e)) if e.field == "state"));
    let none = store.finish_delivery(ReportId::new(), DeliveryState::Sent, 1, None, t1).await;
    assert!(matches!(none, Err(StoreError::NotFound { entity: "delivery" })), "{none:?}");
    let orphan = store.begin_delivery(ReportId::new(), None, "telegram", t0, false).await;
    assert!(matches!(orphan, Err(StoreError::NotFound { .. })), "{orphan:?}");
}

async fn a_delivery_abandoned_mid_send_has_an_unknown_outcome(store: &Store) {
    let (_, job, report) = delivery_setup(store, "acme").await;
    let t0 = ts(1_800_000_000);
    assert_eq!(
        store.begin_delivery(report.id, Some(job), "telegram", t0, false).await.unwrap(),
        DeliveryStart::Started
    );
    // The worker died before finish_delivery; the job's next attempt begins again.
    let t1 = t0 + Duration::minutes(2);
    let DeliveryStart::OutcomeUnknown(unknown) =
        store.begin_delivery(report.id, Some(job), "telegram", t1, false).await.unwrap()
    else {
        panic!("a delivery left in sending must not be sent again")
    };
    assert_eq!((unknown.state, unknown.started_at, unknown.finished_at), (DeliveryState::Unknown, t0, Some(t1)));
    assert!(unknown.error.is_some());
    assert_eq!(store.get_delivery(report.id).await.unwrap(), Some(unknown.clone()));
    let third = store.begin_delivery(report.id, Some(job), "telegram", t1 + Duration::minutes(2), false).await.unwrap();
    assert_eq!(third, DeliveryStart::OutcomeUnknown(unknown), "unknown stays unknown");
}

async fn a_failed_delivery_is_sent_again_only_when_asked(store: &Store) {
    let (_, job, report) = delivery_setup(store, "acme").await;
    let t0 = ts(1_800_000_000);
    assert_eq!(
        store.begin_delivery(report.id, Some(job), "telegram", t0, false).await.unwrap(),
        DeliveryStart::Started
    );
    let t1 = t0 + Duration::seconds(1);
    let failed = store.finish_delivery(report.id, DeliveryState::Failed, 0, Some("telegram: 403"), t1).await.unwrap();
    assert_eq!((failed.state, failed.error.as_deref()), (DeliveryState::Failed, Some("telegram: 403")));
    assert!(failed.needs_attention());

    let t2 = t0 + Duration::minutes(1);
    let again = store.begin_delivery(report.id, Some(job), "telegram", t2, false).await.unwrap();
    assert_eq!(again, DeliveryStart::Failed(failed), "a failed delivery is not sent again by itself");
    assert_eq!(store.begin_delivery(report.id, None, "telegram", t2, true).await.unwrap(), DeliveryStart::Started);
    let resent = store.get_delivery(report.id).await.unwrap().unwrap();
    assert_eq!(
        (resent.state, resent.error, resent.started_at, resent.finished_at, resent.attempts),
        (DeliveryState::Sending, None, t2, None, 2)
    );
    let sent = store.finish_delivery(report.id, DeliveryState::Sent, 2, None, t2).await.unwrap();
    assert_eq!((sent.state, sent.messages), (DeliveryState::Sent, 2));
    let after = store.begin_delivery(report.id, None, "telegram", t2, true).await.unwrap();
    assert_eq!(after, DeliveryStart::AlreadySent(sent), "a sent delivery is never sent again, even when asked");
}

async fn a_retryable_failure_waits_for_its_retry(store: &Store) {
    let (_, job, report) = delivery_setup(store, "acme").await;
    let t0 = ts(1_800_000_000);
    store.begin_delivery(report.id, Some(job), "telegram", t0, false).await.unwrap();
    let (next, give_up) = (t0 + Duration::minutes(1), t0 + Duration::hours(4));
    let retrying = store.retry_delivery(report.id, "telegram: 502", next, give_up, t0).await.unwrap();
    assert_eq!(
        (retrying.state, retrying.next_attempt_at, retrying.give_up_at, retrying.error.as_deref()),
        (DeliveryState::Retrying, Some(next), Some(give_up), Some("telegram: 502"))
    );
    assert!(!retrying.needs_attention());
    // The retry starts sending again; the give-up time stays the first failure's.
    assert_eq!(store.begin_delivery(report.id, None, "telegram", next, false).await.unwrap(), DeliveryStart::Started);
    let later = t0 + Duration::hours(9);
    let again = store.retry_delivery(report.id, "telegram: 502", later, later, next).await.unwrap();
    assert_eq!((again.attempts, again.give_up_at), (2, Some(give_up)));
    let counts = store.delivery_counts().await.unwrap();
    assert_eq!(counts, vec![(DeliveryState::Retrying, 1)]);
}

async fn a_job_that_gives_up_settles_its_delivery_as_unknown(store: &Store) {
    let (acme, job, report) = delivery_setup(store, "acme").await;
    let t0 = ts(1_800_000_000);
    let lease = std::time::Duration::from_secs(30);
    // Each attempt's worker dies; the last one while sending.
    for n in 0..3 {
        let at = t0 + Duration::minutes(n * 10);
        let claimed = store.claim_job(&format!("node-a-{n}"), lease, at).await.unwrap().unwrap();
        assert_eq!(claimed.id, job);
    }
    store.begin_delivery(report.id, Some(job), "telegram", t0 + Duration::minutes(20), false).await.unwrap();
    let none = store.claim_job("node-b-0", lease, t0 + Duration::minutes(30)).await.unwrap();
    assert!(none.is_none(), "the job used its attempts");
    let ended = store.get_job(job).await.unwrap();
    assert_eq!(ended.status, JobStatus::Failed);
    let delivery = store.get_delivery(report.id).await.unwrap().unwrap();
    assert_eq!(delivery.state, DeliveryState::Unknown, "ending the job settles its delivery at once");
    let events = store.list_job_events(job, None, 50).await.unwrap();
    assert!(events.iter().any(|e| e.message.starts_with("outcome unknown")), "{events:?}");
    assert!(
        events.iter().any(|e| e.message.contains("node-a-0 lost the job during attempt 1")),
        "a take-over says which worker lost it: {events:?}"
    );
    let audit = store
        .list_audit(
            &synkro::domain::AuditFilter { tenant_id: Some(acme.id), ..Default::default() },
            &PageRequest::first(10).unwrap(),
        )
        .await
        .unwrap();
    assert!(audit.items.iter().any(|a| a.action == "report.delivery_unknown"), "{:?}", audit.items);
}

async fn deliveries_go_with_their_report(store: &Store) {
    let (acme, job, report) = delivery_setup(store, "acme").await;
    let (_, beta_job, beta_report) = delivery_setup(store, "beta").await;
    let t0 = ts(1_800_000_000);
    store.begin_delivery(report.id, Some(job), "telegram", t0, false).await.unwrap();
    store.begin_delivery(beta_report.id, Some(beta_job), "telegram", t0, false).await.unwrap();
    store.delete_tenant(acme.id).await.unwrap();
    assert_eq!(store.get_delivery(report.id).await.unwrap(), None, "the delivery goes with its report");
    assert_eq!(store.get_delivery(beta_report.id).await.unwrap().unwrap().job_id, Some(beta_job));
}

async fn report_for_job_finds_the_jobs_report(store: &Store) {
    let (acme, job, report) = delivery_setup(store, "acme").await;
    assert_eq!(store.report_for_job(job).await.unwrap(), Some(report));
    store.finish_job(job, JobStatus::Failed, Some("x")).await.unwrap();
    let other = store.create_job(&report_job(acme.id, 2_000_000)).await.unwrap().into_job();
    assert_eq!(store.report_for_job(other.id).await.unwrap(), None);
    store.create_report(&new_report(acme.id, None, "forced")).await.unwrap();
    assert_eq!(store.report_for_job(other.id).await.unwrap(), None, "a report without a job belongs to none");
}

async fn queue_depth_counts_due_later_and_running(store: &Store) {
    let (jobs, t0) = pending_jobs(store, "t", 4).await;
    assert_eq!(store.queue_depth(t0).await.unwrap(), QueueDepth { pending_due: 4, pending_later: 0, running: 0 });
    assert_eq!(
        store.queue_depth(jobs[0].run_after + Duration::seconds(-1)).await.unwrap(),
        QueueDepth { pending_due: 0, pending_later: 4, running: 0 }
    );
    assert_eq!(claimed_id(store, "w1", t0).await, Some(jobs[0].id));
    assert_eq!(claimed_id(store, "w1", t0).await, Some(jobs[1].id));
    assert!(store.retry_job_later(jobs[1].id, "w1", t0 + Duration::seconds(60), "later").await.unwrap());
    store.finish_job(jobs[3].id, JobStatus::Cancelled, None).await.unwrap();
    assert_eq!(store.queue_depth(t0).await.unwrap(), QueueDepth { pending_due: 1, pending_later: 1, running: 1 });
    let t1 = t0 + Duration::seconds(60);
    assert_eq!(store.queue_depth(t1).await.unwrap(), QueueDepth { pending_due: 2, pending_later: 0, running: 1 });
    store.finish_owned_job(jobs[0].id, "w1", JobStatus::Success, None).await.unwrap().unwrap();
    assert_eq!(store.queue_depth(t1).await.unwrap(), QueueDepth { pending_due: 2, pending_later: 0, running: 0 });
}

async fn tenants_due_are_active_with_the_schedule_on(store: &Store) {
    let acme = tenant(store, "acme").await;
    let off = tenant(store, "off").await;
    let paused = tenant(store, "paused").await;
    let never_saved = tenant(store, "never-saved").await;
    let zeta = tenant(store, "zeta").await;
    let mut configs = Vec::new();
    for t in [&acme, &off, &paused, &zeta] {
        let mut config = store.get_runtime_config(t.id).await.unwrap();
        config.is_schedule_enabled = t.id != off.id;
        config.scheduled_run_time = time::macros::time!(07:45);
        configs.push(store.put_runtime_config(&config).await.unwrap());
    }
    let update = TenantUpdate { status: Some(TenantStatus::Paused), ..Default::default() };
    store.update_tenant(paused.id, &update).await.unwrap();

    let due = store.tenants_due().await.unwrap();
    let ids: Vec<_> = due.iter().map(|(t, _)| t.id).collect();
    assert_eq!(
        ids,
        [acme.id, never_saved.id, zeta.id],
        "only active tenants with the schedule on (a never-saved tenant runs on the defaults), oldest first"
    );
    assert_eq!(due[0], (store.get_tenant(acme.id).await.unwrap(), configs[0].clone()), "every field of both");
    assert_eq!(due[1].1, store.get_runtime_config(never_saved.id).await.unwrap(), "the defaults the API shows");
    assert_eq!(due[2], (store.get_tenant(zeta.id).await.unwrap(), configs[3].clone()));
    assert_eq!(due[0].1.timezone, due[0].0.timezone, "one time zone");

    store.delete_tenant(acme.id).await.unwrap();
    let ids: Vec<_> = store.tenants_due().await.unwrap().into_iter().map(|(t, _)| t.id).collect();
    assert_eq!(ids, [never_saved.id, zeta.id]);
}

async fn sessions_live_until_revoked_or_expired(store: &Store) {
    use synkro::store::NewSession;
    let anna = store.create_user(&NewUser::new("anna").unwrap()).await.unwrap();
    let now = Timestamp::now();
    let in_an_hour = Timestamp::from_unix_seconds(now.unix_seconds() + 3600).unwrap();
    let new = |id: char, expires_at| NewSession {
        id: id.to_string().repeat(64),
        user_id: anna.id,
        csrf_token: "c".repeat(64),
        expires_at,
        ip: Some("203.0.113.7".into()),
    };
    let live = store.create_session(&new('a', in_an_hour)).await.unwrap();
    assert_eq!(live.ip.as_deref(), Some("203.0.113.7"));
    assert!(!format!("{live:?}").contains(&"c".repeat(64)), "Debug hides the CSRF token");
    assert_eq!(store.get_live_session(&live.id, now).await.unwrap().unwrap().user_id, anna.id);

    let past = Timestamp::from_unix_seconds(now.unix_seconds() - 1).unwrap();
    let expired = store.create_session(&new('b', past)).await.unwrap();
    assert_eq!(store.get_live_session(&expired.id, now).await.unwrap(), None, "expired sessions are dead");

    let bad = NewSession { id: "not-a-digest".into(), ..new('c', in_an_hour) };
    assert!(matches!(store.create_session(&bad).await, Err(StoreError::Invalid(e)) if e.field == "id"));

    assert!(store.revoke_session(&live.id).await.unwrap());
    assert!(!store.revoke_session(&live.id).await.unwrap(), "revoking twice reports nothing to do");
    assert_eq!(store.get_live_session(&live.id, now).await.unwrap(), None);

    let other = store.create_session(&new('d', in_an_hour)).await.unwrap();
    assert_eq!(store.revoke_user_sessions(anna.id).await.unwrap(), 1);
    assert_eq!(store.get_live_session(&other.id, now).await.unwrap(), None);
    assert_eq!(store.delete_expired_sessions(now).await.unwrap(), 1, "only the expired one is deleted");

    store.create_session(&new('e', in_an_hour)).await.unwrap();
    store.delete_user(anna.id).await.unwrap();
    assert_eq!(store.get_live_session(&"e".repeat(64), now).await.unwrap(), None, "sessions go with their user");
}

async fn report_lists_filter_by_status_and_period_and_trends_read_totals(store: &Store) {
    let acme = tenant(store, "acme").await;
    let day = |d: u8| time::Date::from_calendar_date(2026, time::Month::March, d).unwrap();
    let mut made = Vec::new();
    for (d, status, deals) in [(1, ReportStatus::Sent, 3), (2, ReportStatus::Failed, 5), (3, ReportStatus::Sent, 8)] {
        let mut new = new_report(acme.id, None, "text");
        (new.period_start, new.period_end, new.status) = (day(d), day(d), status);
        new.summary = Summary {
            total_deals: deals,
            deals_with_dialogs: deals - 1,
            total_messages: deals * 10,
            ..Summary::default()
        };
        made.push(store.create_report(&new).await.unwrap());
    }
    let list = |filter: ReportFilter| async move {
        let page = store.list_report_items(acme.id, &filter, &PageRequest::first(10).unwrap()).await.unwrap();
        page.items.iter().map(|r| r.period_start.day()).collect::<Vec<_>>()
    };
    assert_eq!(list(ReportFilter::default()).await, [3, 2, 1]);
    assert_eq!(list(ReportFilter { status: Some(ReportStatus::Sent), ..Default::default() }).await, [3, 1]);
    assert_eq!(
        list(ReportFilter { from: Some(day(2)), ..Default::default() }).await,
        [3, 2],
        "periods ending from the 2nd"
    );
    assert_eq!(
        list(ReportFilter { to: Some(day(2)), ..Default::default() }).await,
        [2, 1],
        "periods starting by the 2nd"
    );
    let both = ReportFilter { status: Some(ReportStatus::Sent), from: Some(day(2)), to: Some(day(3)) };
    assert_eq!(list(both).await, [3]);

    let totals = store.report_totals(acme.id, 2).await.unwrap();
    let read: Vec<_> = totals.iter().map(|t| (t.id, t.total_deals, t.deals_with_dialogs, t.total_messages)).collect();
    assert_eq!(
        read,
        [(made[2].id, Some(8), Some(7), Some(80)), (made[1].id, Some(5), Some(4), Some(50))],
        "newest first"
    );
    assert!(store.report_totals(tenant(store, "empty").await.id, 30).await.unwrap().is_empty());
}
