//! `synkro report run`: a manual report from the terminal (and `synkro report resend`: a
//! report whose delivery is unknown or failed, sent again). The job runs on workers in this
//! process (and on any other worker sharing the database); `--follow` shows a progress bar and
//! the step log as it happens. Ctrl-C asks the job to stop.

use std::{io::IsTerminal, str::FromStr, time::Duration};

use crate::{
    bootstrap::Opened,
    domain::{ReportMode, Slug},
    ids::{JobEventId, ReportId},
    pipeline::{EngineError, ReportRequest, Workers},
    store::DeliveryState,
    time::{TimeZoneName, Timestamp},
};
use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

/// Arguments of `synkro report run`.
#[derive(Args)]
pub struct RunArgs {
    /// The tenant's slug.
    #[arg(long)]
    tenant: String,
    /// Window start: RFC 3339 (`2026-12-03T22:01:00+01:00`) or a local time in the tenant's
    /// zone (`2026-12-03 22:01`). Without --from and --to, the last closed business day.
    #[arg(long, requires = "to")]
    from: Option<String>,
    /// Window end, like --from.
    #[arg(long, requires = "from")]
    to: Option<String>,
    /// Report mode instead of the tenant's: crm_chats, chats_only or crm_only (the old names
    /// amocrm_radist, radist_only and amocrm_only are accepted too).
    #[arg(long)]
    mode: Option<String>,
    /// Show a progress bar and the step log while the job runs.
    #[arg(long)]
    follow: bool,
}

/// Reads a time given on the command line: RFC 3339, or a local date and time in `zone`.
pub fn parse_time(flag: &'static str, text: &str, zone: &TimeZoneName) -> anyhow::Result<Timestamp> {
    Ok(zone.parse_time(flag, text)?)
}

/// Runs the command; fails (exit code 1) unless the job succeeds.
#[allow(clippy::print_stdout)]
pub async fn run(opened: &Opened, workers: &Workers, args: RunArgs) -> anyhow::Result<()> {
    let store = &opened.store;
    let slug = Slug::new(&args.tenant)?;
    let tenant = match store.get_tenant_by_slug(&slug).await {
        Ok(t) => t,
        Err(crate::StoreError::NotFound { .. }) => {
            bail!("no tenant {slug}; `synkro admin list-tenants` lists them")
        }
        Err(e) => return Err(e.into()),
    };
    let zone = tenant.timezone.clone();
    let mut request = ReportRequest::manual(tenant.id);
    if let (Some(from), Some(to)) = (&args.from, &args.to) {
        request = request.window(parse_time("--from", from, &zone)?, parse_time("--to", to, &zone)?);
    }
    request.mode = args.mode.as_deref().map(ReportMode::from_str).transpose()?;
    let service = workers.service();
    let mut updates = service.subscribe();
    let job = match service.enqueue_report(request).await {
        Ok(job) => job,
        Err(EngineError::ActiveJob(id)) => {
            bail!("tenant {slug} already has an active report job ({id}); wait for it, or stop it in the dashboard")
        }
        Err(e) => return Err(e.into()),
    };
    workers.start().await;
    // A progress bar on a terminal; plain lines when the output goes to a file or a pipe.
    let bar =
        if args.follow && std::io::stderr().is_terminal() { ProgressBar::new(100) } else { ProgressBar::hidden() };
    let say = |line: String| {
        if !bar.is_hidden() {
            bar.println(line);
        } else if args.follow {
            println!("{line}");
        }
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos:>3}% {msg}")
            .context("progress bar template")?
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let at = |t: Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
    say(format!("job {} for {} ({} .. {})", job.id, tenant.name, at(job.window_start), at(job.window_end)));
    let mut seen: Option<JobEventId> = None;
    let mut stopping = false;
    let finished = loop {
        let current = store.get_job(job.id).await?;
        for event in store.list_job_events(current.id, seen, 500).await? {
            seen = Some(event.id);
            let step = event.step.unwrap_or_default();
            say(format!("{:>4}%  {step:<13} {}", current.progress, event.message));
        }
        bar.set_position(u64::from(current.progress));
        bar.set_message(current.current_step.clone().unwrap_or_else(|| current.status.to_string()));
        if current.status.is_finished() {
            break current;
        }
        tokio::select! {
            _ = updates.recv() => {}
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = tokio::signal::ctrl_c(), if !stopping => {
                stopping = true;
                say("stopping the job (Ctrl-C)…".to_owned());
                service.stop(job.id).await?;
            }
        }
    };
    bar.finish_and_clear();
    println!("job {}: {}", finished.id, finished.status);
    if let Some(report) = store.report_for_job(finished.id).await? {
        println!("report {} ({}), period {} .. {}", report.id, report.status, report.period_start, report.period_end);
    }
    match finished.status {
        crate::domain::JobStatus::Success => Ok(()),
        status => bail!("the job ended {status}: {}", finished.error.unwrap_or_default()),
    }
}

/// Arguments of `synkro report resend`.
#[derive(Args)]
pub struct ResendArgs {
    /// The report's id (as the API and `synkro report run` show it).
    report: String,
}

/// Sends a report whose delivery is unknown or failed again, waits, and says how it ended;
/// fails unless it was delivered.
#[allow(clippy::print_stdout)]
pub async fn resend(opened: &Opened, workers: &Workers, args: ResendArgs) -> anyhow::Result<()> {
    let id = ReportId::from_str(args.report.trim()).map_err(|_| {
        anyhow::anyhow!(
            "{:?} is not a report id: pass the report's UUID (GET /api/v1/tenants/{{id}}/reports lists them)",
            args.report
        )
    })?;
    let service = workers.service();
    let job = match service.resend_report(id, None).await {
        Ok(job) => job,
        Err(EngineError::NotFound(_)) => bail!("no report {id}"),
        Err(e) => return Err(e.into()),
    };
    workers.start().await;
    let done = service.wait(job.id).await?;
    let delivery = opened.store.get_delivery(id).await?;
    let state = delivery.as_ref().map_or("not started".to_owned(), |d| d.state.to_string());
    println!("job {}: {}; delivery {state}", done.id, done.status);
    match delivery {
        Some(d) if d.state == DeliveryState::Sent => Ok(()),
        Some(d) => bail!("the report was not delivered ({}): {}", d.state, d.error.unwrap_or_default()),
        None => bail!("the report was not delivered: {}", done.error.unwrap_or_default()),
    }
}
