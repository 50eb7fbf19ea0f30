//! The Redis limiter, bus and waker against a real Redis (`SYNKRO_TEST_REDIS_URL`).

use std::{
    io::Write as _,
    sync::{Arc, Mutex},
    time::Duration,
};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use synkro_core::connector::{Rate, RateLimiter};
use synkro_pipeline::redis::{RedisBus, RedisError, RedisRateLimiter, RedisWaker, connect};
use tokio::time::{Instant, sleep, timeout};

/// The Redis to test against, or `None` (after saying so) when the run has none.
fn redis_url(test: &str) -> Option<String> {
    match std::env::var("SYNKRO_TEST_REDIS_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_owned()),
        _ => {
            assert!(
                std::env::var("SYNKRO_TEST_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "SYNKRO_TEST_REDIS_URL is not set but SYNKRO_TEST_REQUIRE_SERVICES=1 (redis::{test})"
            );
            let _ = writeln!(std::io::stderr(), "skipped: redis::{test}");
            None
        }
    }
}

/// A key prefix no other test (or run) uses.
fn unique_prefix(test: &str) -> String {
    format!("synkro-test:{test}:{}", uuid::Uuid::new_v4().simple())
}

/// `url` pointed at database `db` (replacing any database it names).
fn with_db(url: &str, db: u8) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(base, query)| (base, Some(query)));
    let (scheme, rest) = base.split_once("://").expect("a redis url has a scheme");
    let authority = rest.split('/').next().unwrap_or(rest);
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    format!("{scheme}://{authority}/{db}{query}")
}

async fn limiters(url: &str, prefix: &str, n: usize) -> Vec<Arc<RedisRateLimiter>> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(Arc::new(RedisRateLimiter::new(connect(url).await.expect("redis connects"), prefix)));
    }
    out
}

/// Runs `per_task` acquisitions of `key` in `tasks_each` concurrent tasks per limiter and
/// returns when each slot was claimed (microseconds on Redis's clock), sorted.
async fn claims_from_all(
    limiters: &[Arc<RedisRateLimiter>],
    tasks_each: usize,
    per_task: usize,
    key: &str,
    rate: Rate,
) -> Vec<i64> {
    let claims = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for limiter in limiters {
        for _ in 0..tasks_each {
            let (limiter, claims, key) = (limiter.clone(), claims.clone(), key.to_owned());
            tasks.push(tokio::spawn(async move {
                for _ in 0..per_task {
                    let at = limiter.acquire_slot(&key, rate).await.expect("paced through redis");
                    claims.lock().expect("claims").push(at);
                }
            }));
        }
    }
    for task in tasks {
        task.await.expect("acquiring task");
    }
    let mut claims = claims.lock().expect("claims").clone();
    claims.sort_unstable();
    claims
}

/// Redis's clock now, in microseconds since the Unix epoch.
async fn redis_now(conn: &mut ConnectionManager) -> i64 {
    let (secs, micros): (i64, i64) = redis::cmd("TIME").query_async(conn).await.expect("time");
    secs * 1_000_000 + micros
}

const SECOND: i64 = 1_000_000;

#[tokio::test]
async fn four_workers_together_keep_a_key_under_its_rate() {
    let Some(url) = redis_url("four_workers_together_keep_a_key_under_its_rate") else { return };
    let workers = limiters(&url, &unique_prefix("rate"), 4).await;
    let claims = claims_from_all(&workers, 3, 5, "amocrm:acme", Rate::per_second(20.0)).await;
    assert_eq!(claims.len(), 60);
    for (first, twenty_first) in claims.iter().zip(claims.iter().skip(20)) {
        let span = twenty_first - first;
        assert!(span >= SECOND, "21 claims within {span} µs: more than 20 in one second");
    }
}

#[tokio::test]
async fn one_busy_key_does_not_slow_another() {
    let Some(url) = redis_url("one_busy_key_does_not_slow_another") else { return };
    let prefix = unique_prefix("keys");
    let workers = limiters(&url, &prefix, 2).await;
    let busy_rate = Rate::per_second(1.0);
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let backlog: Vec<_> = (0..15)
        .map(|_| {
            let (worker, done) = (workers[0].clone(), done.clone());
            tokio::spawn(async move {
                worker.acquire("amocrm:busy", busy_rate).await;
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            })
        })
        .collect();
    sleep(Duration::from_millis(100)).await;

    // 15 callers at 1/s keep the key busy for 15 s and more.
    let busy = timeout(Duration::from_millis(300), workers[1].acquire("amocrm:busy", busy_rate)).await;
    assert!(busy.is_err(), "the busy key makes the other worker wait as well");
    workers[1].acquire("amocrm:idle", Rate::per_second(10.0)).await;
    let served = done.load(std::sync::atomic::Ordering::SeqCst);
    assert!(served < 15, "the idle key was served while the busy one still had {} callers waiting", 15 - served);

    // No slots are reserved ahead: the key frees within one interval, and expires a second later.
    let mut admin = connect(&url).await.expect("redis connects");
    let ttl: i64 =
        redis::cmd("PTTL").arg(format!("{prefix}:rate:amocrm:busy")).query_async(&mut admin).await.expect("pttl");
    assert!(ttl <= 1_000 + 1_100, "the key expires shortly after its next slot: {ttl} ms");
    backlog.iter().for_each(|task| task.abort());
}

#[tokio::test]
async fn a_penalty_holds_the_callers_of_every_worker() {
    let Some(url) = redis_url("a_penalty_holds_the_callers_of_every_worker") else { return };
    let workers = limiters(&url, &unique_prefix("penalty"), 3).await;
    let mut admin = connect(&url).await.expect("redis connects");
    let rate = Rate::per_second(100.0);
    let pause = 3 * SECOND;
    let before = redis_now(&mut admin).await;
    workers[0].penalize("amocrm:acme", Duration::from_secs(3)).await;
    let held: Vec<_> = workers[1..]
        .iter()
        .map(|worker| {
            let worker = worker.clone();
            tokio::spawn(async move { worker.acquire_slot("amocrm:acme", rate).await.expect("paced through redis") })
        })
        .collect();
    let other = workers[1].acquire_slot("amocrm:other", rate).await.expect("paced through redis");
    assert!(other < before + pause, "other keys are not held");
    for task in held {
        let at = task.await.expect("acquiring task");
        assert!(at >= before + pause, "another worker's caller was let through {} µs into a 3 s hold", at - before);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_caller_that_wakes_late_claims_its_slot_late() {
    let Some(url) = redis_url("a_caller_that_wakes_late_claims_its_slot_late") else { return };
    let limiter = limiters(&url, &unique_prefix("late"), 1).await.remove(0);
    let mut admin = connect(&url).await.expect("redis connects");
    let rate = Rate::per_second(2.0);
    let first = limiter.acquire_slot("amocrm:acme", rate).await.expect("paced through redis");
    let waiting = {
        let limiter = limiter.clone();
        tokio::spawn(async move { limiter.acquire_slot("amocrm:acme", rate).await.expect("paced through redis") })
    };
    // Let the caller learn its wait, then stall the whole runtime past its slot: the caller
    // wakes about a second late, as on a machine that is busy elsewhere.
    sleep(Duration::from_millis(50)).await;
    let stalled = redis_now(&mut admin).await;
    std::thread::sleep(Duration::from_secs(1));
    let claimed = waiting.await.expect("acquiring task");
    assert!(claimed - first >= SECOND / 2, "claims {} µs apart at 2/s", claimed - first);
    assert!(
        claimed >= stalled + SECOND,
        "the caller's request went out a second after its slot, but the slot it claimed was {} µs before that",
        stalled + SECOND - claimed
    );
}

#[tokio::test]
async fn a_flush_never_brings_two_claims_closer_than_the_interval() {
    let Some(url) = redis_url("a_flush_never_brings_two_claims_closer_than_the_interval") else { return };
    // Only this test uses database 9, so it may flush it.
    let url = with_db(&url, 9);
    let prefix = unique_prefix("flush");
    let workers = limiters(&url, &prefix, 2).await;
    let mut admin = connect(&url).await.expect("redis connects");
    let key = format!("{prefix}:rate:amocrm:acme");
    let rate = Rate::per_second(2.0);
    let interval = SECOND / 2;

    let first = workers[0].acquire_slot("amocrm:acme", rate).await.expect("paced through redis");
    let () = redis::cmd("FLUSHDB").query_async(&mut admin).await.expect("flushdb");
    // What a restart also does: cached scripts are gone.
    let () = redis::cmd("SCRIPT").arg("FLUSH").query_async(&mut admin).await.expect("script flush");
    let exists: bool = redis::cmd("EXISTS").arg(&key).query_async(&mut admin).await.expect("exists");
    assert!(!exists, "the flush emptied the key");

    // The other worker never used the key, so it knows nothing of the first claim.
    let second = workers[1].acquire_slot("amocrm:acme", rate).await.expect("paced through redis");
    assert!(second - first >= interval, "a claim {} µs after the last one, at 2/s", second - first);
    let claims = claims_from_all(&workers, 2, 3, "amocrm:acme", rate).await;
    let mut all = vec![first, second];
    all.extend(claims);
    for pair in all.windows(2) {
        assert!(pair[1] - pair[0] >= interval, "claims {} µs apart, at 2/s", pair[1] - pair[0]);
    }
    let exists: bool = redis::cmd("EXISTS").arg(&key).query_async(&mut admin).await.expect("exists");
    assert!(exists, "the key lives in Redis again");
}

#[tokio::test]
async fn a_hold_survives_a_flush_in_the_worker_that_was_refused() {
    let Some(url) = redis_url("a_hold_survives_a_flush_in_the_worker_that_was_refused") else { return };
    // Only this test uses database 10, so it may flush it.
    let url = with_db(&url, 10);
    let workers = limiters(&url, &unique_prefix("flush-hold"), 1).await;
    let mut admin = connect(&url).await.expect("redis connects");
    let before = redis_now(&mut admin).await;
    workers[0].penalize("amocrm:acme", Duration::from_millis(1_500)).await;
    let () = redis::cmd("FLUSHDB").query_async(&mut admin).await.expect("flushdb");
    let at = workers[0].acquire_slot("amocrm:acme", Rate::per_second(100.0)).await.expect("paced through redis");
    assert!(at >= before + 1_500_000, "the 1.5 s hold was forgotten: a claim {} µs after it began", at - before);
}

#[tokio::test]
async fn an_unreachable_redis_falls_back_to_in_process_pacing() {
    let conn = redis::Client::open("redis://127.0.0.1:1")
        .and_then(|client| client.get_connection_manager_lazy(ConnectionManagerConfig::new()))
        .expect("a lazy manager needs no server");
    let limiter = RedisRateLimiter::new(conn, unique_prefix("down"));
    limiter.penalize("amocrm:other", Duration::from_millis(10)).await;
    let mut stamps = Vec::new();
    for _ in 0..6 {
        let claim = limiter.acquire_slot("amocrm:acme", Rate::per_second(10.0)).await;
        assert_eq!(claim, None, "paced in-process");
        stamps.push(Instant::now());
    }
    let span = stamps[5] - stamps[0];
    assert!(span >= Duration::from_millis(490), "the process still paces at 10/s: 6 requests in {span:?}");
}

#[tokio::test]
async fn connect_errors_name_the_setting_but_not_the_password() {
    let refused = connect("redis://synkro:hunter22@127.0.0.1:1/0").await.map(|_| ()).expect_err("nothing listens");
    let text = refused.to_string();
    assert!(matches!(refused, RedisError::Connect { .. }), "{text}");
    assert!(text.contains("SYNKRO_REDIS_URL") && text.contains("synkro:***@127.0.0.1:1"), "{text}");
    assert!(!text.contains("hunter22") && !format!("{refused:?}").contains("hunter22"), "{text}");

    let invalid = connect("http://synkro:hunter22@cache").await.map(|_| ()).expect_err("not redis");
    let text = invalid.to_string();
    assert!(matches!(invalid, RedisError::InvalidUrl { .. }) && text.contains("SYNKRO_REDIS_URL"), "{text}");
    assert!(!text.contains("hunter22"), "{text}");
}

#[tokio::test]
async fn a_published_event_reaches_every_other_node() {
    let Some(url) = redis_url("a_published_event_reaches_every_other_node") else { return };
    let prefix = unique_prefix("bus");
    let publisher = RedisBus::start(&url, &prefix).await.expect("bus starts");
    let (second, third) =
        (RedisBus::start(&url, &prefix).await.expect("bus"), RedisBus::start(&url, &prefix).await.expect("bus"));
    let elsewhere = RedisBus::start(&url, &unique_prefix("bus")).await.expect("bus");
    let (mut at_second, mut at_third, mut at_elsewhere) =
        (second.subscribe(), third.subscribe(), elsewhere.subscribe());

    let event = serde_json::json!({"job": "j-1", "step": "merge", "progress": 40}).to_string();
    publisher.publish(&event).await.expect("publish");
    for receiver in [&mut at_second, &mut at_third] {
        let got = timeout(Duration::from_secs(60), receiver.recv()).await.expect("arrives (hang guard)").expect("open");
        assert_eq!(got, event);
    }
    sleep(Duration::from_millis(50)).await;
    assert!(at_elsewhere.try_recv().is_err(), "another prefix hears nothing");
}

#[tokio::test]
async fn a_wake_from_one_process_wakes_a_worker_in_another() {
    let Some(url) = redis_url("a_wake_from_one_process_wakes_a_worker_in_another") else { return };
    let prefix = unique_prefix("wake");
    let (enqueuer, worker) = (
        RedisWaker::start(&url, &prefix).await.expect("waker"),
        RedisWaker::start(&url, &prefix).await.expect("waker"),
    );
    assert!(timeout(Duration::from_millis(200), worker.notified()).await.is_err(), "no wake, no wake-up");

    let idle = worker.clone();
    let waiting = tokio::spawn(async move { idle.notified().await });
    sleep(Duration::from_millis(50)).await;
    enqueuer.wake().await.expect("wake");
    timeout(Duration::from_secs(60), waiting).await.expect("woken (hang guard)").expect("task");
}

#[tokio::test]
async fn the_bus_resubscribes_after_losing_its_connection() {
    let Some(url) = redis_url("the_bus_resubscribes_after_losing_its_connection") else { return };
    let Some((scheme, rest)) = url.split_once("://").filter(|(_, rest)| !rest.contains('@')) else {
        let _ = writeln!(
            std::io::stderr(),
            "skipped: redis::the_bus_resubscribes_after_losing_its_connection (url has credentials)"
        );
        return;
    };
    // A user of its own, so that killing its connections touches no other test.
    let id = uuid::Uuid::new_v4().simple().to_string();
    let user = format!("synkro-test-{id}");
    let mut admin = connect(&url).await.expect("redis connects");
    let () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg(&user)
        .arg(&["on", &format!(">{id}"), "~*", "&*", "+@all"])
        .query_async(&mut admin)
        .await
        .expect("acl setuser");
    let prefix = unique_prefix("reconnect");
    let bus = RedisBus::start(&format!("{scheme}://{user}:{id}@{rest}"), &prefix).await.expect("bus");
    let mut events = bus.subscribe();

    let killed: i64 =
        redis::cmd("CLIENT").arg("KILL").arg("USER").arg(&user).query_async(&mut admin).await.expect("kill");
    let received = receive_after_kill(&mut admin, &bus, &mut events, &format!("{prefix}:events")).await;
    let _: i64 = redis::cmd("ACL").arg("DELUSER").arg(&user).query_async(&mut admin).await.expect("acl deluser");
    assert!(killed >= 2, "the bus's connections were killed ({killed})");
    let (outside, own) = received;
    assert!(outside, "events published elsewhere arrive again after the connection was lost");
    assert!(own, "the bus can publish again after the connection was lost");
}

/// Whether an event published by `admin` and then one published by `bus` arrive (giving up
/// after a minute: a hang guard).
async fn receive_after_kill(
    admin: &mut ConnectionManager,
    bus: &RedisBus,
    events: &mut tokio::sync::broadcast::Receiver<String>,
    channel: &str,
) -> (bool, bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut outside = false;
    while !outside && Instant::now() < deadline {
        let _: i64 = redis::cmd("PUBLISH").arg(channel).arg("from-outside").query_async(admin).await.expect("publish");
        outside = matches!(timeout(Duration::from_millis(200), events.recv()).await, Ok(Ok(m)) if m == "from-outside");
    }
    let mut own = false;
    while outside && !own && Instant::now() < deadline {
        if bus.publish("from-bus").await.is_err() {
            sleep(Duration::from_millis(100)).await;
            continue;
        }
        while let Ok(Ok(message)) = timeout(Duration::from_millis(200), events.recv()).await {
            own |= message == "from-bus";
        }
    }
    (outside, own)
}
