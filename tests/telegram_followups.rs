//! Telegram follow-ups against the sandbox, on SQLite and PostgreSQL: tenants that share one
//! bot each get their questions answered (the bot is read once, from one offset); two nodes
//! never both read a bot, and a node that stops hands it over; a group that became a supergroup
//! is stored, whether a delivery or the updates revealed it, and used from then on.

#![allow(clippy::unwrap_used)]

use std::{collections::BTreeMap, time::Duration};

use serde_json::{Value, json};
use synkro::{
    Keyring, PageRequest, Store,
    connector::HttpSettings,
    domain::{AuditFilter, ConnectorKind, JobStatus, ReportMode, Tenant, TenantStatus, TenantUpdate, TriggerType},
    pipeline::{
        ReportRequest, WorkerConfig, Workers,
        followup::{TelegramFollowups, telegram_pass},
    },
    time::Timestamp,
};
use synkro_sandbox::{Sandbox, SandboxConfig, Service, TELEGRAM_BOT_USERNAME, TenantSetup};

synkro::on_both_backends!(
    tenants_sharing_a_bot_each_get_every_question_answered,
    two_nodes_never_both_read_a_bot_and_a_stopping_node_hands_it_over,
    a_chat_moved_during_delivery_is_stored_and_used_from_then_on,
    a_chat_move_seen_in_the_updates_is_stored_and_used_from_then_on,
);

/// Beta's chat (acme uses the sandbox's configured chat).
const BETA_CHAT: i64 = -1_005_550_000_002;
/// A group that becomes a supergroup ...
const OLD_GROUP: i64 = -4_001_234;
/// ... with this id.
const SUPERGROUP: i64 = -1_009_999_999_999;

fn followups() -> TelegramFollowups {
    TelegramFollowups::new(Duration::from_secs(5))
}

/// A node named `node`: its service and a one-worker pool (not started).
async fn engine(store: &Store, sandbox: &Sandbox, keyring: &Keyring, node: &str) -> Workers {
    let registry = synkro::connector::Registry::from_linked().unwrap();
    let mut builder = synkro::pipeline::Service::builder(store.clone(), registry, keyring.clone())
        .node(node)
        .outbound(synkro::connector::OutboundPolicy::loopback())
        .http(HttpSettings { backoff_base: Duration::from_millis(20), max_attempts: 4, ..Default::default() });
    for (kind, url) in sandbox.endpoints() {
        builder = builder.endpoint(kind, url);
    }
    Workers::new(&builder.build().await.unwrap(), WorkerConfig { workers: 1, ..Default::default() })
}

/// A tenant in crm_only mode whose Telegram chat is `chat`.
async fn tenant(sandbox: &Sandbox, store: &Store, keyring: &Keyring, slug: &str, chat: i64) -> Tenant {
    sandbox.telegram_add_chat(chat);
    let settings = BTreeMap::from([("telegram".to_owned(), json!({"chat_id": chat.to_string()}))]);
    let setup = TenantSetup { mode: ReportMode::CrmOnly, supabase: false, settings, ..TenantSetup::full(slug) };
    sandbox.provision_tenant(store, keyring, &setup).await.unwrap()
}

/// Runs `tenant`'s report for the sandbox's day moved back `days_back` days, and checks it ran.
async fn report(engine: &Workers, sandbox: &Sandbox, tenant: &Tenant, days_back: i64) {
    let shift = time::Duration::days(days_back);
    let (start, end) = (sandbox.config().window_start, sandbox.config().window_end());
    let request = ReportRequest { trigger: TriggerType::System, ..ReportRequest::manual(tenant.id) };
    let job = engine.service().enqueue_report(request.window(start + -shift, end + -shift)).await.unwrap();
    while engine.run_next("test-worker").await.unwrap().is_some_and(|j| j.id != job.id || !j.status.is_finished()) {}
    assert_eq!(engine.service().store().get_job(job.id).await.unwrap().status, JobStatus::Success);
}

/// Asks the bot `text` in `chat`.
fn ask(sandbox: &Sandbox, chat: i64, text: &str) {
    sandbox.telegram_push_update(chat, "anna", false, &format!("@{TELEGRAM_BOT_USERNAME} {text}"));
}

/// Replies the bot sent: (chat, message replied to), in order.
fn replies(sandbox: &Sandbox) -> Vec<(i64, i64)> {
    sandbox.telegram_sent().iter().filter_map(|m| Some((m.chat_id, m.reply_to_message_id?))).collect()
}

/// The offsets of the `getUpdates` calls the sandbox received, in order.
fn polled_offsets(sandbox: &Sandbox) -> Vec<Option<i64>> {
    sandbox
        .requests(Service::Telegram)
        .iter()
        .filter(|r| r.path.ends_with("/getUpdates"))
        .map(|r| {
            serde_json::from_str::<Value>(r.body.as_deref().unwrap()).unwrap().get("offset").and_then(Value::as_i64)
        })
        .collect()
}

async fn stored_chat(store: &Store, tenant: &Tenant) -> String {
    let telegram = ConnectorKind::new("telegram").unwrap();
    let integration = store.get_integration(tenant.id, &telegram).await.unwrap();
    integration.public_config["chat_id"].as_str().unwrap().to_owned()
}

async fn chat_moves(store: &Store, tenant: &Tenant) -> Vec<Value> {
    let filter = AuditFilter {
        tenant_id: Some(tenant.id),
        action: Some("integration.chat_migrated".into()),
        ..Default::default()
    };
    store
        .list_audit(&filter, &PageRequest::first(10).unwrap())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|a| a.metadata)
        .collect()
}

/// `sendMessage` calls addressed to `chat`.
fn sends_to(sandbox: &Sandbox, chat: i64) -> usize {
    sandbox
        .requests(Service::Telegram)
        .iter()
        .filter(|r| r.path.ends_with("/sendMessage"))
        .filter(|r| {
            let body: Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
            body["chat_id"].to_string().trim_matches('"') == chat.to_string()
        })
        .count()
}

/// The questions stored on `tenant`'s latest report, sorted.
async fn questions_of(store: &Store, tenant: &Tenant) -> Vec<String> {
    let report = store.latest_report(tenant.id).await.unwrap().unwrap();
    let mut asked: Vec<String> =
        store.recent_report_messages(report.id, 50).await.unwrap().into_iter().map(|m| m.question).collect();
    asked.sort();
    asked
}

async fn tenants_sharing_a_bot_each_get_every_question_answered(store: &Store) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let keyring = Keyring::generate();
    let engine = engine(store, &sandbox, &keyring, "node-a").await;
    let acme_chat = sandbox.credentials().telegram_chat_id;
    let acme = tenant(&sandbox, store, &keyring, "acme", acme_chat).await;
    let beta = tenant(&sandbox, store, &keyring, "beta", BETA_CHAT).await;
    report(&engine, &sandbox, &acme, 0).await;
    report(&engine, &sandbox, &beta, 0).await;
    let settings = followups();

    ask(&sandbox, acme_chat, "сколько сделок?");
    ask(&sandbox, BETA_CHAT, "а у нас?");
    let first = telegram_pass(engine.service(), &settings, Timestamp::now()).await.unwrap();
    assert_eq!((first.polled, first.answered, first.closed), (1, 2, 0), "one read of the bot serves both tenants");

    ask(&sandbox, BETA_CHAT, "и конверсия?");
    ask(&sandbox, -1_000_000_000_777, "чужой чат, ни одного клиента");
    ask(&sandbox, acme_chat, "а выручка?");
    ask(&sandbox, BETA_CHAT, "а риски?");
    let second = telegram_pass(engine.service(), &settings, Timestamp::now()).await.unwrap();
    assert_eq!((second.polled, second.answered), (1, 3));
    let third = telegram_pass(engine.service(), &settings, Timestamp::now()).await.unwrap();
    assert_eq!((third.polled, third.answered, third.closed), (1, 0, 0), "each update is read once");

    assert_eq!(questions_of(store, &acme).await, ["а выручка?", "сколько сделок?"], "about acme's own report");
    assert_eq!(questions_of(store, &beta).await, ["а риски?", "а у нас?", "и конверсия?"]);
    let replies = replies(&sandbox);
    let in_chat = |chat: i64| replies.iter().filter(|(c, _)| *c == chat).count();
    assert_eq!((in_chat(acme_chat), in_chat(BETA_CHAT), replies.len()), (2, 3, 5), "{replies:?}");
    let mut distinct = replies.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), replies.len(), "no question answered twice: {replies:?}");

    let offsets = polled_offsets(&sandbox);
    assert_eq!(offsets.len(), 3, "the bot is read once per pass, however many tenants use it: {offsets:?}");
    assert!(offsets.windows(2).all(|w| w[0] <= w[1]), "one offset for the bot, never backwards: {offsets:?}");

    // Follow-ups are for active tenants only.
    let paused = TenantUpdate { status: Some(TenantStatus::Paused), ..Default::default() };
    store.update_tenant(beta.id, &paused).await.unwrap();
    ask(&sandbox, BETA_CHAT, "ответишь?");
    ask(&sandbox, acme_chat, "а ты?");
    let fourth = telegram_pass(engine.service(), &settings, Timestamp::now()).await.unwrap();
    assert_eq!(fourth.answered, 1);
    assert_eq!(questions_of(store, &beta).await.len(), 3, "a paused tenant's chat gets no answers");
    assert_eq!(questions_of(store, &acme).await.len(), 3);
}

async fn two_nodes_never_both_read_a_bot_and_a_stopping_node_hands_it_over(store: &Store) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let keyring = Keyring::generate();
    let (a, b) = (engine(store, &sandbox, &keyring, "node-a").await, engine(store, &sandbox, &keyring, "node-b").await);
    let chat = sandbox.credentials().telegram_chat_id;
    let acme = tenant(&sandbox, store, &keyring, "acme", chat).await;
    report(&a, &sandbox, &acme, 0).await;
    let settings = followups();

    ask(&sandbox, chat, "сколько сделок?");
    let (pa, pb) = tokio::join!(
        telegram_pass(a.service(), &settings, Timestamp::now()),
        telegram_pass(b.service(), &settings, Timestamp::now())
    );
    let (pa, pb) = (pa.unwrap(), pb.unwrap());
    assert_eq!((pa.polled + pb.polled, pa.busy + pb.busy, pa.answered + pb.answered), (1, 1, 1), "{pa:?} {pb:?}");
    assert_eq!(polled_offsets(&sandbox).len(), 1, "only the node holding the bot asked Telegram");
    let (holder, other) = if pa.polled == 1 { (&a, &b) } else { (&b, &a) };

    // The holder keeps the bot while it runs; the other node's passes skip it.
    ask(&sandbox, chat, "а выручка?");
    let skipped = telegram_pass(other.service(), &settings, Timestamp::now()).await.unwrap();
    assert_eq!((skipped.polled, skipped.busy, skipped.answered), (0, 1, 0));
    let kept = telegram_pass(holder.service(), &settings, Timestamp::now()).await.unwrap();
    assert_eq!((kept.polled, kept.answered), (1, 1));

    // A node whose follow-ups stop hands the bot over at once, not when its lease runs out.
    holder.start_followups(followups()).await;
    holder.shutdown().await;
    let bot = format!("telegram:{}", sandbox.credentials().telegram_bot_token.split(':').next().unwrap());
    let poller = store.telegram_poller(&bot).await.unwrap().unwrap();
    assert_eq!((poller.lease_owner, poller.lease_expires_at), (None, None));
    ask(&sandbox, chat, "а риски?");
    let took = telegram_pass(other.service(), &settings, Timestamp::now()).await.unwrap();
    assert_eq!((took.polled, took.busy, took.answered), (1, 0, 1));

    let replies = replies(&sandbox);
    assert_eq!(replies.len(), 3, "every question answered once: {replies:?}");
    assert_eq!(questions_of(store, &acme).await.len(), 3);
}

async fn a_chat_moved_during_delivery_is_stored_and_used_from_then_on(store: &Store) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let keyring = Keyring::generate();
    let engine = engine(store, &sandbox, &keyring, "node-a").await;
    let acme = tenant(&sandbox, store, &keyring, "acme", OLD_GROUP).await;
    sandbox.telegram_migrate_chat(OLD_GROUP, SUPERGROUP);

    report(&engine, &sandbox, &acme, 0).await;
    assert_eq!(sends_to(&sandbox, OLD_GROUP), 1, "the first delivery learns of the move");
    assert_eq!(stored_chat(store, &acme).await, SUPERGROUP.to_string(), "and stores it");
    let moves = chat_moves(store, &acme).await;
    assert_eq!(moves.len(), 1, "{moves:?}");
    assert_eq!(moves[0]["old_chat_id"], OLD_GROUP.to_string());
    assert_eq!(moves[0]["new_chat_id"], SUPERGROUP.to_string());
    assert_eq!(moves[0]["seen_in"], "delivery");

    report(&engine, &sandbox, &acme, 1).await;
    assert_eq!(sends_to(&sandbox, OLD_GROUP), 1, "the next delivery goes straight to the supergroup");
    assert!(sandbox.telegram_sent().iter().all(|m| m.chat_id == SUPERGROUP));
    assert_eq!(sandbox.telegram_sent().iter().filter(|m| m.text.contains(&acme.name)).count(), 2);

    ask(&sandbox, SUPERGROUP, "сколько сделок?");
    let pass = telegram_pass(engine.service(), &followups(), Timestamp::now()).await.unwrap();
    assert_eq!(pass.answered, 1, "follow-ups listen in the supergroup");
    assert_eq!(replies(&sandbox).iter().map(|(chat, _)| *chat).collect::<Vec<_>>(), [SUPERGROUP]);
    assert_eq!(chat_moves(store, &acme).await.len(), 1, "the move is audited once");
}

async fn a_chat_move_seen_in_the_updates_is_stored_and_used_from_then_on(store: &Store) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let keyring = Keyring::generate();
    let engine = engine(store, &sandbox, &keyring, "node-a").await;
    let acme = tenant(&sandbox, store, &keyring, "acme", OLD_GROUP).await;
    report(&engine, &sandbox, &acme, 0).await;
    assert_eq!(sends_to(&sandbox, OLD_GROUP), 1);

    // The group becomes a supergroup between deliveries; the bot's updates say so.
    sandbox.telegram_migrate_chat(OLD_GROUP, SUPERGROUP);
    ask(&sandbox, SUPERGROUP, "сколько сделок?");
    let first = telegram_pass(engine.service(), &followups(), Timestamp::now()).await.unwrap();
    assert_eq!(first.answered, 1, "a question in the supergroup is the tenant's");
    assert_eq!(sends_to(&sandbox, OLD_GROUP), 1, "the answer goes straight to the supergroup");
    assert_eq!(stored_chat(store, &acme).await, SUPERGROUP.to_string());
    let moves = chat_moves(store, &acme).await;
    assert_eq!(moves.len(), 1, "{moves:?}");
    assert_eq!(moves[0]["seen_in"], "follow-up");

    ask(&sandbox, SUPERGROUP, "а выручка?");
    let second = telegram_pass(engine.service(), &followups(), Timestamp::now()).await.unwrap();
    assert_eq!(second.answered, 1, "the next pass listens in the supergroup from the stored settings");
    assert!(replies(&sandbox).iter().all(|(chat, _)| *chat == SUPERGROUP), "{:?}", replies(&sandbox));

    report(&engine, &sandbox, &acme, 1).await;
    assert_eq!(sends_to(&sandbox, OLD_GROUP), 1, "the next delivery goes straight to the supergroup");
    assert_eq!(chat_moves(store, &acme).await.len(), 1);
}
