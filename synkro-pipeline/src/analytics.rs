//! Conversation analytics (issue 13): measured facts about a report's dialogs, in one pass over
//! its rows, deterministic. Definitions:
//!
//! - a client's **turn** is a run of inbound messages; its **first response** is the time from
//!   the turn's first message to the manager's next message — on the clock, or counting only
//!   the tenant's working hours when it set them ([`ResponseClock`]). Turns answered inside the
//!   window count; the rows hold the window's messages only.
//! - a client is **waiting** when the dialog's last message in the window is theirs: since the
//!   first message of that last turn, until the window's end.
//! - a dialog went **quiet** when the manager wrote last and the client has not answered for at
//!   least [`QUIET_AFTER`] before the window's end.
//!
//! Memory: per-manager and per-stage counters, the response times (one number per answered
//! turn, for the percentiles) and the worst cases, capped.

use std::collections::BTreeMap;

use serde_json::Value;
use synkro_core::{
    connector::DealRow,
    domain::{
        Analytics, DayFigures, HourFigures, ManagerFigures, ReportMode, SlowResponse, StageFigures, WaitingClient,
        Window, WorkingHours,
    },
    time::{TimeZoneName, Timestamp},
};

use crate::summary::{NO_STAGE, UNASSIGNED};

/// At most this many spans in [`Analytics::hours`]: a window of up to 48 hours is counted hour
/// by hour, a longer one in spans of whole hours.
const MAX_SPANS: u64 = 48;

/// How long a dialog where the manager wrote last has to stay silent to count as quiet.
pub const QUIET_AFTER: time::Duration = time::Duration::hours(4);

/// One message of a row's `dialog_raw`: when and which way.
struct Said {
    at: Timestamp,
    inbound: bool,
    files: u64,
}

/// How first responses are timed: on the clock, or counting only working hours in the
/// tenant's zone.
#[derive(Clone, Default)]
pub struct ResponseClock(Option<(WorkingHours, jiff::tz::TimeZone)>);

impl ResponseClock {
    /// Working hours `hours` in `zone` when set, else the clock.
    pub fn new(hours: Option<WorkingHours>, zone: &TimeZoneName) -> Self {
        Self(hours.map(|h| (h, zone.zone())))
    }

    /// Seconds from `from` to `to` as this clock counts them.
    pub fn between(&self, from: Timestamp, to: Timestamp) -> u64 {
        match &self.0 {
            None => seconds(from, to),
            Some((hours, zone)) => hours.seconds_between(zone, from, to),
        }
    }
}

/// What one dialog shows, measured against the window's end.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DialogFacts {
    /// Messages from the client.
    pub inbound: u64,
    /// Messages from the manager.
    pub outbound: u64,
    /// Files the manager sent.
    pub files_sent: u64,
    /// The first response to each client turn answered in the window, in order, in seconds.
    pub responses: Vec<u64>,
    /// When the client's unanswered last turn began, if it is unanswered.
    pub waiting_since: Option<Timestamp>,
    /// Whether the manager wrote last and the client stayed silent [`QUIET_AFTER`] or longer.
    pub quiet: bool,
    /// When each message was written, oldest first.
    pub times: Vec<Timestamp>,
}

/// Seconds on the clock from `from` to `to` (0 when `to` is earlier).
pub(crate) fn seconds(from: Timestamp, to: Timestamp) -> u64 {
    u64::try_from((to.as_offset() - from.as_offset()).whole_seconds()).unwrap_or(0)
}

/// Reads a row's messages (oldest first) and measures them against the window's `end`,
/// timing responses with `clock`.
pub fn dialog_facts(row: &DealRow, end: Timestamp, clock: &ResponseClock) -> DialogFacts {
    let mut said: Vec<Said> = row
        .dialog_raw
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let at = m.get("at")?.as_str()?.parse().ok()?;
            let inbound = m.get("direction")?.as_str()? == "inbound";
            let files = m.get("files").and_then(Value::as_array).map_or(0, |f| f.len() as u64);
            Some(Said { at, inbound, files })
        })
        .collect();
    said.sort_by_key(|s| s.at);
    let mut f = DialogFacts::default();
    let mut turn_started: Option<Timestamp> = None;
    for s in &said {
        if s.inbound {
            f.inbound += 1;
            turn_started.get_or_insert(s.at);
        } else {
            f.outbound += 1;
            f.files_sent += s.files;
            if let Some(start) = turn_started.take() {
                f.responses.push(clock.between(start, s.at));
            }
        }
    }
    f.waiting_since = turn_started;
    f.quiet = said.last().is_some_and(|last| !last.inbound && last.at + QUIET_AFTER <= end);
    f.times = said.iter().map(|s| s.at).collect();
    f
}

/// The nearest-rank percentile `p` (0-100) of `sorted` values.
pub(crate) fn percentile(sorted: &[u64], p: usize) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[derive(Default)]
struct ManagerAcc {
    dialogs: u64,
    messages: u64,
    responses: Vec<u64>,
    waiting: u64,
}

/// Builds [`Analytics`] from a report's rows, one at a time.
pub struct AnalyticsBuilder {
    mode: ReportMode,
    start: Timestamp,
    end: Timestamp,
    span_secs: u64,
    hours: Vec<HourFigures>,
    clock: ResponseClock,
    top: usize,
    day: DayFigures,
    responses: Vec<u64>,
    managers: BTreeMap<String, ManagerAcc>,
    stages: BTreeMap<String, StageFigures>,
    waiting: Vec<WaitingClient>,
    slowest: Vec<SlowResponse>,
}

impl AnalyticsBuilder {
    /// Analytics of a `mode` report over `window`, keeping the `top` worst waits and responses.
    pub fn new(mode: ReportMode, window: Window, top: usize) -> Self {
        let length = seconds(window.start(), window.end()).max(1);
        let span_secs = length.div_ceil(MAX_SPANS * 3600) * 3600;
        let hours = (0..length.div_ceil(span_secs))
            .map(|n| HourFigures {
                start: window.start() + time::Duration::seconds(i64::try_from(n * span_secs).unwrap_or(i64::MAX)),
                dialogs: 0,
                messages: 0,
            })
            .collect();
        Self {
            mode,
            start: window.start(),
            end: window.end(),
            span_secs,
            hours,
            clock: ResponseClock::default(),
            top,
            day: DayFigures::default(),
            responses: Vec::new(),
            managers: BTreeMap::new(),
            stages: BTreeMap::new(),
            waiting: Vec::new(),
            slowest: Vec::new(),
        }
    }

    /// Times first responses with `clock` (the clock by default).
    pub fn with_clock(mut self, clock: ResponseClock) -> Self {
        self.clock = clock;
        self
    }

    /// What the sources reported besides the rows: the deals the CRM returned for the window
    /// (`None` when the mode reads no CRM) and the chats left out for matching no deal
    /// (`crm_chats` only).
    pub fn read_from_sources(&mut self, deals_updated: Option<u64>, dialogs_without_deal: Option<u64>) {
        self.day.deals_updated = deals_updated.filter(|_| self.mode.uses_crm());
        self.day.dialogs_without_deal = dialogs_without_deal.filter(|_| self.mode == ReportMode::CrmChats);
    }

    /// Counts one row.
    pub fn add(&mut self, row: &DealRow) {
        let f = dialog_facts(row, self.end, &self.clock);
        let name = || row.deal_name.clone().unwrap_or_default();
        let manager = label(row.responsible.as_deref(), UNASSIGNED);
        let has_dialog = f.inbound + f.outbound > 0;
        let day = &mut self.day;
        day.deals += 1;
        day.deals_with_dialogs += u64::from(has_dialog);
        day.inbound_messages += f.inbound;
        day.outbound_messages += f.outbound;
        day.files_sent += f.files_sent;
        day.responses += f.responses.len() as u64;
        let acc = self.managers.entry(manager.clone()).or_default();
        acc.dialogs += u64::from(has_dialog);
        acc.messages += f.inbound + f.outbound;
        acc.responses.extend(&f.responses);
        if let Some(since) = f.waiting_since {
            day.clients_waiting += 1;
            acc.waiting += 1;
            let waiting_secs = seconds(since, self.end);
            self.waiting.push(WaitingClient {
                deal_id: row.deal_id,
                deal_name: name(),
                manager: manager.clone(),
                waiting_secs,
            });
            keep_worst(&mut self.waiting, self.top, |w| (w.waiting_secs, w.deal_id));
        }
        if let Some(&worst) = f.responses.iter().max() {
            self.slowest.push(SlowResponse { deal_id: row.deal_id, deal_name: name(), manager, response_secs: worst });
            keep_worst(&mut self.slowest, self.top, |s| (s.response_secs, s.deal_id));
        }
        self.count_hours(&f.times);
        self.responses.extend(f.responses);
        if self.mode.uses_crm() {
            let stage = label(row.status.as_deref(), NO_STAGE);
            let entry =
                self.stages.entry(stage.clone()).or_insert_with(|| StageFigures { stage, ..Default::default() });
            entry.deals += 1;
            entry.quiet += u64::from(f.quiet);
        }
    }

    /// Counts a dialog's messages in the window's spans (the dialog once per span).
    fn count_hours(&mut self, times: &[Timestamp]) {
        let mut last_span = None;
        for &at in times.iter().filter(|&&at| at >= self.start && at < self.end) {
            let span = usize::try_from(seconds(self.start, at) / self.span_secs).unwrap_or(usize::MAX);
            let Some(figures) = self.hours.get_mut(span) else { continue };
            figures.messages += 1;
            if last_span != Some(span) {
                figures.dialogs += 1;
                last_span = Some(span);
            }
        }
    }

    /// The analytics of every row added.
    pub fn finish(mut self) -> Analytics {
        self.responses.sort_unstable();
        self.day.first_response_median_secs = percentile(&self.responses, 50);
        self.day.first_response_p90_secs = percentile(&self.responses, 90);
        let managers = self
            .managers
            .into_iter()
            .map(|(manager, mut acc)| {
                acc.responses.sort_unstable();
                ManagerFigures {
                    manager,
                    dialogs: acc.dialogs,
                    messages: acc.messages,
                    first_response_median_secs: percentile(&acc.responses, 50),
                    first_response_p90_secs: percentile(&acc.responses, 90),
                    clients_waiting: acc.waiting,
                }
            })
            .collect();
        Analytics {
            day: self.day,
            managers,
            stages: self.stages.into_values().collect(),
            waiting: self.waiting,
            slowest: self.slowest,
            hours: self.hours,
        }
    }
}

/// Keeps the `top` largest entries of `list` by `key`, largest first.
fn keep_worst<T, K: Ord>(list: &mut Vec<T>, top: usize, key: impl Fn(&T) -> K) {
    list.sort_by_key(|item| std::cmp::Reverse(key(item)));
    list.truncate(top);
}

fn label(value: Option<&str>, missing: &str) -> String {
    value.map(str::trim).filter(|v| !v.is_empty()).unwrap_or(missing).to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    const DAY_START: &str = "2026-03-28T23:00:00Z";

    /// A window of `hours` from 2026-03-28 23:00 UTC (midnight in Berlin, the night DST began).
    fn window(hours: i64) -> Window {
        let start: Timestamp = DAY_START.parse().unwrap();
        Window::new(start, start + time::Duration::hours(hours)).unwrap()
    }

    /// `minute` minutes after the window's start.
    fn at(minute: i64) -> String {
        let start: Timestamp = DAY_START.parse().unwrap();
        (start + time::Duration::minutes(minute)).to_string()
    }

    /// A row whose dialog is `messages`: (minute, inbound, files).
    fn row(id: i64, manager: &str, stage: &str, messages: &[(i64, bool, usize)]) -> DealRow {
        let raw: Vec<Value> = messages
            .iter()
            .map(|(minute, inbound, files)| {
                let direction = if *inbound { "inbound" } else { "outbound" };
                json!({"id": format!("m{minute}"), "at": at(*minute), "direction": direction, "text": "…",
                       "files": vec!["f.pdf"; *files]})
            })
            .collect();
        DealRow {
            tenant_id: "acme".into(),
            deal_id: id,
            deal_name: Some(format!("Deal {id}")),
            status_id: None,
            status: Some(stage.into()),
            responsible: (!manager.is_empty()).then(|| manager.to_owned()),
            phone: None,
            chat_id: None,
            first_message_at: None,
            last_message_at: None,
            messages_count: messages.len() as i64,
            deal_attrs_json: json!({}),
            contact_attrs_json: json!({}),
            dialog_raw: Value::Array(raw),
            dialog_norm: String::new(),
            updated_at: None,
        }
    }

    #[test]
    fn turns_responses_waits_and_quiet_dialogs_are_measured() {
        // The window is 23 hours: the Berlin day on which clocks went forward.
        let mut b = AnalyticsBuilder::new(ReportMode::CrmChats, window(23), 10);
        // Two client turns, answered after 10 and 30 minutes; a file sent; the manager wrote
        // last at minute 100, long before the end: quiet.
        b.add(&row(
            1,
            "Olga",
            "Won",
            &[(0, true, 0), (5, true, 0), (10, false, 1), (60, true, 0), (90, false, 0), (100, false, 0)],
        ));
        // Answered after 120 minutes, then the client wrote again at minute 1300 and waits.
        b.add(&row(2, "Olga", "Negotiation", &[(0, true, 0), (120, false, 0), (1300, true, 0)]));
        // Never answered: waits from minute 60 to the end (23 h).
        b.add(&row(3, "Pavel", "Negotiation", &[(60, true, 0), (61, true, 0)]));
        // No dialog at all, no manager.
        b.add(&row(4, "", "", &[]));
        let a = b.finish();

        let d = &a.day;
        assert_eq!((d.deals, d.deals_with_dialogs, d.inbound_messages, d.outbound_messages), (4, 3, 7, 4));
        assert_eq!((d.files_sent, d.clients_waiting, d.responses), (1, 2, 3));
        // Responses 600, 1800, 7200 s: the median is the middle one, p90 the largest.
        assert_eq!((d.first_response_median_secs, d.first_response_p90_secs), (Some(1800), Some(7200)));

        let olga = a.managers.iter().find(|m| m.manager == "Olga").unwrap();
        assert_eq!((olga.dialogs, olga.messages, olga.clients_waiting), (2, 9, 1));
        assert_eq!((olga.first_response_median_secs, olga.first_response_p90_secs), (Some(1800), Some(7200)));
        let pavel = a.managers.iter().find(|m| m.manager == "Pavel").unwrap();
        assert_eq!((pavel.dialogs, pavel.clients_waiting, pavel.first_response_median_secs), (1, 1, None));
        assert!(a.managers.iter().any(|m| m.manager == UNASSIGNED && m.dialogs == 0));

        let stage = |name: &str| a.stages.iter().find(|s| s.stage == name).map(|s| (s.deals, s.quiet));
        assert_eq!((stage("Won"), stage("Negotiation"), stage(NO_STAGE)), (Some((1, 1)), Some((2, 0)), Some((1, 0))));

        let waits: Vec<(i64, u64)> = a.waiting.iter().map(|w| (w.deal_id, w.waiting_secs)).collect();
        assert_eq!(waits, [(3, (23 * 60 - 60) * 60), (2, (23 * 60 - 1300) * 60)], "longest wait first");
        let slow: Vec<(i64, u64)> = a.slowest.iter().map(|s| (s.deal_id, s.response_secs)).collect();
        assert_eq!(slow, [(2, 7200), (1, 1800)], "each deal's slowest response, slowest first");

        // Hour by hour: 23 hours; hour 0 has deals 1, 2 (6 messages, 2 dialogs), hour 1 has
        // deals 1 and 3 (deal 1 at minutes 60 and 90 and 100, deal 3 at 60 and 61), hour 2 has
        // deal 2's answer at minute 120, hour 21 its client's 1300.
        assert_eq!(a.hours.len(), 23);
        assert_eq!(a.hours[0].start, window(23).start());
        assert_eq!(a.hours[1].start, window(23).start() + time::Duration::hours(1));
        let hourly: Vec<(u64, u64)> = a.hours.iter().map(|h| (h.dialogs, h.messages)).collect();
        assert_eq!(&hourly[..3], [(2, 4), (2, 5), (1, 1)]);
        assert_eq!(hourly[21], (1, 1));
        assert_eq!(hourly.iter().map(|h| h.1).sum::<u64>(), 11, "every message in the window once");
    }

    #[test]
    fn a_long_window_is_counted_in_spans_of_whole_hours() {
        let mut b = AnalyticsBuilder::new(ReportMode::ChatsOnly, window(24 * 7), 10);
        b.add(&row(-1, "", "", &[(0, true, 0), (200, false, 0), (24 * 7 * 60 - 1, true, 0), (24 * 7 * 60, true, 0)]));
        let a = b.finish();
        assert_eq!(a.hours.len(), 42, "a week in spans of 4 hours");
        assert_eq!((a.hours[0].dialogs, a.hours[0].messages), (1, 2));
        assert_eq!(a.hours[41].messages, 1, "the message at the end itself is outside the window");
    }

    #[test]
    fn chat_only_reports_have_no_stages_and_the_worst_lists_are_capped() {
        let mut b = AnalyticsBuilder::new(ReportMode::ChatsOnly, window(24), 2);
        for id in 1..=5 {
            b.add(&row(-id, "", "", &[(id * 10, true, 0)]));
        }
        let a = b.finish();
        assert!(a.stages.is_empty(), "chats have no stages");
        assert_eq!(a.day.clients_waiting, 5);
        let ids: Vec<i64> = a.waiting.iter().map(|w| w.deal_id).collect();
        assert_eq!(ids, [-1, -2], "the two longest waits, longest first");
    }

    #[test]
    fn an_empty_day_has_no_figures_to_invent() {
        let a = AnalyticsBuilder::new(ReportMode::CrmOnly, window(25), 10).finish();
        assert_eq!(a.day, DayFigures::default());
        assert!(a.managers.is_empty() && a.stages.is_empty() && a.waiting.is_empty() && a.slowest.is_empty());
        assert_eq!(percentile(&[], 50), None);
        assert_eq!((percentile(&[7], 90), percentile(&[1, 2, 3, 4], 50)), (Some(7), Some(2)));
    }

    #[test]
    fn working_hours_count_only_the_time_the_team_works_even_on_the_day_clocks_change() {
        // 09:00-18:00 every day, Berlin; the window is the Sunday clocks went forward (local
        // midnight = minute 0; 09:00 CEST = 07:00 UTC = minute 480).
        let hours: WorkingHours =
            serde_json::from_value(json!({"start": "09:00", "end": "18:00", "days": ["sun"]})).unwrap();
        let berlin = TimeZoneName::new("Europe/Berlin").unwrap();
        let mut b = AnalyticsBuilder::new(ReportMode::CrmChats, window(23), 10)
            .with_clock(ResponseClock::new(Some(hours), &berlin));
        // Asked at 01:00 local, answered at 09:20: 20 working minutes (440 on the clock).
        b.add(&row(1, "Olga", "Won", &[(60, true, 0), (500, false, 0)]));
        // Asked at 11:00, answered at 11:30: 30 minutes either way.
        b.add(&row(2, "Olga", "Won", &[(600, true, 0), (630, false, 0)]));
        // Asked at 20:30, answered at 21:00: after hours, no working time.
        b.add(&row(3, "Olga", "Won", &[(1170, true, 0), (1200, false, 0)]));
        let a = b.finish();
        let slow: Vec<(i64, u64)> = a.slowest.iter().map(|s| (s.deal_id, s.response_secs)).collect();
        assert_eq!(slow, [(2, 1800), (1, 1200), (3, 0)]);
        assert_eq!((a.day.first_response_median_secs, a.day.first_response_p90_secs), (Some(1200), Some(1800)));

        // Without working hours the same dialogs are timed on the clock.
        let clock = ResponseClock::new(None, &berlin);
        let first = dialog_facts(&row(1, "Olga", "Won", &[(60, true, 0), (500, false, 0)]), window(23).end(), &clock);
        assert_eq!(first.responses, [440 * 60]);
    }

    #[test]
    fn source_counts_appear_only_where_the_mode_has_them() {
        let counted = |mode| {
            let mut b = AnalyticsBuilder::new(mode, window(24), 10);
            b.read_from_sources(Some(12), Some(3));
            let d = b.finish().day;
            (d.deals_updated, d.dialogs_without_deal)
        };
        assert_eq!(counted(ReportMode::CrmChats), (Some(12), Some(3)));
        assert_eq!(counted(ReportMode::CrmOnly), (Some(12), None));
        assert_eq!(counted(ReportMode::ChatsOnly), (None, None));
    }
}
