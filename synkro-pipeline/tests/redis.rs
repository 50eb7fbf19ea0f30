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
/// returns when each acquisition returned, sorted.
async fn acquire_from_all(
    limiters: &[Arc<RedisRateLimiter>],
    tasks_each: usize,
    per_task: usize,
    key: &str,
    rate: Rate,
) -> Vec<Instant> {
    let stamps = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for limiter in limiters {
        for _ in 0..tasks_each {
            let (limiter, stamps, key) = (limiter.clone(), stamps.clone(), key.to_owned());
            tasks.push(tokio::spawn(async move {
                for _ in 0..per_task {
                    limiter.acquire(&key, rate).await;
                    stamps.lock().expect("stamps").push(Instant::now());
                }
            }));
        }
    }
    for task in tasks {
        task.await.expect("acquiring task");
    }
    let mut stamps = stamps.lock().expect("stamps").clone();
    stamps.sort();
    stamps
}

#[tokio::test]
async fn four_workers_together_keep_a_key_under_its_rate() {
    let Some(url) = redis_url("four_workers_together_keep_a_key_under_its_rate") else { return };
    let workers = limiters(&url, &unique_prefix("rate"), 4).await;
    let start = Instant::now();
    let stamps = acquire_from_all(&workers, 3, 5, "amocrm:acme", Rate::per_second(20.0)).await;
    let took = start.elapsed();
    assert_eq!(stamps.len(), 60);
    assert!(took >= Duration::from_millis(2900), "60 requests at 20/s need ~3 s, took {took:?}");
    assert!(took < Duration::from_millis(3500), "but the pace stays near the rate, took {took:?}");
    for (first, twenty_first) in stamps.iter().zip(stamps.iter().skip(20)) {
        let span = *twenty_first - *first;
        assert!(span >= Duration::from_secs(1), "21 requests within {span:?}: more than 20 in one second");
    }
}

#[tokio::test]
async fn one_busy_key_does_not_slow_another() {
    let Some(url) = redis_url("one_busy_key_does_not_slow_another") else { return };
    let prefix = unique_prefix("keys");
    let workers = limiters(&url, &prefix, 2).await;
    let rate = Rate::per_second(10.0);
    let backlog: Vec<_> = (0..15)
        .map(|_| {
            let worker = workers[0].clone();
            tokio::spawn(async move { worker.acquire("amocrm:busy", rate).await })
        })
        .collect();
    sleep(Duration::from_millis(100)).await;

    let busy = timeout(Duration::from_millis(300), workers[1].acquire("amocrm:busy", rate)).await;
    assert!(busy.is_err(), "the busy key makes the other worker wait as well");
    let start = Instant::now();
    workers[1].acquire("amocrm:idle", rate).await;
    let took = start.elapsed();
    assert!(took < Duration::from_millis(150), "the idle key is served at once, took {took:?}");

    let mut admin = connect(&url).await.expect("redis connects");
    let ttl: i64 =
        redis::cmd("PTTL").arg(format!("{prefix}:rate:amocrm:busy")).query_async(&mut admin).await.expect("pttl");
    assert!((1_000..4_000).contains(&ttl), "the key expires shortly after its slot passes: {ttl} ms");
    backlog.iter().for_each(|task| task.abort());
}

#[tokio::test]
async fn a_penalty_holds_the_callers_of_every_worker() {
    let Some(url) = redis_url("a_penalty_holds_the_callers_of_every_worker") else { return };
    let workers = limiters(&url, &unique_prefix("penalty"), 3).await;
    let rate = Rate::per_second(100.0);
    let start = Instant::now();
    workers[0].penalize("amocrm:acme", Duration::from_millis(800)).await;
    let held: Vec<_> = workers[1..]
        .iter()
        .map(|worker| {
            let worker = worker.clone();
            tokio::spawn(async move {
                worker.acquire("amocrm:acme", rate).await;
                start.elapsed()
            })
        })
        .collect();
    let other = Instant::now();
    workers[1].acquire("amocrm:other", rate).await;
    assert!(other.elapsed() < Duration::from_millis(150), "other keys are not held");
    for task in held {
        let waited = task.await.expect("acquiring task");
        assert!(waited >= Duration::from_millis(780), "another worker's caller was let through after {waited:?}");
        assert!(waited < Duration::from_millis(1300), "the hold ends with the pause, took {waited:?}");
    }
}

#[tokio::test]
async fn pacing_resumes_after_redis_loses_its_data() {
    let Some(url) = redis_url("pacing_resumes_after_redis_loses_its_data") else { return };
    // Only this test uses database 9, so it may flush it.
    let url = with_db(&url, 9);
    let prefix = unique_prefix("flush");
    let workers = limiters(&url, &prefix, 2).await;
    let mut admin = connect(&url).await.expect("redis connects");
    let key = format!("{prefix}:rate:amocrm:acme");
    let rate = Rate::per_second(10.0);

    acquire_from_all(&workers, 1, 3, "amocrm:acme", rate).await;
    let () = redis::cmd("FLUSHDB").query_async(&mut admin).await.expect("flushdb");
    // What a restart also does: cached scripts are gone.
    let () = redis::cmd("SCRIPT").arg("FLUSH").query_async(&mut admin).await.expect("script flush");
    let exists: bool = redis::cmd("EXISTS").arg(&key).query_async(&mut admin).await.expect("exists");
    assert!(!exists, "the flush emptied the bucket");

    let start = Instant::now();
    let stamps = acquire_from_all(&workers, 1, 5, "amocrm:acme", rate).await;
    assert!(start.elapsed() < Duration::from_secs(3), "acquisitions keep working after the flush");
    let span = stamps[stamps.len() - 1] - stamps[0];
    assert!(span >= Duration::from_millis(880), "10 requests at 10/s shared by both workers span {span:?}");
    let exists: bool = redis::cmd("EXISTS").arg(&key).query_async(&mut admin).await.expect("exists");
    assert!(exists, "the bucket lives in Redis again");
}

#[tokio::test]
async fn an_unreachable_redis_falls_back_to_in_process_pacing() {
    let conn = redis::Client::open("redis://127.0.0.1:1")
        .and_then(|client| client.get_connection_manager_lazy(ConnectionManagerConfig::new()))
        .expect("a lazy manager needs no server");
    let limiter = RedisRateLimiter::new(conn, unique_prefix("down"));
    let start = Instant::now();
    limiter.penalize("amocrm:other", Duration::from_millis(10)).await;
    let mut stamps = Vec::new();
    for _ in 0..6 {
        limiter.acquire("amocrm:acme", Rate::per_second(10.0)).await;
        stamps.push(Instant::now());
    }
    let took = start.elapsed();
    assert!(took < Duration::from_millis(1500), "an outage costs at most one short timeout, took {took:?}");
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
        let got = timeout(Duration::from_secs(1), receiver.recv()).await.expect("arrives within 1 s").expect("open");
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
    let start = Instant::now();
    enqueuer.wake().await.expect("wake");
    timeout(Duration::from_secs(1), waiting).await.expect("woken within 1 s").expect("task");
    assert!(start.elapsed() < Duration::from_secs(1));
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

/// Whether, within 5 s, an event published by `admin` and then one published by `bus` arrive.
async fn receive_after_kill(
    admin: &mut ConnectionManager,
    bus: &RedisBus,
    events: &mut tokio::sync::broadcast::Receiver<String>,
    channel: &str,
) -> (bool, bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
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
