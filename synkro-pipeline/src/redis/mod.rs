//! Redis for deployments with several worker processes: a rate limiter shared by every worker,
//! a bus that fans job progress events out to every API node, and a waker for idle workers.
//!
//! Redis never holds job state. The database stays the source of truth, so losing Redis
//! (outage, restart, `FLUSHDB`) only slows a deployment down: the limiter paces in-process
//! meanwhile, subscriptions reconnect by themselves, and workers keep polling the database.

mod bus;
mod limiter;

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub use bus::{RedisBus, RedisWaker};
pub use limiter::RedisRateLimiter;

/// The prefix of every key and channel the service's Redis parts use (`synkro:rate:…`,
/// `synkro:events`, `synkro:wake`).
pub const KEY_PREFIX: &str = "synkro";

/// Longest wait for one connection attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest wait for one reply on an established connection.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// What can go wrong talking to Redis. No text ever includes the URL's password.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// The URL is not a Redis URL.
    #[error("SYNKRO_REDIS_URL is not a valid redis url ({url}): {reason}")]
    InvalidUrl {
        /// The URL, password replaced by `***`.
        url: String,
        /// Why it does not parse.
        reason: String,
    },
    /// Redis could not be reached (or refused the connection, e.g. wrong password).
    #[error("cannot connect to redis at SYNKRO_REDIS_URL ({url}): {reason}")]
    Connect {
        /// The URL, password replaced by `***`.
        url: String,
        /// What the connection attempt reported.
        reason: String,
    },
    /// A command failed or timed out on an established connection.
    #[error("redis {command} failed: {reason}")]
    Command {
        /// The Redis command.
        command: &'static str,
        /// What Redis or the connection reported.
        reason: String,
    },
}

/// Connects (with reconnection) to `url`; errors name SYNKRO_REDIS_URL and never include the
/// password.
///
/// The connection is established before this returns, so a wrong URL fails at startup. Later
/// connection losses are repaired in the background: the command that notices one fails, and
/// the next ones use a fresh connection.
pub async fn connect(url: &str) -> Result<ConnectionManager, RedisError> {
    let client = open(url)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(3)
        .set_max_delay(Duration::from_secs(1));
    ConnectionManager::new_with_config(client, config)
        .await
        .map_err(|e| RedisError::Connect { url: redact_url(url), reason: scrub(&e.to_string(), url) })
}

/// A client for `url` (no connection yet).
fn open(url: &str) -> Result<redis::Client, RedisError> {
    redis::Client::open(url)
        .map_err(|e| RedisError::InvalidUrl { url: redact_url(url), reason: scrub(&e.to_string(), url) })
}

/// `url` with the password (and any `pass…` query parameter) replaced by `***`. A user part
/// without a `:` is hidden whole, since some clients read it as a password.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return if url.contains('@') { "***".to_owned() } else { url.to_owned() };
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("***@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) if name.to_ascii_lowercase().contains("pass") => format!("{name}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// `text` with every secret of `url` replaced by `***`, in case a driver message quotes it.
fn scrub(text: &str, url: &str) -> String {
    let mut text = text.to_owned();
    for secret in secrets(url) {
        text = text.replace(secret, "***");
    }
    text
}

/// The secret parts of `url`: the password (or a user part without `:`) and `pass…` query values.
fn secrets(url: &str) -> Vec<&str> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let mut found = Vec::new();
    if let Some((userinfo, _)) = rest[..end].rsplit_once('@') {
        found.push(userinfo.split_once(':').map_or(userinfo, |(_, password)| password));
    }
    if let Some((_, query)) = rest.split_once('?') {
        for pair in query.split('&') {
            if let Some((name, value)) = pair.split_once('=')
                && name.to_ascii_lowercase().contains("pass")
            {
                found.push(value);
            }
        }
    }
    found.retain(|secret| !secret.is_empty());
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_passwords() {
        assert_eq!(redact_url("redis://app:s3cret@cache:6379/2"), "redis://app:***@cache:6379/2");
        assert_eq!(redact_url("rediss://:s3cret@cache"), "rediss://:***@cache");
        assert_eq!(redact_url("redis://s3cret@cache"), "redis://***@cache");
        assert_eq!(
            redact_url("redis+unix:///run/redis.sock?db=1&pass=s3cret"),
            "redis+unix:///run/redis.sock?db=1&pass=***"
        );
        assert_eq!(redact_url("redis://cache:6379"), "redis://cache:6379");
        assert_eq!(scrub("auth failed for s3cret", "redis://u:s3cret@h"), "auth failed for ***");
    }
}
