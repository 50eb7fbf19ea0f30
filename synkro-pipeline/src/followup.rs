//! Follow-up questions: answered by the AI from the report text, its summary numbers and the
//! last six questions and answers; both are stored. In Telegram the bot answers mentions about
//! the tenant's latest report until its follow-up deadline, and says the window is closed after
//! it; updates are consumed once (the offset is stored).

use serde_json::Value;
use synkro_core::{
    connector::{CompletionRequest, ConnectorError, FailureClass},
    domain::{MessageSource, NewReportMessage, ReportMessage, TenantStatus},
    ids::{ReportId, TenantId, UserId},
    time::Timestamp,
};

use crate::{ai_text, engine::Engine, error::EngineError, wiring::build_tenant};

/// Questions and answers of a report the AI sees.
const HISTORY: u32 = 6;

/// Answers `question` about `report` and stores both.
pub async fn ask(
    engine: &Engine,
    report: ReportId,
    actor: Option<UserId>,
    question: &str,
    source: MessageSource,
) -> Result<ReportMessage, EngineError> {
    let store = engine.store();
    let report = store.get_report(report).await?;
    let tenant = store.get_tenant(report.tenant_id).await?;
    if tenant.status != TenantStatus::Active {
        return Err(EngineError::TenantInactive(tenant.status));
    }
    // Follow-ups only need the AI: another integration that is broken or went missing since the
    // report must not block them.
    let llm = crate::wiring::build_language_model(engine, &tenant).await?.ok_or_else(|| {
        EngineError::Connector(
            ConnectorError::new(FailureClass::Config, "the tenant has no AI integration")
                .with_hint("add an AI integration to answer follow-up questions"),
        )
    })?;
    let history: Vec<(String, String)> =
        store.recent_report_messages(report.id, HISTORY).await?.into_iter().map(|m| (m.question, m.answer)).collect();
    let summary = report.metadata.get("summary").cloned().unwrap_or(Value::Null);
    let (system, context) = ai_text::followup_context(&report.summary_text, &summary, &history, question);
    let answer =
        llm.complete(&CompletionRequest { system, context, temperature: Some(0.2), max_output_tokens: 800 }).await?;
    let message = NewReportMessage {
        report_id: report.id,
        actor_id: actor,
        question: question.to_owned(),
        answer: answer.text,
        source,
    };
    Ok(store.add_report_message(&message).await?)
}

/// What one Telegram pass did for a tenant.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TelegramPass {
    /// Questions answered.
    pub answered: usize,
    /// Questions told the window is closed (or that there is no report).
    pub closed: usize,
}

/// Reads new questions from the tenant's Telegram chat and answers them.
pub async fn telegram_pass(engine: &Engine, tenant: TenantId, now: Timestamp) -> Result<TelegramPass, EngineError> {
    let store = engine.store();
    let tenant = store.get_tenant(tenant).await?;
    let caps =
        build_tenant(store, engine.registry(), engine.keyring(), engine.connector_context(), &tenant, None).await;
    let Some(messenger) = caps.ok().and_then(|c| c.messenger) else {
        return Ok(TelegramPass::default());
    };
    let offset = store.telegram_offset(tenant.id).await?;
    let batch = messenger.questions(offset).await?;
    let latest = store.latest_report(tenant.id).await?;
    let mut pass = TelegramPass::default();
    for question in &batch.questions {
        let reply = match &latest {
            Some(report) if report.followup_deadline_at.is_some_and(|d| d > now) => {
                match ask(engine, report.id, None, &question.text, MessageSource::Telegram).await {
                    Ok(message) => {
                        pass.answered += 1;
                        message.answer
                    }
                    Err(e) => format!("Не получилось ответить: {e}"),
                }
            }
            Some(report) => {
                pass.closed += 1;
                let deadline = report.followup_deadline_at.map(|d| d.to_string()).unwrap_or_default();
                format!("Окно вопросов по последнему отчёту закрыто ({deadline}). Задайте вопрос в личном кабинете.")
            }
            None => {
                pass.closed += 1;
                "Отчётов пока нет.".to_owned()
            }
        };
        messenger.reply(question.message_id, &reply).await?;
        store.set_telegram_offset(tenant.id, question.update_id + 1, Timestamp::now()).await?;
    }
    if let Some(next) = batch.next_offset {
        store.set_telegram_offset(tenant.id, next, Timestamp::now()).await?;
    }
    Ok(pass)
}

/// Polls every active tenant's Telegram chat every `interval` until the engine shuts down,
/// answering questions about the latest report. Tenants are polled concurrently, each under a
/// time limit, so one slow chat does not hold up the others.
pub(crate) async fn run_telegram(engine: Engine, interval: std::time::Duration) {
    let shutdown = engine.shutdown_token().clone();
    loop {
        match engine.store().list_active_tenants().await {
            Ok(tenants) => {
                let passes = tenants.iter().map(|t| {
                    let engine = engine.clone();
                    let id = t.id;
                    async move {
                        match tokio::time::timeout(interval * 4, telegram_pass(&engine, id, Timestamp::now())).await {
                            Ok(Err(e)) => tracing::warn!(tenant = %id, error = %e, "telegram follow-ups failed"),
                            Err(_) => tracing::warn!(tenant = %id, "telegram follow-ups timed out"),
                            Ok(Ok(_)) => {}
                        }
                    }
                });
                futures::future::join_all(passes).await;
            }
            Err(e) => tracing::warn!(error = %e, "cannot list tenants for follow-ups"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}
