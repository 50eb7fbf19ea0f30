//! Time types: a UTC [`Timestamp`] stored identically on both databases, and a validated IANA
//! [`TimeZoneName`].

use std::{fmt, ops::Add, str::FromStr};

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::ValidationError;

/// An instant in UTC with microsecond precision (the precision PostgreSQL keeps).
///
/// SQLite stores it as integer microseconds since the Unix epoch, so range queries and ordering
/// work in SQL on both engines.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(#[serde(with = "time::serde::rfc3339")] OffsetDateTime);

impl Timestamp {
    /// Now, truncated to microseconds.
    pub fn now() -> Self {
        Self::from_offset(OffsetDateTime::now_utc())
    }

    /// Converts any offset date-time, truncating to microseconds.
    pub fn from_offset(dt: OffsetDateTime) -> Self {
        let utc = dt.to_offset(UtcOffset::UTC);
        let nanos = utc.nanosecond();
        Self(utc.replace_nanosecond(nanos - nanos % 1_000).unwrap_or(utc))
    }

    /// From whole seconds since the Unix epoch (amoCRM and Telegram send these).
    pub fn from_unix_seconds(secs: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp(secs).ok().map(Self)
    }

    /// From microseconds since the Unix epoch.
    pub fn from_unix_micros(micros: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).ok().map(Self)
    }

    /// Microseconds since the Unix epoch.
    pub fn unix_micros(&self) -> i64 {
        // Microseconds since the epoch fit in i64 for every year `time` can represent.
        (self.0.unix_timestamp_nanos() / 1_000) as i64
    }

    /// Whole seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.0.unix_timestamp()
    }

    /// The instant as a `time` value in UTC.
    pub fn as_offset(&self) -> OffsetDateTime {
        self.0
    }

    /// The same instant as a `jiff` timestamp, for time-zone arithmetic.
    pub fn to_jiff(&self) -> jiff::Timestamp {
        jiff::Timestamp::from_microsecond(self.unix_micros()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    /// From a `jiff` timestamp, truncating to microseconds.
    pub fn from_jiff(ts: jiff::Timestamp) -> Option<Self> {
        Self::from_unix_micros(ts.as_microsecond())
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(dt: OffsetDateTime) -> Self {
        Self::from_offset(dt)
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, rhs: Duration) -> Timestamp {
        Self::from_offset(self.0 + rhs)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.format(&time::format_description::well_known::Rfc3339) {
            Ok(s) => f.write_str(&s),
            Err(_) => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Timestamp {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).map(Self::from_offset).map_err(|_| {
            ValidationError::new(
                "timestamp",
                format!("{s:?} is not an RFC 3339 date-time such as 2026-03-01T09:15:00Z"),
            )
        })
    }
}

/// How timestamps are stored: integer microseconds in SQLite, `timestamptz` in PostgreSQL.
#[cfg(feature = "store")]
mod sql {
    #[cfg(feature = "postgres")]
    use sqlx::Postgres;
    use sqlx::Sqlite;
    use sqlx::{Database, Decode, Encode, Type, encode::IsNull, error::BoxDynError};
    #[cfg(feature = "postgres")]
    use time::OffsetDateTime;

    use super::Timestamp;

    impl Type<Sqlite> for Timestamp {
        fn type_info() -> <Sqlite as Database>::TypeInfo {
            <i64 as Type<Sqlite>>::type_info()
        }
        fn compatible(ty: &<Sqlite as Database>::TypeInfo) -> bool {
            <i64 as Type<Sqlite>>::compatible(ty)
        }
    }

    impl Encode<'_, Sqlite> for Timestamp {
        fn encode_by_ref(&self, buf: &mut <Sqlite as Database>::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
            <i64 as Encode<Sqlite>>::encode(self.unix_micros(), buf)
        }
    }

    impl<'r> Decode<'r, Sqlite> for Timestamp {
        fn decode(value: <Sqlite as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
            let micros = <i64 as Decode<Sqlite>>::decode(value)?;
            Self::from_unix_micros(micros).ok_or_else(|| format!("timestamp {micros} out of range").into())
        }
    }

    #[cfg(feature = "postgres")]
    impl Type<Postgres> for Timestamp {
        fn type_info() -> <Postgres as Database>::TypeInfo {
            <OffsetDateTime as Type<Postgres>>::type_info()
        }
        fn compatible(ty: &<Postgres as Database>::TypeInfo) -> bool {
            <OffsetDateTime as Type<Postgres>>::compatible(ty)
        }
    }

    #[cfg(feature = "postgres")]
    impl Encode<'_, Postgres> for Timestamp {
        fn encode_by_ref(&self, buf: &mut <Postgres as Database>::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
            <OffsetDateTime as Encode<Postgres>>::encode(self.0, buf)
        }
    }

    #[cfg(feature = "postgres")]
    impl<'r> Decode<'r, Postgres> for Timestamp {
        fn decode(value: <Postgres as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
            <OffsetDateTime as Decode<Postgres>>::decode(value).map(Self::from_offset)
        }
    }
}

/// A validated IANA time-zone name such as `Europe/Berlin` or `Asia/Almaty`.
///
/// The zone database is bundled into the binary, so results do not depend on the host.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "store", derive(sqlx::Type), sqlx(transparent))]
#[serde(try_from = "String", into = "String")]
pub struct TimeZoneName(String);

impl TimeZoneName {
    /// Validates `name` against the bundled IANA database.
    pub fn new(name: &str) -> Result<Self, ValidationError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(ValidationError::new("timezone", "must not be empty; use an IANA name such as Europe/Berlin"));
        }
        jiff::tz::TimeZone::get(name).map(|_| Self(name.to_owned())).map_err(|_| {
            ValidationError::new(
                "timezone",
                format!("{name:?} is not an IANA time zone name; use one such as Europe/Berlin, Asia/Almaty or UTC"),
            )
        })
    }

    /// UTC.
    pub fn utc() -> Self {
        Self("UTC".to_owned())
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The zone's rules, for converting instants to local time and back (DST-aware).
    pub fn zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.0).unwrap_or(jiff::tz::TimeZone::UTC)
    }

    /// `at` on this zone's clock, written with a `strftime` pattern (`%Y-%m-%d %H:%M`).
    pub fn format(&self, at: Timestamp, pattern: &str) -> String {
        self.zone().to_datetime(at.to_jiff()).strftime(pattern).to_string()
    }

    /// Reads a time people type: RFC 3339, or a date and time local to this zone
    /// (`2026-12-03 22:01`, or `2026-12-03T22:01` as browsers send it). `field` names the input
    /// in the error, which shows both forms.
    pub fn parse_time(&self, field: &'static str, text: &str) -> Result<Timestamp, ValidationError> {
        let text = text.trim();
        let hint = || {
            ValidationError::new(
                field,
                format!(
                    "{text:?} is not a time: use RFC 3339 (2026-12-03T22:01:00+01:00) or a local time in {} \
                     (2026-12-03 22:01)",
                    self.0
                ),
            )
        };
        let instant = match jiff::Timestamp::from_str(text) {
            Ok(ts) => ts,
            Err(_) => {
                let civil = jiff::civil::DateTime::from_str(text).map_err(|_| hint())?;
                self.zone().to_timestamp(civil).map_err(|_| hint())?
            }
        };
        Timestamp::from_jiff(instant).ok_or_else(hint)
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl FromStr for TimeZoneName {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for TimeZoneName {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(&s)
    }
}

impl From<TimeZoneName> for String {
    fn from(tz: TimeZoneName) -> String {
        tz.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_keep_microseconds_and_round_trip_through_text() {
        let ts = Timestamp::from_unix_micros(1_764_133_231_123_456).unwrap();
        assert_eq!(ts.unix_micros(), 1_764_133_231_123_456);
        let back: Timestamp = ts.to_string().parse().unwrap();
        assert_eq!(back, ts);
        let with_nanos = OffsetDateTime::from_unix_timestamp_nanos(1_764_133_231_123_456_789).unwrap();
        assert_eq!(Timestamp::from_offset(with_nanos), ts);
    }

    #[test]
    fn iana_names_are_accepted_and_others_rejected_with_a_hint() {
        assert_eq!(TimeZoneName::new("Europe/Berlin").unwrap().as_str(), "Europe/Berlin");
        assert!(TimeZoneName::new("Asia/Almaty").is_ok());
        let err = TimeZoneName::new("Mars/Olympus").unwrap_err();
        assert_eq!(err.field, "timezone");
        assert!(err.message.contains("Europe/Berlin"), "{err}");
        assert!(TimeZoneName::new("  ").is_err());
        let parsed: Result<TimeZoneName, _> = serde_json::from_str("\"Nowhere/Land\"");
        assert!(parsed.is_err());
    }

    #[test]
    fn people_type_times_in_rfc3339_or_local_to_the_zone() {
        let berlin = TimeZoneName::new("Europe/Berlin").unwrap();
        let utc = |text: &str| text.parse::<Timestamp>().unwrap();
        assert_eq!(berlin.parse_time("from", "2026-12-03 22:01").unwrap(), utc("2026-12-03T21:01:00Z"));
        assert_eq!(
            berlin.parse_time("from", "2026-12-03T22:01").unwrap(),
            utc("2026-12-03T21:01:00Z"),
            "as browsers send it"
        );
        assert_eq!(berlin.parse_time("from", "2026-07-03T22:01").unwrap(), utc("2026-07-03T20:01:00Z"), "summer time");
        assert_eq!(berlin.parse_time("from", "2026-12-03T22:01:00+03:00").unwrap(), utc("2026-12-03T19:01:00Z"));
        let e = berlin.parse_time("window_start", "yesterday").unwrap_err();
        assert_eq!(e.field, "window_start");
        assert!(e.message.contains("Europe/Berlin"), "{e}");
    }
}
