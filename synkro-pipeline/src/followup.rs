//! Follow-up questions: answered by the AI from the report text, its summary numbers and the
//! last six questions and answers; both are stored. In Telegram the bot answers mentions about
//! the tenant's latest report until its follow-up deadline, and after it says when the window
//! closed (in the tenant's time) and where to ask instead. Each bot's updates are read by one
//! node at a time and consumed once (a lease and an offset per bot in the database), however
//! many tenants and nodes share it.

use std::time::Duration;

use synkro_core::{
    connector::{ChatMove, CompletionRequest, ConnectorError, Delivery, FailureClass, Questions},
    domain::{Language, MessageSource, NewReportMessage, Report, ReportMessage, Tenant, TenantStatus},
    ids::{ReportId, UserId},
    time::{TimeZoneName, Timestamp},
};

use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{
    ai_text,
    error::EngineError,
    service::Service,
    telegram::{Member, members_by_inbox},
    words::words,
};

/// Questions and answers of a report the AI sees.
const HISTORY: u32 = 6;

impl Service {
    /// Answers `question` about `report` (asked by `actor`, through `source`) and stores both.
    #[tracing::instrument(name = "followup", skip_all, fields(report = %report))]
    pub async fn ask(
        &self,
        report: ReportId,
        actor: Option<UserId>,
        question: &str,
        source: MessageSource,
    ) -> Result<ReportMessage, EngineError> {
        ask(self, report, actor, question, source).await
    }
}

async fn ask(
    service: &Service,
    report: ReportId,
    actor: Option<UserId>,
    question: &str,
    source: MessageSource,
) -> Result<ReportMessage, EngineError> {
    let store = service.store();
    let report = store.get_report(report).await?;
    let tenant = store.get_tenant(report.tenant_id).await?;
    let language = store.get_runtime_config(tenant.id).await?.language;
    answer(service, &report, &tenant, language, actor, question, source).await
}

/// Answers `question` about `report` of `tenant` (already read) in `language` and stores both.
async fn answer(
    service: &Service,
    report: &Report,
    tenant: &Tenant,
    language: Language,
    actor: Option<UserId>,
    question: &str,
    source: MessageSource,
) -> Result<ReportMessage, EngineError> {
    let store = service.store();
    if tenant.status != TenantStatus::Active {
        return Err(EngineError::TenantInactive(tenant.status));
    }
    // Follow-ups only need the AI: another integration that is broken or went missing since the
    // report must not block them.
    let llm = crate::wiring::build_language_model(service, tenant).await?.ok_or_else(|| {
        EngineError::Connector(
            ConnectorError::new(FailureClass::Config, "the tenant has no AI integration")
                .with_hint("add an AI integration to answer follow-up questions"),
        )
    })?;
    let history: Vec<(String, String)> =
        store.recent_report_messages(report.id, HISTORY).await?.into_iter().map(|m| (m.question, m.answer)).collect();
    let (system, context) =
        ai_text::followup_context(language, &report.summary_text, report.summary.as_ref(), &history, question);
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

/// How Telegram follow-ups run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramFollowups {
    /// How often each bot's updates are read.
    pub interval: Duration,
    /// The dashboard's address without a trailing slash (`SYNKRO_PUBLIC_URL`): the reply to a
    /// question asked too late links to it.
    pub public_url: Option<String>,
}

impl TelegramFollowups {
    /// Reading every `interval`, no dashboard link.
    pub fn new(interval: Duration) -> Self {
        Self { interval, public_url: None }
    }

    /// Links replies to the dashboard at `url` (such as `Config::public_url`).
    pub fn with_public_url(mut self, url: Option<String>) -> Self {
        self.public_url = url.map(|u| u.trim_end_matches('/').to_owned());
        self
    }

    /// How long one bot's pass may take.
    fn time_limit(&self) -> Duration {
        self.interval * 4
    }

    /// How long a node holds a bot's lease without saving progress; well past the time limit,
    /// so a live poller never loses its bot, and a dead one's bot is taken over after it.
    fn lease(&self) -> Duration {
        (self.interval * 12).max(Duration::from_secs(1))
    }
}

/// What one Telegram pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TelegramPass {
    /// Bots whose updates this node read.
    pub polled: usize,
    /// Bots another node is reading (it holds their lease).
    pub busy: usize,
    /// Questions answered.
    pub answered: usize,
    /// Questions told the window is closed (or that there is no report).
    pub closed: usize,
    /// Questions the AI could not answer (the reply says so).
    pub failed: usize,
}

impl TelegramPass {
    fn add(&mut self, other: TelegramPass) {
        self.polled += other.polled;
        self.busy += other.busy;
        self.answered += other.answered;
        self.closed += other.closed;
        self.failed += other.failed;
    }

    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Answered => self.answered += 1,
            Outcome::Closed => self.closed += 1,
            Outcome::Failed => self.failed += 1,
        }
    }
}

/// What the reply to a question says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The AI's answer.
    Answered,
    /// That the window is closed, or that there is no report yet.
    Closed,
    /// That answering failed.
    Failed,
}

/// One pass over every bot the active tenants use. A bot's updates are one stream for every
/// chat it is in (Telegram confirms them for the whole bot and allows one poller), so each bot
/// is read once, by the node holding its lease in the database, from its one saved offset;
/// bots another node holds are skipped. Chat moves are stored; each question is answered for
/// every active tenant whose chat it was asked in, about that tenant's latest report (`now`
/// decides whether its window is still open). Bots are read concurrently, each within a time
/// limit.
pub async fn telegram_pass(
    service: &Service,
    settings: &TelegramFollowups,
    now: Timestamp,
) -> Result<TelegramPass, EngineError> {
    let inboxes = members_by_inbox(service).await?;
    let passes = inboxes.into_iter().map(|(inbox, mut members)| async move {
        let read = read_inbox(service, settings, &inbox, &mut members, now)
            .instrument(tracing::info_span!("telegram_bot", bot = %inbox));
        match tokio::time::timeout(settings.time_limit(), read).await {
            Ok(Ok(pass)) => pass,
            Ok(Err(e)) => {
                tracing::warn!(inbox = %inbox, error = %e, "telegram follow-ups failed");
                TelegramPass { polled: 1, ..Default::default() }
            }
            Err(_) => {
                tracing::warn!(inbox = %inbox, "telegram follow-ups timed out");
                TelegramPass { polled: 1, ..Default::default() }
            }
        }
    });
    let mut total = TelegramPass::default();
    for pass in futures::future::join_all(passes).await {
        total.add(pass);
    }
    Ok(total)
}

/// Reads one bot's new updates, if this node holds (or takes) its lease, and answers them.
async fn read_inbox(
    service: &Service,
    settings: &TelegramFollowups,
    inbox: &str,
    members: &mut [Member],
    now: Timestamp,
) -> Result<TelegramPass, EngineError> {
    let store = service.store();
    let owner = service.node();
    let Some(poller) = store.lease_telegram_poller(inbox, owner, settings.lease(), Timestamp::now()).await? else {
        return Ok(TelegramPass { busy: 1, ..Default::default() });
    };
    let mut pass = TelegramPass { polled: 1, ..Default::default() };
    let batch = read_questions(members, poller.next_offset).await?;
    for moved in &batch.moves {
        for member in members.iter_mut() {
            member.follow(service, moved).await;
        }
    }
    for question in &batch.questions {
        for member in members.iter_mut().filter(|m| m.asked_in(&question.chat_id)) {
            let span = tracing::info_span!("followup", tenant = %member.tenant.id);
            let (reply, outcome) =
                reply_to(service, settings, &member.tenant, &question.text, now).instrument(span).await;
            pass.count(outcome);
            match member.messenger.reply(question.message_id, &reply).await {
                Ok(Delivery { moved_to: Some(to), .. }) => {
                    let moved = ChatMove { from: member.chat().to_owned(), to };
                    member.follow(service, &moved).await;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(tenant = %member.tenant.id, error = %e, "telegram reply not sent"),
            }
        }
        let saved =
            store.save_telegram_offset(inbox, owner, question.update_id + 1, settings.lease(), Timestamp::now());
        if saved.await?.is_none() {
            tracing::warn!(inbox, "another node took over this bot's updates; stopping");
            return Ok(pass);
        }
    }
    if let Some(next) = batch.next_offset {
        store.save_telegram_offset(inbox, owner, next, settings.lease(), Timestamp::now()).await?;
    }
    Ok(pass)
}

/// The bot's questions since `offset`, read with the first member's messenger whose token
/// works (one tenant's token may have been revoked while another's is current).
async fn read_questions(members: &[Member], offset: Option<i64>) -> Result<Questions, EngineError> {
    let mut refused = None;
    for member in members {
        match member.messenger.questions(offset).await {
            Ok(batch) => return Ok(batch),
            Err(e) if e.class == FailureClass::Auth => refused = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    Err(refused.map_or_else(|| EngineError::Other("no tenant uses this bot".into()), EngineError::from))
}

/// The reply to `question` for `tenant`, about its latest report, in the tenant's language.
async fn reply_to(
    service: &Service,
    settings: &TelegramFollowups,
    tenant: &Tenant,
    question: &str,
    now: Timestamp,
) -> (String, Outcome) {
    let store = service.store();
    let language = match store.get_runtime_config(tenant.id).await {
        Ok(config) => config.language,
        Err(e) => return (cannot_answer(Language::default(), &e.into()), Outcome::Failed),
    };
    let failed = |e: EngineError| (cannot_answer(language, &e), Outcome::Failed);
    let latest = match store.latest_report(tenant.id).await {
        Ok(latest) => latest,
        Err(e) => return failed(e.into()),
    };
    match latest {
        Some(report) if report.followup_deadline_at.is_some_and(|d| d > now) => {
            match answer(service, &report, tenant, language, None, question, MessageSource::Telegram).await {
                Ok(message) => (message.answer, Outcome::Answered),
                Err(e) => failed(e),
            }
        }
        Some(report) => {
            let reply = closed_window_reply(
                language,
                report.followup_deadline_at,
                &tenant.timezone,
                settings.public_url.as_deref(),
            );
            (reply, Outcome::Closed)
        }
        None => (words(language).no_reports_yet.to_owned(), Outcome::Closed),
    }
}

/// The reply when a question cannot be answered: why, in the tenant's words (a failure class,
/// never a service's own text); the error itself goes to the log.
fn cannot_answer(language: Language, e: &EngineError) -> String {
    tracing::warn!(error = %e, "a follow-up question was not answered");
    let w = words(language);
    let why = match e {
        EngineError::Connector(c) => (w.ai_failure)(c.class),
        EngineError::TenantInactive(_) => w.tenant_paused,
        _ => w.internal_error,
    };
    (w.cannot_answer)(why)
}

/// The reply to a question asked after the latest report's follow-up window closed: when it
/// closed, in the tenant's time zone, and where to ask instead (the dashboard's address when
/// one is configured).
pub fn closed_window_reply(
    language: Language,
    deadline: Option<Timestamp>,
    zone: &TimeZoneName,
    public_url: Option<&str>,
) -> String {
    let w = words(language);
    let when = deadline
        .map(|d| {
            let local = zone.zone().to_datetime(d.to_jiff());
            format!(" {} ({zone})", local.strftime(w.deadline_format))
        })
        .unwrap_or_default();
    format!("{} {}", (w.window_closed)(&when), (w.ask_in_dashboard)(public_url))
}

/// Runs [`telegram_pass`] every `settings.interval` until `shutdown`, then gives up this node's
/// leases so another node reads those bots at once.
pub(crate) async fn run_telegram(service: Service, settings: TelegramFollowups, shutdown: CancellationToken) {
    loop {
        if let Err(e) = telegram_pass(&service, &settings, Timestamp::now()).await {
            tracing::warn!(error = %e, "telegram follow-ups failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.interval) => {}
            _ = shutdown.cancelled() => break,
        }
    }
    if let Err(e) = service.store().release_telegram_pollers(service.node()).await {
        tracing::warn!(error = %e, "telegram leases not released; other nodes take over when they expire");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_window_is_told_in_the_tenants_time_with_the_dashboard_link() {
        let deadline: Timestamp = "2026-12-05T20:00:00Z".parse().unwrap();
        let zone = TimeZoneName::new("Asia/Almaty").unwrap();
        let reply = closed_window_reply(Language::Ru, Some(deadline), &zone, Some("https://synkro.example.com"));
        assert_eq!(
            reply,
            "Окно вопросов по последнему отчёту закрылось 06.12.2026 в 01:00 (Asia/Almaty). Задать вопрос по \
             отчёту можно в панели Synkro: https://synkro.example.com/"
        );
        let reply = closed_window_reply(Language::Ru, Some(deadline), &TimeZoneName::utc(), None);
        assert_eq!(
            reply,
            "Окно вопросов по последнему отчёту закрылось 05.12.2026 в 20:00 (UTC). Задать вопрос по отчёту можно \
             в веб-панели Synkro."
        );
        assert!(!closed_window_reply(Language::Ru, None, &zone, None).contains("кабинет"));
        let english = closed_window_reply(Language::En, Some(deadline), &zone, Some("https://synkro.example.com"));
        assert_eq!(
            english,
            "Questions about the latest report closed 2026-12-06 at 01:00 (Asia/Almaty). Ask about the report in \
             the Synkro dashboard: https://synkro.example.com/"
        );
    }

    #[test]
    fn an_unanswered_question_says_why_in_words_without_the_services_text() {
        let refused = ConnectorError::new(FailureClass::Auth, "401 {\"error\": \"sk-live-canary\"}");
        let reply = cannot_answer(Language::En, &EngineError::Connector(refused));
        assert_eq!(reply, "Could not answer: the AI key was refused.");
        let reply = cannot_answer(Language::Ru, &EngineError::TenantInactive(TenantStatus::Paused));
        assert_eq!(reply, "Не получилось ответить: работа компании в Synkro приостановлена.");
        let reply = cannot_answer(Language::Ru, &EngineError::Other("db exploded at 10.0.0.5".into()));
        assert!(!reply.contains("10.0.0.5"), "{reply}");
    }
}
