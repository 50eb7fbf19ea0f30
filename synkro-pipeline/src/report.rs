//! One report job, step by step as DESIGN.md section 7 describes: check the configuration, sync
//! the sources into the warehouse, load the window's rows, summarise, write the text, save and
//! archive the report, deliver it. Each step sets the job's step and progress and writes an
//! event. Effects happen once: a re-run finds the report it already saved and a delivery that
//! already happened (or may have happened) is not repeated.

use std::{collections::HashSet, sync::atomic::AtomicBool};

use futures::StreamExt;
use serde_json::{Value, json};
use synkro_core::{
    connector::{ArchivedReport, Capability, CompletionRequest, DealRow, Dialog, RowTime, Truncation, Warehouse},
    domain::{
        AiOutcome, Analytics, AuditAction, EventLevel, JobRun, JobStatus, NewAuditLog, NewJobEvent, NewReport, Report,
        ReportMode, ReportStatus, ReportType, Summary, Tenant, TenantRuntimeConfig, TenantStatus, TriggerType, Window,
    },
    store::{AlertKind, Constraint, StoreError},
    time::Timestamp,
};
use tokio_util::sync::CancellationToken;

use crate::{
    ai_text,
    analytics::{AnalyticsBuilder, ResponseClock},
    delivery::deliver,
    error::JobFailure,
    events::JobUpdate,
    merge::{Merger, dialog_rows},
    summary::{DealPreview, SummaryBuilder, keep_row},
    window::period_dates,
    wiring::{TenantCapabilities, build_tenant},
    workers::RunEnv,
};

/// The steps of a job, in order (DESIGN.md section 7), each with its name in the job log and
/// the progress (0-100) reached when it ends. A delivery job runs `CheckConfig`, `Deliver` and
/// `Done`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// The tenant, its settings and integrations are read and built.
    CheckConfig,
    /// The sources are read into the warehouse.
    SyncSources,
    /// The window's rows written by this run are loaded.
    LoadRows,
    /// The numbers are counted.
    Summary,
    /// The AI writes the text (or the fallback is used).
    AiText,
    /// The report is saved and archived.
    SaveReport,
    /// The report goes to the messenger.
    Deliver,
    /// The job is finished.
    Done,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 8] = [
        Step::CheckConfig,
        Step::SyncSources,
        Step::LoadRows,
        Step::Summary,
        Step::AiText,
        Step::SaveReport,
        Step::Deliver,
        Step::Done,
    ];

    /// The name in the job's `current_step` and its events.
    pub const fn name(self) -> &'static str {
        match self {
            Step::CheckConfig => "check_config",
            Step::SyncSources => "sync_sources",
            Step::LoadRows => "load_rows",
            Step::Summary => "summary",
            Step::AiText => "ai_text",
            Step::SaveReport => "save_report",
            Step::Deliver => "deliver",
            Step::Done => "done",
        }
    }

    /// The progress when the step ends.
    pub const fn progress(self) -> u8 {
        match self {
            Step::CheckConfig => 5,
            Step::SyncSources => 25,
            Step::LoadRows => 45,
            Step::Summary => 65,
            Step::AiText => 75,
            Step::SaveReport => 82,
            Step::Deliver => 95,
            Step::Done => 100,
        }
    }

    /// The progress while the step runs: where the one before ended.
    pub const fn started(self) -> u8 {
        match self {
            Step::CheckConfig => 0,
            Step::SyncSources => Step::CheckConfig.progress(),
            Step::LoadRows => Step::SyncSources.progress(),
            Step::Summary => Step::LoadRows.progress(),
            Step::AiText => Step::Summary.progress(),
            Step::SaveReport => Step::AiText.progress(),
            Step::Deliver => Step::SaveReport.progress(),
            Step::Done => Step::Deliver.progress(),
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Writes a job's progress: the job row, an event, and an update for subscribers.
pub(crate) struct Progress<'a> {
    env: &'a RunEnv,
    job: &'a JobRun,
}

impl<'a> Progress<'a> {
    pub(crate) fn new(env: &'a RunEnv, job: &'a JobRun) -> Self {
        Self { env, job }
    }

    /// Ends `step` (its progress) and logs `message`.
    pub(crate) async fn step(&self, step: Step, message: impl Into<String>, data: Value) {
        if let Err(e) = self.env.store().update_job_progress(self.job.id, step.name(), step.progress()).await {
            tracing::warn!(job = %self.job.id, error = %e, "progress not saved");
        }
        self.event(EventLevel::Info, step, message, data, step.progress()).await;
    }

    /// Logs an event while `step` runs, without moving.
    pub(crate) async fn note(&self, level: EventLevel, step: Step, message: impl Into<String>, data: Value) {
        self.event(level, step, message, data, step.started()).await;
    }

    async fn event(&self, level: EventLevel, step: Step, message: impl Into<String>, data: Value, progress: u8) {
        let step = step.name();
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
            .publish(JobUpdate::of(self.job, JobStatus::Running, Some(step.to_owned()), progress, saved))
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
async fn record_truncation(p: &Progress<'_>, cut: Option<&Truncation>, kept: &mut Vec<Value>) {
    if let Some(t) = cut {
        let note = json!({"cap": t.cap, "limit": t.limit, "message": t.message});
        p.note(EventLevel::Warn, Step::SyncSources, t.message.clone(), note.clone()).await;
        kept.push(note);
    }
}

/// A report job's run: what the steps share.
struct Run<'a> {
    env: &'a RunEnv,
    job: &'a JobRun,
    p: Progress<'a>,
    cancel: &'a CancellationToken,
    tenant: Tenant,
    config: TenantRuntimeConfig,
    mode: ReportMode,
    window: Window,
    caps: TenantCapabilities,
}

/// Runs a report job to the end (or to its first failure), one function per step.
pub(crate) async fn run_report(
    env: &RunEnv,
    job: &JobRun,
    cancel: &CancellationToken,
    sending: &AtomicBool,
) -> Result<ReportDone, JobFailure> {
    let run = Run::check_config(env, job, cancel).await?;
    let mut truncations = Vec::new();
    let synced = run.sync_sources(&mut truncations).await?;
    let (builder, analytics) = run.load_rows(&synced).await?;
    let (summary, previews) = run.summarize(builder).await?;
    let analytics = analytics.finish();
    let (text, ai) = run.write_text(&summary, &analytics, &previews).await?;
    let report = run.save_report(text, summary, ai, analytics, truncations).await?;
    let (report, delivered) =
        deliver(env, &run.p, job, &run.tenant, run.config.language, report, run.caps.messenger(), false, sending)
            .await?;
    if let (TriggerType::Scheduled, Some(class)) = (job.trigger_type, report.ai.as_ref().and_then(|ai| ai.class)) {
        let why = |language| ai_text::failure_text(language, class).to_owned();
        crate::alerts::raise(&env.service, &run.tenant, run.window, AlertKind::Fallback, why).await;
    }
    run.done(&report, delivered).await;
    Ok(ReportDone { report, delivered })
}

impl<'a> Run<'a> {
    /// Step 1: the tenant (active), its settings, the job's window, the integrations the mode needs.
    async fn check_config(env: &'a RunEnv, job: &'a JobRun, cancel: &'a CancellationToken) -> Result<Self, JobFailure> {
        let store = env.store();
        let tenant = store.get_tenant(job.tenant_id).await.map_err(|e| JobFailure::from_store("tenant", e))?;
        if tenant.status != TenantStatus::Active {
            return Err(JobFailure::fatal(format!(
                "the tenant is {}: reports are off until an admin sets its status back to active",
                tenant.status
            )));
        }
        let config =
            store.get_runtime_config(tenant.id).await.map_err(|e| JobFailure::from_store("runtime config", e))?;
        let mode = job.mode.unwrap_or(config.mode);
        let window = match (job.window_start, job.window_end) {
            (Some(start), Some(end)) => Window::new(start, end).map_err(|e| JobFailure::fatal(e.to_string()))?,
            _ => return Err(JobFailure::fatal("the job has no window")),
        };
        let caps = build_tenant(&env.service, &tenant, mode)
            .await
            .map_err(|e| JobFailure::from_connector("configuration", e))?;
        let p = Progress::new(env, job);
        let sources: Vec<Value> = caps.sources.iter().map(|(c, k)| json!({"capability": c, "kind": k})).collect();
        let warehouse = if caps.builtin_warehouse { " (built-in warehouse)" } else { "" };
        p.step(
            Step::CheckConfig,
            format!("configuration complete for mode {mode}{warehouse}"),
            json!({"mode": mode, "window_start": window.start(), "window_end": window.end(), "sources": sources}),
        )
        .await;
        checkpoint(cancel)?;
        Ok(Self { env, job, p, cancel, tenant, config, mode, window, caps })
    }

    /// Step 2: sources → warehouse.
    async fn sync_sources(&self, truncations: &mut Vec<Value>) -> Result<Synced, JobFailure> {
        let synced = sync_sources(
            &self.p,
            &self.tenant,
            &self.config,
            self.mode,
            self.window,
            &self.caps,
            self.cancel,
            truncations,
        )
        .await?;
        let message = format!("{} rows written to the warehouse", synced.rows);
        self.p.step(Step::SyncSources, message, json!(synced.as_json())).await;
        checkpoint(self.cancel)?;
        Ok(synced)
    }

    /// Step 3, the rows of the window: only those this run wrote. The warehouse may hold rows
    /// of the same window written by other modes (chat-only rows with synthetic ids, deals
    /// another mode joined differently) or by earlier runs; a report counts what its own mode
    /// produced.
    async fn load_rows(&self, synced: &Synced) -> Result<(SummaryBuilder, AnalyticsBuilder), JobFailure> {
        let by = if self.mode == ReportMode::CrmOnly { RowTime::UpdatedAt } else { RowTime::LastMessageAt };
        let mut builder = SummaryBuilder::new(20);
        let clock = ResponseClock::new(self.config.working_hours, &self.config.timezone);
        let mut analytics = AnalyticsBuilder::new(self.mode, self.window, 20).with_clock(clock);
        analytics.read_from_sources(Some(synced.deals), Some(synced.unmatched));
        let mut loaded = 0u64;
        let mut rows = self.caps.warehouse.rows_in_window(self.tenant.slug.as_str(), self.window, by);
        while let Some(batch) = rows.next().await {
            let batch = batch.map_err(|e| JobFailure::from_connector("loading rows", e))?;
            let own = batch.items.iter().filter(|r| synced.written.contains(&r.deal_id));
            for row in own.filter(|r| keep_row(r, self.mode, self.config.min_dialogs_for_report)) {
                builder.add(row);
                analytics.add(row);
                loaded += 1;
            }
            checkpoint(self.cancel)?;
        }
        drop(rows);
        self.p.step(Step::LoadRows, format!("{loaded} rows in the window"), json!({"rows": loaded})).await;
        Ok((builder, analytics))
    }

    /// Step 4: the numbers.
    async fn summarize(&self, builder: SummaryBuilder) -> Result<(Summary, Vec<DealPreview>), JobFailure> {
        let (summary, previews) = builder.finish();
        let message = format!("{} deals, {} messages", summary.total_deals, summary.total_messages);
        self.p.step(Step::Summary, message, json!(summary)).await;
        checkpoint(self.cancel)?;
        Ok((summary, previews))
    }

    /// Step 5: the AI's text, or the plain fallback when there is no AI or it fails.
    async fn write_text(
        &self,
        summary: &Summary,
        analytics: &Analytics,
        previews: &[DealPreview],
    ) -> Result<(String, AiOutcome), JobFailure> {
        let (tenant, config) = (&self.tenant, &self.config);
        let language = config.language;
        let facts = ai_text::ReportFacts {
            tenant_name: &tenant.name,
            mode: self.mode,
            window: self.window,
            timezone: &config.timezone,
            language,
            summary,
            analytics,
        };
        let context = ai_text::build_context(&facts, previews);
        let prompt = config.prompt.as_deref().unwrap_or(ai_text::default_prompt(language));
        let fallback = |why: &str| ai_text::fallback_report(&facts, why);
        let integration =
            self.caps.sources.iter().find(|(c, _)| *c == Capability::LanguageModel).map(|(_, k)| k.clone());
        let (text, ai) = match &self.caps.llm {
            None => {
                let error = Some("no AI integration is configured".to_owned());
                (fallback(ai_text::no_ai_text(language)), AiOutcome { fallback: true, error, ..AiOutcome::default() })
            }
            Some(llm) => {
                let request = CompletionRequest {
                    system: prompt.to_owned(),
                    context,
                    temperature: Some(0.2),
                    max_output_tokens: 2000,
                };
                match llm.complete(&request).await {
                    Ok(done) => {
                        let outcome =
                            AiOutcome { model: Some(done.model), truncated: done.truncated, ..AiOutcome::default() };
                        (done.text, outcome)
                    }
                    Err(e) => {
                        let message = format!("AI failed, using the plain report: {e}");
                        self.p.note(EventLevel::Warn, Step::AiText, message, json!({})).await;
                        let why = ai_text::failure_text(language, e.class);
                        let outcome = AiOutcome {
                            fallback: true,
                            error: Some(e.to_string()),
                            class: Some(e.class),
                            ..AiOutcome::default()
                        };
                        (fallback(why), outcome)
                    }
                }
            }
        };
        let ai = AiOutcome { integration, ..ai };
        self.p.step(Step::AiText, "report text ready", json!(ai)).await;
        checkpoint(self.cancel)?;
        Ok((text, ai))
    }

    /// Step 6: save and archive, once per job: a re-run finds the report it saved.
    async fn save_report(
        &self,
        text: String,
        summary: Summary,
        ai: AiOutcome,
        analytics: Analytics,
        truncations: Vec<Value>,
    ) -> Result<Report, JobFailure> {
        let (store, job, tenant) = (self.env.store(), self.job, &self.tenant);
        let (period_start, period_end) = period_dates(self.window, &self.config.timezone);
        let metadata = json!({
            "mode": self.mode, "trigger": job.trigger_type,
            "warehouse": if self.caps.builtin_warehouse { "builtin" } else { "integration" },
            "truncations": truncations,
        });
        let report_type =
            if job.trigger_type == TriggerType::Scheduled { ReportType::Daily } else { ReportType::Forced };
        let data_ref = if self.caps.builtin_warehouse { "builtin:warehouse_deals" } else { "integration:deals" };
        let followup = time::Duration::minutes(i64::from(self.config.telegram_followup_minutes));
        let new_report = NewReport {
            tenant_id: tenant.id,
            job_id: Some(job.id),
            period_start,
            period_end,
            window: self.window,
            report_type,
            status: ReportStatus::Ready,
            summary_text: text,
            summary,
            ai,
            analytics,
            metadata,
            data_ref: Some(data_ref.to_owned()),
            followup_deadline_at: Some(Timestamp::now() + followup),
        };
        let report = match store.create_report(&new_report).await {
            Ok(report) => report,
            Err(StoreError::Conflict(Constraint::ReportPerJob)) => {
                let existing = store.report_for_job(job.id).await.map_err(|e| JobFailure::from_store("report", e))?;
                let existing = existing.ok_or_else(|| JobFailure::fatal("the job's report vanished"))?;
                let message = "the report was saved by an earlier attempt; reusing it";
                self.p.note(EventLevel::Info, Step::SaveReport, message, json!({"report_id": existing.id})).await;
                existing
            }
            Err(e) => return Err(JobFailure::from_store("saving the report", e)),
        };
        // The archive keeps everything in one document, as the tenant's own table stores it.
        let mut archived_metadata = report.metadata.clone();
        if let Some(object) = archived_metadata.as_object_mut() {
            object.insert("summary".to_owned(), json!(report.summary));
            object.insert("ai".to_owned(), json!(report.ai));
            object.insert("analytics".to_owned(), json!(report.analytics));
        }
        let archived = ArchivedReport {
            tenant_id: tenant.slug.to_string(),
            source_report_id: report.id.to_string(),
            period_start: period_start.to_string(),
            period_end: period_end.to_string(),
            summary_text: report.summary_text.clone(),
            metadata: archived_metadata,
            created_at: report.created_at,
        };
        self.caps
            .warehouse
            .archive_report(&archived)
            .await
            .map_err(|e| JobFailure::from_connector("archiving the report", e))?;
        self.p.step(Step::SaveReport, "report saved and archived", json!({"report_id": report.id})).await;
        Ok(report)
    }

    /// Step 8 (after delivery, step 7): the audit entry, and the job's last step.
    async fn done(&self, report: &Report, delivered: bool) {
        let (period_start, period_end) = (report.period_start, report.period_end);
        let mut audit =
            NewAuditLog::new(AuditAction::ReportBuild, format!("report for {period_start} – {period_end} built"));
        audit.tenant_id = Some(self.tenant.id);
        audit.actor_id = self.job.requested_by;
        audit.metadata = json!({"job_id": self.job.id, "report_id": report.id, "delivered": delivered});
        if let Err(e) = self.env.store().append_audit(&audit).await {
            tracing::warn!(error = %e, "audit entry not saved");
        }
        let message = if delivered { "report built and delivered" } else { "report built" };
        self.p.step(Step::Done, message, json!({"report_id": report.id})).await;
    }
}

/// What step 2 read and wrote.
#[derive(Default)]
struct Synced {
    deals: u64,
    dialogs: u64,
    /// Chats active in the window that matched no deal (`crm_chats`).
    unmatched: u64,
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
        json!({"deals": self.deals, "dialogs": self.dialogs, "dialogs_without_deal": self.unmatched,
            "rows_written": self.rows})
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
            record_truncation(p, batch.truncated.as_ref(), truncations).await;
            synced.deals += batch.items.len() as u64;
            let rows = merger.add_deals(batch.items);
            synced.write(warehouse.as_ref(), &rows).await?;
            checkpoint(cancel)?;
        }
        let read = synced.deals;
        p.note(EventLevel::Info, Step::SyncSources, format!("{read} deals read"), json!({"deals": read})).await;
    }
    if let Some(chat) = caps.chat.as_ref().filter(|_| mode.uses_chats()) {
        let phones = (mode == ReportMode::CrmChats).then(|| std::sync::Arc::new(merger.phones()));
        let mut dialogs = chat.dialogs(window, phones);
        while let Some(batch) = dialogs.next().await {
            let batch = batch.map_err(|e| JobFailure::from_connector("reading dialogs", e))?;
            record_truncation(p, batch.truncated.as_ref(), truncations).await;
            synced.dialogs += batch.items.len() as u64;
            synced.unmatched += batch.unmatched;
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
        p.note(EventLevel::Info, Step::SyncSources, format!("{read} dialogs read"), json!({"dialogs": read})).await;
    }
    Ok(synced)
}
