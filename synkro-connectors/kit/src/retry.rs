//! Backoff delays and server delay hints.

use std::time::Duration;

use reqwest::header::HeaderMap;

/// Exponential backoff with jitter: `base · 2^(attempt-1)`, capped at `cap`, then reduced by a
/// random 0-25 % so that clients that failed together do not retry together.
pub fn backoff_delay(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    let capped = exp.min(cap);
    capped.mul_f64(1.0 - fastrand::f64() * 0.25)
}

/// The delay a server asked for: `retry-after-ms` (milliseconds), else `Retry-After` as
/// seconds or as an HTTP date.
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) =
        headers.get("retry-after-ms").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<f64>().ok())
    {
        return (ms >= 0.0).then(|| Duration::from_secs_f64(ms / 1000.0));
    }
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = when.duration_since(jiff::Timestamp::now());
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_at_most_a_quarter_of_jitter() {
        let (base, cap) = (Duration::from_millis(100), Duration::from_secs(1));
        for _ in 0..50 {
            let d1 = backoff_delay(1, base, cap);
            let d3 = backoff_delay(3, base, cap);
            let d9 = backoff_delay(9, base, cap);
            assert!(d1 <= base && d1 >= base.mul_f64(0.75), "{d1:?}");
            assert!(d3 <= base * 4 && d3 >= (base * 4).mul_f64(0.75), "{d3:?}");
            assert!(d9 <= cap && d9 >= cap.mul_f64(0.75), "{d9:?}");
        }
    }

    #[test]
    fn retry_after_in_seconds_milliseconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "3".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(3)));
        h.insert("retry-after-ms", "250".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::from_millis(250)), "the finer header wins");
        let mut h = HeaderMap::new();
        h.insert("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::ZERO), "a past date means now");
        h.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(parse_retry_after(&h), None);
    }
}
