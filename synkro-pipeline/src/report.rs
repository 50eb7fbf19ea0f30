//! One report job, step by step as DESIGN.md section 7 describes: check the configuration, sync
//! the sources into the warehouse, load the window's rows, summarise, write the text, save and
//! archive the report, deliver it. Each step sets the job's step and progress and writes an
//! event. Effects happen once: a re-run finds the report it already saved and a delivery that
//! already happened (or may have happened) is not repeated.

use std::{collections::HashSet, sync::atomic::AtomicBool};

use futures::StreamExt;
use serde_json::{Value, json};
use synkro_core::{
    connector::{CompletionRequest, DealRow, Dialog, RowTime, Truncation, Warehouse},
    domain::{
        AuditAction, EventLevel, JobRun, NewAuditLog, NewJobEvent, NewReport, Report, ReportMode, ReportStatus,
        ReportType, Tenant, TenantRuntimeConfig, TenantStatus, TriggerType, Window,
    },
    store::{Constraint, StoreError},
    time::Timestamp,
};
use tokio_util::sync::CancellationToken;

use crate::{
    ai_text,
    delivery::deliver,
    error::JobFailure,
    events::JobUpdate,
    merge::{Merger, dialog_rows},
    summary::{SummaryBuilder, keep_row},
    window::period_dates,
    wiring::{TenantCapabilities, build_tenant},
    workers::RunEnv,
};

/// Writes a job's progress: the job row, an event, and an update for subscribers.
pub(crate) struct Progress<'a> {
    env: &'a RunEnv,
    job: &'a JobRun,
}

impl<'a> Progress<'a> {
    pub(crate) fn new(env: &'a RunEnv, job: &'a JobRun) -> Self {
        Self { env, job }
    }

    /// Moves to `step` at `progress` % and logs `message`.
    pub(crate) async fn step(&self, step: &str, progress: u8, message: impl Into<String>, data: Value) {
        if let Err(e) = self.env.store().update_job_progress(self.job.id, step, progress).await {
            tracing::warn!(job = %self.job.id, error = %e, "progress not saved");
        }
        self.note(EventLevel::Info, step, message, data, progress).await;
    }

    /// Logs an event without moving.
    pub(crate) async fn note(
        &self,
        level: EventLevel,
        step: &str,
        message: impl Into<String>,
        data: Value,
        progress: u8,
    ) {
        let event =
            NewJobEvent { job_id: self.job.id, level, step: Some(step.to_owned()), message: message.into(), data };
        let saved = match self.env.store().append_job_event(&event).await {
            Ok(saved) => Some(saved),
            Err(e) => {
                tracing::warn!(job = %self.job.id, error = %e, "job event not saved");
                None
            }
        };
        self.env
            .service
            .shared()
            .hub
            .publish(JobUpdate {
                job_id: self.job.id,
                tenant_id: self.job.tenant_id,
                status: synkro_core::domain::JobStatus::Running,
                step: Some(step.to_owned()),
                progress,
                event: saved,
                origin: String::new(),
            })
            .await;
    }
}

/// What a successful run produced.
#[derive(Debug, Clone)]
pub struct ReportDone {
    /// The saved report.
    pub report: Report,
    /// Whether it reached the messenger.
    pub delivered: bool,
}

fn checkpoint(cancel: &CancellationToken) -> Result<(), JobFailure> {
    if cancel.is_cancelled() { Err(JobFailure::Cancelled) } else { Ok(()) }
}

/// Logs a cap that cut a source's data, and keeps it for the report's metadata.
async fn record_truncation(p: &Progress<'_>, cut: Option<&Truncation>, kept: &mut Vec<Value>, progress: u8) {
    if let Some(t) = cut {
        let note = json!({"cap": t.cap, "limit": t.limit, "message": t.message});
        p.note(EventLevel::Warn, "sync_sources", t.message.clone(), note.clone(), progress).await;
        kept.push(note);
    }
}

/// Runs a report job to the end (or to its first failure).
pub(crate) async fn run_report(
    env: &RunEnv,
    job: &JobRun,
    cancel: &CancellationToken,
    sending: &AtomicBool,
) -> Result<ReportDone, JobFailure> {
    let p = Progress::new(env, job);
    let store = env.store();

    // 1. Configuration.
    let tenant = store.get_tenant(job.tenant_id).await.map_err(|e| JobFailure::from_store("tenant", e))?;
    if tenant.status != TenantStatus::Active {
        return Err(JobFailure::fatal(format!(
            "the tenant is {}: reports are off until an admin sets its status back to active",
            tenant.status
        )));
    }
    let config = store.get_runtime_config(tenant.id).await.map_err(|e| JobFailure::from_store("runtime config", e))?;
    let mode = job.mode.unwrap_or(config.mode);
    let window = match (job.window_start, job.window_end) {
        (Some(start), Some(end)) => Window::new(start, end).map_err(|e| JobFailure::fatal(e.to_string()))?,
        _ => return Err(JobFailure::fatal("the job has no window")),
    };
    let caps =
        build_tenant(&env.service, &tenant, mode).await.map_err(|e| JobFailure::from_connector("configuration", e))?;
    let sources: Vec<Value> = caps.sources.iter().map(|(c, k)| json!({"capability": c, "kind": k})).collect();
    p.step(
        "check_config",
        5,
        format!(
            "configuration complete for mode {mode}{}",
            if caps.builtin_warehouse { " (built-in warehouse)" } else { "" }
        ),
        json!({"mode": mode, "window_start": window.start(), "window_end": window.end(), "sources": sources}),
    )
    .await;
    checkpoint(cancel)?;

    // 2. Sources → warehouse.
    let mut truncations = Vec::new();
    let synced = sync_sources(&p, &tenant, &config, mode, window, &caps, cancel, &mut truncations).await?;
    p.step("sync_sources", 25, format!("{} rows written to the warehouse", synced.rows), json!(synced.as_json())).await;
    checkpoint(cancel)?;

    // 3. Rows of the window: only those this run wrote. The warehouse may hold rows of the same
    // window written by other modes (Radist-only rows with synthetic ids, deals another mode
    // joined differently) or by earlier runs; a report counts what its own mode produced.
    let by = if mode == ReportMode::CrmOnly { RowTime::UpdatedAt } else { RowTime::LastMessageAt };
    let mut builder = SummaryBuilder::new(20);
    let mut loaded = 0u64;
    let mut rows = caps.warehouse.rows_in_window(tenant.slug.as_str(), window, by);
    while let Some(batch) = rows.next().await {
        let batch = batch.map_err(|e| JobFailure::from_connector("loading rows", e))?;
        let own = batch.items.iter().filter(|r| synced.written.contains(&r.deal_id));
        for row in own.filter(|r| keep_row(r, mode, config.min_dialogs_for_report)) {
            builder.add(row);
            loaded += 1;
        }
        checkpoint(cancel)?;
    }
    drop(rows);
    p.step("load_rows", 45, format!("{loaded} rows in the window"), json!({"rows": loaded})).await;

    // 4. Summary.
    let (summary, previews) = builder.finish();
    p.step(
        "summary",
        65,
        format!("{} deals, {} messages", summary.total_deals, summary.total_messages),
        json!(summary),
    )
    .await;
    checkpoint(cancel)?;

    // 5. AI text (or the fallback).
    let context = ai_text::build_context(&tenant.name, mode, window, &config.timezone, &summary, &previews);
    let prompt = config.metadata.get("prompt").and_then(Value::as_str).unwrap_or(ai_text::DEFAULT_PROMPT).to_owned();
    let mut ai_meta = json!({"fallback": false});
    let text = match &caps.llm {
        None => {
            ai_meta = json!({"fallback": true, "error": "no AI integration is configured"});
            ai_text::fallback_report(&tenant.name, window, &config.timezone, &summary)
        }
        Some(llm) => {
            let request =
                CompletionRequest { system: prompt, context, temperature: Some(0.2), max_output_tokens: 2000 };
            match llm.complete(&request).await {
                Ok(done) => {
                    ai_meta = json!({"fallback": false, "model": done.model, "truncated": done.truncated});
                    done.text
                }
                Err(e) => {
                    p.note(
                        EventLevel::Warn,
                        "ai_text",
                        format!("AI failed, using the plain report: {e}"),
                        json!({}),
                        70,
                    )
                    .await;
                    ai_meta = json!({"fallback": true, "error": e.to_string(), "class": e.class});
                    ai_text::fallback_report(&tenant.name, window, &config.timezone, &summary)
                }
            }
        }
    };
    if let Some((_, kind)) = caps.sources.iter().find(|(c, _)| *c == synkro_core::connector::Capability::LanguageModel)
    {
        ai_meta["integration"] = json!(kind);
    }
    p.step("ai_text", 75, "report text ready", ai_meta.clone()).await;
    checkpoint(cancel)?;

    // 6. Save and archive (once per job).
    let (period_start, period_end) = period_dates(window, &config.timezone);
    let metadata = json!({
        "mode": mode, "trigger": job.trigger_type, "summary": summary, "ai": ai_meta,
        "warehouse": if caps.builtin_warehouse { "builtin" } else { "integration" },
        "truncations": truncations,
    });
    let report_type = if job.trigger_type == TriggerType::Scheduled { ReportType::Daily } else { ReportType::Forced };
    let new_report = NewReport {
        tenant_id: tenant.id,
        job_id: Some(job.id),
        period_start,
        period_end,
        window,
        report_type,
        status: ReportStatus::Ready,
        summary_text: text,
        metadata,
        data_ref: Some(if caps.builtin_warehouse {
            "builtin:warehouse_deals".into()
        } else {
            "integration:deals".into()
        }),
        followup_deadline_at: Some(
            Timestamp::now() + time::Duration::minutes(i64::from(config.telegram_followup_minutes)),
        ),
    };
    let report = match store.create_report(&new_report).await {
        Ok(report) => report,
        Err(StoreError::Conflict(Constraint::ReportPerJob)) => {
            let existing = store.report_for_job(job.id).await.map_err(|e| JobFailure::from_store("report", e))?;
            let existing = existing.ok_or_else(|| JobFailure::fatal("the job's report vanished"))?;
            p.note(
                EventLevel::Info,
                "save_report",
                "the report was saved by an earlier attempt; reusing it",
                json!({"report_id": existing.id}),
                82,
            )
            .await;
            existing
        }
        Err(e) => return Err(JobFailure::from_store("saving the report", e)),
    };
    let archived = synkro_core::connector::ArchivedReport {
        tenant_id: tenant.slug.to_string(),
        source_report_id: report.id.to_string(),
        period_start: period_start.to_string(),
        period_end: period_end.to_string(),
        summary_text: report.summary_text.clone(),
        metadata: report.metadata.clone(),
        created_at: report.created_at,
    };
    caps.warehouse
        .archive_report(&archived)
        .await
        .map_err(|e| JobFailure::from_connector("archiving the report", e))?;
    p.step("save_report", 82, "report saved and archived", json!({"report_id": report.id})).await;

    // 7. Delivery.
    let (report, delivered) = deliver(env, &p, job, &tenant, report, caps.messenger(), false, sending).await?;

    // 8. Done.
    let mut audit =
        NewAuditLog::new(AuditAction::ReportBuild, format!("report for {period_start} – {period_end} built"));
    audit.tenant_id = Some(tenant.id);
    audit.actor_id = job.requested_by;
    audit.metadata = json!({"job_id": job.id, "report_id": report.id, "delivered": delivered});
    if let Err(e) = store.append_audit(&audit).await {
        tracing::warn!(error = %e, "audit entry not saved");
    }
    p.step(
        "done",
        100,
        if delivered { "report built and delivered" } else { "report built" },
        json!({"report_id": report.id}),
    )
    .await;
    Ok(ReportDone { report, delivered })
}

/// What step 2 read and wrote.
#[derive(Default)]
struct Synced {
    deals: u64,
    dialogs: u64,
    rows: u64,
    /// The deal ids of every row this run wrote (step 3 counts only these).
    written: HashSet<i64>,
}

impl Synced {
    /// Upserts `rows` and remembers their ids.
    async fn write(&mut self, warehouse: &dyn Warehouse, rows: &[DealRow]) -> Result<(), JobFailure> {
        self.rows += warehouse.upsert_deals(rows).await.map_err(|e| JobFailure::from_connector("warehouse", e))?;
        self.written.extend(rows.iter().map(|r| r.deal_id));
        Ok(())
    }
}

impl Synced {
    fn as_json(&self) -> Value {
        json!({"deals": self.deals, "dialogs": self.dialogs, "rows_written": self.rows})
    }
}

#[allow(clippy::too_many_arguments)]
async fn sync_sources(
    p: &Progress<'_>,
    tenant: &Tenant,
    config: &TenantRuntimeConfig,
    mode: ReportMode,
    window: Window,
    caps: &TenantCapabilities,
    cancel: &CancellationToken,
    truncations: &mut Vec<Value>,
) -> Result<Synced, JobFailure> {
    let slug = tenant.slug.as_str();
    // Only crm_chats joins dialogs to deals; otherwise remembering deals would only cost
    // memory in proportion to the window.
    let mut merger = if mode == ReportMode::CrmChats {
        Merger::new(slug, &config.timezone)
    } else {
        Merger::deals_only(slug, &config.timezone)
    };
    let mut synced = Synced::default();
    let warehouse = &caps.warehouse;
    if let Some(crm) = caps.crm.as_ref().filter(|_| mode.uses_crm()) {
        let mut deals = crm.deals(window);
        while let Some(batch) = deals.next().await {
            let batch = batch.map_err(|e| JobFailure::from_connector("reading deals", e))?;
            record_truncation(p, batch.truncated.as_ref(), truncations, 15).await;
            synced.deals += batch.items.len() as u64;
            let rows = merger.add_deals(batch.items);
            synced.write(warehouse.as_ref(), &rows).await?;
            checkpoint(cancel)?;
        }
        let read = synced.deals;
        p.note(EventLevel::Info, "sync_sources", format!("{read} deals read"), json!({"deals": read}), 15).await;
    }
    if let Some(chat) = caps.chat.as_ref().filter(|_| mode.uses_chats()) {
        let phones = (mode == ReportMode::CrmChats).then(|| std::sync::Arc::new(merger.phones()));
        let mut dialogs = chat.dialogs(window, phones);
        while let Some(batch) = dialogs.next().await {
            let batch = batch.map_err(|e| JobFailure::from_connector("reading dialogs", e))?;
            record_truncation(p, batch.truncated.as_ref(), truncations, 20).await;
            synced.dialogs += batch.items.len() as u64;
            let dialogs: &[Dialog] = &batch.items;
            let rows = if mode == ReportMode::ChatsOnly {
                dialog_rows(slug, &config.timezone, dialogs)
            } else {
                merger.add_dialogs(dialogs)
            };
            synced.write(warehouse.as_ref(), &rows).await?;
            checkpoint(cancel)?;
        }
        let read = synced.dialogs;
        p.note(EventLevel::Info, "sync_sources", format!("{read} dialogs read"), json!({"dialogs": read}), 20).await;
    }
    Ok(synced)
}
