//! Report windows: the last closed business day in a tenant's time zone, the schedule's due
//! times, period dates, and the checks on a manual ("forced") window.
//!
//! Business days are bounded by local wall-clock times, so a day that contains a DST change is
//! 23 or 25 hours long. A local time that does not exist (the spring gap) resolves to the later
//! instant, as if the clock had not been changed yet; an ambiguous one (the autumn fold) resolves
//! to the earlier instant, its first occurrence.

use jiff::{civil, tz::TimeZone};
use synkro_core::{ValidationError, domain::Window, time::TimeZoneName, time::Timestamp};

/// How far past now a manual window may end, in microseconds (5 minutes of clock skew).
const FUTURE_SLACK_MICROS: i64 = 5 * 60 * 1_000_000;
const HOUR_MICROS: i64 = 3_600 * 1_000_000;
const DAY_MICROS: i64 = 24 * HOUR_MICROS;
/// How many days to search around a date for a local time (zones have skipped a whole day).
const SEARCH_DAYS: usize = 4;

/// The last closed business day at `now`: from the previous day's `day_start` (local) to the
/// most recent `day_start` at or before `now` (local), in `tz`.
///
/// A window whose end equals `now` is closed. Boundaries are local, so a day with a DST change
/// is 23 or 25 hours long. A `day_start` that does not exist on some date (spring gap) resolves
/// to the later instant; an ambiguous one (autumn fold) to the earlier.
///
/// ```
/// # use synkro_pipeline::window::last_closed_business_day;
/// # use synkro_core::time::{TimeZoneName, Timestamp};
/// let tz = TimeZoneName::new("Asia/Almaty").unwrap();
/// let now: Timestamp = "2026-03-02T18:00:00Z".parse().unwrap(); // 23:00 in Almaty
/// let w = last_closed_business_day(now, &tz, time::macros::time!(22:01));
/// assert_eq!(w.end().to_string(), "2026-03-02T17:01:00Z");
/// assert_eq!(w.start().to_string(), "2026-03-01T17:01:00Z");
/// ```
pub fn last_closed_business_day(now: Timestamp, tz: &TimeZoneName, day_start: time::Time) -> Window {
    let zone = tz.zone();
    let start_time = civil_time(day_start);
    let Some((end_date, end)) = latest_at_or_before(now, &zone, start_time) else {
        return fallback_day(now);
    };
    let mut date = end_date;
    for _ in 0..SEARCH_DAYS {
        let Ok(previous) = date.yesterday() else { break };
        date = previous;
        if let Some(start) = instant(date, start_time, &zone).filter(|start| *start < end) {
            return span(start, end);
        }
    }
    fallback_day(end)
}

/// The most recent scheduled run at or before `now` (local `run_time` in `tz`) and the window it
/// reports on: [`last_closed_business_day`] at that due time.
///
/// With the defaults (runs at 22:10, days start at 22:01) the window ends the same evening; with
/// a run time before the day start (say 06:30) it ends the previous evening.
pub fn latest_due(
    now: Timestamp,
    tz: &TimeZoneName,
    run_time: time::Time,
    day_start: time::Time,
) -> (Timestamp, Window) {
    let zone = tz.zone();
    let due = latest_at_or_before(now, &zone, civil_time(run_time)).map_or(now, |(_, due)| due);
    (due, last_closed_business_day(due, tz, day_start))
}

/// The first scheduled run strictly after `now` (local `run_time` in `tz`).
pub fn next_due(now: Timestamp, tz: &TimeZoneName, run_time: time::Time) -> Timestamp {
    let zone = tz.zone();
    let run = civil_time(run_time);
    let today = zone.to_datetime(now.to_jiff()).date();
    let mut date = today.yesterday().unwrap_or(today);
    for _ in 0..=SEARCH_DAYS {
        if let Some(due) = instant(date, run, &zone).filter(|due| *due > now) {
            return due;
        }
        match date.tomorrow() {
            Ok(next) => date = next,
            Err(_) => break,
        }
    }
    shift(now, DAY_MICROS).unwrap_or(now)
}

/// Period dates of a window in tenant time: the local date of `start` and the local date of
/// `end - 1µs` (the end is exclusive, so a window ending at midnight ends the day before).
pub fn period_dates(window: Window, tz: &TimeZoneName) -> (time::Date, time::Date) {
    let zone = tz.zone();
    let last = shift(window.end(), -1).unwrap_or(window.start());
    (local_date(window.start(), &zone), local_date(last, &zone))
}

/// Validates a manual ("forced") window: it must end after it starts, be at most `max_hours`
/// long, start no more than `max_lookback_days` (of 24 hours) before `now`, and end no later
/// than 5 minutes after `now`. Windows exactly at a limit are accepted.
///
/// Errors name the field (`window_start` or `window_end`) and say which limit was broken, its
/// setting, and for the lookback the earliest allowed start.
pub fn validate_manual_window(
    start: Timestamp,
    end: Timestamp,
    now: Timestamp,
    max_hours: i32,
    max_lookback_days: i32,
) -> Result<Window, ValidationError> {
    let window = Window::new(start, end)?;
    let length = end.unix_micros() - start.unix_micros();
    if length > i64::from(max_hours) * HOUR_MICROS {
        return Err(ValidationError::new(
            "window_end",
            format!(
                "the window is {} long; the longest allowed is {} (max_force_window_hours)",
                describe_length(length),
                plural(i64::from(max_hours), "hour")
            ),
        ));
    }
    if let Some(earliest) = shift(now, -i64::from(max_lookback_days) * DAY_MICROS)
        && start < earliest
    {
        return Err(ValidationError::new(
            "window_start",
            format!(
                "the window starts at {start}, more than {} ago (max_force_lookback_days); the earliest allowed start is {earliest}",
                plural(i64::from(max_lookback_days), "day")
            ),
        ));
    }
    if let Some(latest) = shift(now, FUTURE_SLACK_MICROS)
        && end > latest
    {
        return Err(ValidationError::new(
            "window_end",
            format!("the window ends at {end}, in the future; it may end at most 5 minutes after now ({latest})"),
        ));
    }
    Ok(window)
}

/// A window known to be non-empty.
fn span(start: Timestamp, end: Timestamp) -> Window {
    Window::new(start, end).expect("callers check start < end")
}

/// The 24 hours ending at `end`: used only when the zone arithmetic leaves the supported range.
fn fallback_day(end: Timestamp) -> Window {
    let start = shift(end, -DAY_MICROS).unwrap_or(end);
    let end = if start < end { end } else { shift(start, 1).unwrap_or(end) };
    span(start, end)
}

/// The latest instant at or before `now` whose local time is `at`, and its local date.
fn latest_at_or_before(now: Timestamp, zone: &TimeZone, at: civil::Time) -> Option<(civil::Date, Timestamp)> {
    let today = zone.to_datetime(now.to_jiff()).date();
    // Start a day ahead: across a fold that crosses midnight, tomorrow's time may already be past.
    let mut date = today.tomorrow().unwrap_or(today);
    for _ in 0..=SEARCH_DAYS {
        if let Some(ts) = instant(date, at, zone).filter(|ts| *ts <= now) {
            return Some((date, ts));
        }
        date = date.yesterday().ok()?;
    }
    None
}

/// The instant of local `date` `at` in `zone`: gap → later instant, fold → earlier instant.
fn instant(date: civil::Date, at: civil::Time, zone: &TimeZone) -> Option<Timestamp> {
    let ts = zone.to_ambiguous_timestamp(date.to_datetime(at)).compatible().ok()?;
    Timestamp::from_jiff(ts)
}

fn civil_time(t: time::Time) -> civil::Time {
    let (h, m, s, ns) = t.as_hms_nano();
    // `time::Time` components are always in range, so this cannot fail.
    civil::Time::new(h as i8, m as i8, s as i8, ns as i32).unwrap_or(civil::Time::midnight())
}

fn local_date(ts: Timestamp, zone: &TimeZone) -> time::Date {
    let d = zone.to_datetime(ts.to_jiff()).date();
    let month = time::Month::try_from(d.month() as u8).unwrap_or(time::Month::January);
    time::Date::from_calendar_date(i32::from(d.year()), month, d.day() as u8).unwrap_or(ts.as_offset().date())
}

/// `ts` moved by `micros`, or `None` outside the supported range.
fn shift(ts: Timestamp, micros: i64) -> Option<Timestamp> {
    ts.unix_micros().checked_add(micros).and_then(Timestamp::from_unix_micros)
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") }
}

/// "30 hours", "24 hours 30 minutes", "just over 24 hours".
fn describe_length(micros: i64) -> String {
    let hours = micros / HOUR_MICROS;
    let minutes = micros % HOUR_MICROS / 60_000_000;
    let seconds = micros % 60_000_000 / 1_000_000;
    let mut text = plural(hours, "hour");
    if minutes > 0 {
        text.push_str(&format!(" {}", plural(minutes, "minute")));
    }
    if seconds > 0 {
        text.push_str(&format!(" {}", plural(seconds, "second")));
    }
    if micros % 1_000_000 != 0 { format!("just over {text}") } else { text }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use time::macros::{date, time};

    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn tz(name: &str) -> TimeZoneName {
        TimeZoneName::new(name).unwrap()
    }

    fn hours(w: Window) -> f64 {
        (w.end().unix_micros() - w.start().unix_micros()) as f64 / HOUR_MICROS as f64
    }

    #[test]
    fn berlin_spring_forward_day_is_23_hours() {
        // 2026-03-29 22:01 CEST = 20:01Z; the day started 2026-03-28 22:01 CET = 21:01Z.
        let w = last_closed_business_day(ts("2026-03-29T20:30:00Z"), &tz("Europe/Berlin"), time!(22:01));
        assert_eq!((w.start(), w.end()), (ts("2026-03-28T21:01:00Z"), ts("2026-03-29T20:01:00Z")));
        assert_eq!(hours(w), 23.0);
        // The next day is back to 24 hours.
        let w = last_closed_business_day(ts("2026-03-30T21:00:00Z"), &tz("Europe/Berlin"), time!(22:01));
        assert_eq!((w.start(), hours(w)), (ts("2026-03-29T20:01:00Z"), 24.0));
    }

    #[test]
    fn berlin_fall_back_day_is_25_hours() {
        // 2026-10-25 22:01 CET = 21:01Z; the day started 2026-10-24 22:01 CEST = 20:01Z.
        let w = last_closed_business_day(ts("2026-10-25T23:00:00Z"), &tz("Europe/Berlin"), time!(22:01));
        assert_eq!((w.start(), w.end()), (ts("2026-10-24T20:01:00Z"), ts("2026-10-25T21:01:00Z")));
        assert_eq!(hours(w), 25.0);
    }

    #[test]
    fn almaty_and_utc_days_are_always_24_hours() {
        for now in ["2026-01-15T12:00:00Z", "2026-03-29T20:30:00Z", "2026-10-25T23:00:00Z", "2026-07-01T00:00:00Z"] {
            let w = last_closed_business_day(ts(now), &tz("Asia/Almaty"), time!(22:01));
            assert_eq!(hours(w), 24.0, "Almaty at {now}");
            assert_eq!(w.end().unix_seconds() % 3_600, 60, "Almaty is a whole-hour zone, so the end is hh:01");
            let w = last_closed_business_day(ts(now), &TimeZoneName::utc(), time!(22:01));
            assert_eq!(hours(w), 24.0, "UTC at {now}");
        }
        // Almaty is UTC+5 in 2026: 22:01 local = 17:01Z.
        let w = last_closed_business_day(ts("2026-03-02T18:00:00Z"), &tz("Asia/Almaty"), time!(22:01));
        assert_eq!(w.end(), ts("2026-03-02T17:01:00Z"));
        let w = last_closed_business_day(ts("2026-03-02T23:00:00Z"), &TimeZoneName::utc(), time!(22:01));
        assert_eq!((w.start(), w.end()), (ts("2026-03-01T22:01:00Z"), ts("2026-03-02T22:01:00Z")));
    }

    #[test]
    fn a_window_ending_exactly_now_is_closed_and_one_microsecond_earlier_is_not() {
        let berlin = tz("Europe/Berlin");
        let at_start = ts("2026-03-02T21:01:00Z"); // 22:01 CET
        assert_eq!(last_closed_business_day(at_start, &berlin, time!(22:01)).end(), at_start);
        let before = shift(at_start, -1).unwrap();
        let w = last_closed_business_day(before, &berlin, time!(22:01));
        assert_eq!((w.start(), w.end()), (ts("2026-02-28T21:01:00Z"), ts("2026-03-01T21:01:00Z")));
    }

    #[test]
    fn nonexistent_local_times_resolve_later_and_ambiguous_ones_earlier() {
        let berlin = tz("Europe/Berlin");
        // 02:30 does not exist on 2026-03-29: it resolves to 03:30 CEST (01:30Z).
        let w = last_closed_business_day(ts("2026-03-29T12:00:00Z"), &berlin, time!(02:30));
        assert_eq!((w.start(), w.end()), (ts("2026-03-28T01:30:00Z"), ts("2026-03-29T01:30:00Z")));
        // 02:30 happens twice on 2026-10-25: the first (CEST, 00:30Z) counts.
        let w = last_closed_business_day(ts("2026-10-25T12:00:00Z"), &berlin, time!(02:30));
        assert_eq!((w.start(), w.end()), (ts("2026-10-24T00:30:00Z"), ts("2026-10-25T00:30:00Z")));
        // Samoa skipped 2011-12-30 entirely; the window still spans a real, non-empty day.
        let w = last_closed_business_day(ts("2012-01-01T00:00:00Z"), &tz("Pacific/Apia"), time!(22:01));
        assert_eq!((w.start(), w.end()), (ts("2011-12-30T08:01:00Z"), ts("2011-12-31T08:01:00Z")));
    }

    #[test]
    fn latest_due_reports_the_evening_before_or_the_same_evening() {
        let berlin = tz("Europe/Berlin");
        // Runs at 22:10, days start at 22:01: the window ends the same evening.
        let (due, w) = latest_due(ts("2026-03-02T21:30:00Z"), &berlin, time!(22:10), time!(22:01));
        assert_eq!(due, ts("2026-03-02T21:10:00Z"));
        assert_eq!((w.start(), w.end()), (ts("2026-03-01T21:01:00Z"), ts("2026-03-02T21:01:00Z")));
        // At 22:05 today's run is not due yet: yesterday's run and yesterday's window.
        let (due, w) = latest_due(ts("2026-03-02T21:05:00Z"), &berlin, time!(22:10), time!(22:01));
        assert_eq!((due, w.end()), (ts("2026-03-01T21:10:00Z"), ts("2026-03-01T21:01:00Z")));
        // Runs at 06:30: the window ends the previous evening.
        let (due, w) = latest_due(ts("2026-03-02T06:00:00Z"), &berlin, time!(06:30), time!(22:01));
        assert_eq!(due, ts("2026-03-02T05:30:00Z"));
        assert_eq!((w.start(), w.end()), (ts("2026-02-28T21:01:00Z"), ts("2026-03-01T21:01:00Z")));
        // Exactly at the run time, that run is the latest due.
        let (due, _) = latest_due(ts("2026-03-02T21:10:00Z"), &berlin, time!(22:10), time!(22:01));
        assert_eq!(due, ts("2026-03-02T21:10:00Z"));
    }

    #[test]
    fn next_due_is_strictly_after_now_and_follows_dst() {
        let berlin = tz("Europe/Berlin");
        // 2026-03-28 22:15 CET; the next 22:10 is on the spring-forward day, in CEST.
        let next = next_due(ts("2026-03-28T21:15:00Z"), &berlin, time!(22:10));
        assert_eq!(next, ts("2026-03-29T20:10:00Z"));
        // Before the run time, today's run is next; exactly at it, tomorrow's.
        assert_eq!(next_due(ts("2026-10-24T19:00:00Z"), &berlin, time!(22:10)), ts("2026-10-24T20:10:00Z"));
        assert_eq!(next_due(ts("2026-10-24T20:10:00Z"), &berlin, time!(22:10)), ts("2026-10-25T21:10:00Z"));
        assert_eq!(
            next_due(ts("2026-03-02T12:00:00Z"), &TimeZoneName::utc(), time!(06:30)),
            ts("2026-03-03T06:30:00Z")
        );
    }

    #[test]
    fn period_dates_are_local_and_the_end_is_exclusive() {
        let berlin = tz("Europe/Berlin");
        let w = Window::new(ts("2026-03-01T21:01:00Z"), ts("2026-03-02T21:01:00Z")).unwrap();
        assert_eq!(period_dates(w, &berlin), (date!(2026 - 03 - 01), date!(2026 - 03 - 02)));
        // Midnight to midnight local is a single day.
        let w = Window::new(ts("2026-03-01T23:00:00Z"), ts("2026-03-02T23:00:00Z")).unwrap();
        assert_eq!(period_dates(w, &berlin), (date!(2026 - 03 - 02), date!(2026 - 03 - 02)));
        // The same instants in UTC fall on other dates.
        assert_eq!(period_dates(w, &TimeZoneName::utc()), (date!(2026 - 03 - 01), date!(2026 - 03 - 02)));
    }

    #[test]
    fn manual_windows_are_rejected_with_the_limit_named() {
        let now = ts("2026-03-10T12:00:00Z");
        let err = validate_manual_window(now, now, now, 24, 3).unwrap_err();
        assert_eq!(err.field, "window_end");
        assert!(err.message.contains("must end after it starts"), "{err}");
        let err = validate_manual_window(now, ts("2026-03-10T11:00:00Z"), now, 24, 3).unwrap_err();
        assert_eq!(err.field, "window_end");

        let err =
            validate_manual_window(ts("2026-03-08T06:00:00Z"), ts("2026-03-09T12:00:00Z"), now, 24, 3).unwrap_err();
        assert_eq!(err.field, "window_end");
        assert_eq!(
            err.message,
            "the window is 30 hours long; the longest allowed is 24 hours (max_force_window_hours)"
        );
        let err = validate_manual_window(ts("2026-03-08T06:00:00Z"), ts("2026-03-09T06:00:00.5Z"), now, 24, 3);
        assert!(err.unwrap_err().message.contains("just over 24 hours long"));

        let err =
            validate_manual_window(ts("2026-03-07T11:59:59Z"), ts("2026-03-08T00:00:00Z"), now, 24, 3).unwrap_err();
        assert_eq!(err.field, "window_start");
        assert!(err.message.contains("more than 3 days ago (max_force_lookback_days)"), "{err}");
        assert!(err.message.contains("earliest allowed start is 2026-03-07T12:00:00Z"), "{err}");

        let err =
            validate_manual_window(ts("2026-03-10T00:00:00Z"), ts("2026-03-10T12:05:01Z"), now, 24, 3).unwrap_err();
        assert_eq!(err.field, "window_end");
        assert!(err.message.contains("at most 5 minutes after now (2026-03-10T12:05:00Z)"), "{err}");
    }

    #[test]
    fn manual_windows_exactly_at_the_limits_are_accepted() {
        let now = ts("2026-03-10T12:00:00Z");
        // Starts exactly max_force_lookback_days ago and is exactly max_force_window_hours long.
        let w = validate_manual_window(ts("2026-03-07T12:00:00Z"), ts("2026-03-08T12:00:00Z"), now, 24, 3).unwrap();
        assert_eq!((w.start(), w.end()), (ts("2026-03-07T12:00:00Z"), ts("2026-03-08T12:00:00Z")));
        // Ends exactly 5 minutes from now.
        assert!(validate_manual_window(ts("2026-03-09T12:05:00Z"), ts("2026-03-10T12:05:00Z"), now, 24, 3).is_ok());
        // One hour long with a one-hour limit.
        assert!(validate_manual_window(ts("2026-03-10T10:00:00Z"), ts("2026-03-10T11:00:00Z"), now, 1, 1).is_ok());
        // With no lookback allowed, a window may still start exactly now.
        assert!(validate_manual_window(now, ts("2026-03-10T12:05:00Z"), now, 1, 0).is_ok());
    }
}
