//! Telegram's store operations on SQLite and PostgreSQL: one poller per bot (a lease only one
//! node holds at a time, an offset that never moves backwards and outlives the lease holder),
//! and a chat move written into the integration's settings with an audit entry, once.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::json;
use synkro::{
    Keyring, PageRequest, Store, StoreError, domain::*, secrets::SecretMap, store::TelegramPoller, time::Timestamp,
};

synkro::on_both_backends!(
    a_bot_is_leased_by_one_node_and_its_offset_never_moves_backwards,
    concurrent_nodes_never_both_lease_a_bot,
    a_moved_chat_is_stored_once_with_an_audit_entry,
);

const LEASE: Duration = Duration::from_secs(60);

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(secs).unwrap()
}

async fn a_bot_is_leased_by_one_node_and_its_offset_never_moves_backwards(store: &Store) {
    let (bot, t0) = ("telegram:123456789", 1_800_000_000);
    assert_eq!(store.telegram_poller(bot).await.unwrap(), None);
    let first = store.lease_telegram_poller(bot, "node-a", LEASE, ts(t0)).await.unwrap().unwrap();
    let expected = TelegramPoller {
        bot: bot.into(),
        lease_owner: Some("node-a".into()),
        lease_expires_at: Some(ts(t0 + 60)),
        next_offset: None,
        updated_at: ts(t0),
    };
    assert_eq!(first, expected, "a new bot starts without an offset");
    assert_eq!(store.telegram_poller(bot).await.unwrap(), Some(expected));

    assert_eq!(store.lease_telegram_poller(bot, "node-b", LEASE, ts(t0 + 1)).await.unwrap(), None, "held by node-a");
    assert_eq!(store.save_telegram_offset(bot, "node-b", 99, LEASE, ts(t0 + 1)).await.unwrap(), None, "not b's");
    assert_eq!(store.save_telegram_offset(bot, "node-a", 10, LEASE, ts(t0 + 2)).await.unwrap(), Some(10));
    assert_eq!(store.save_telegram_offset(bot, "node-a", 5, LEASE, ts(t0 + 3)).await.unwrap(), Some(10), "never back");
    let big = 9_000_000_000_i64;
    assert_eq!(store.save_telegram_offset(bot, "node-a", big, LEASE, ts(t0 + 4)).await.unwrap(), Some(big));
    let saved = store.telegram_poller(bot).await.unwrap().unwrap();
    assert_eq!((saved.next_offset, saved.lease_expires_at), (Some(big), Some(ts(t0 + 64))), "saving extends the lease");

    // The holder renews; another node waits until the lease runs out, then reads on from the
    // same offset, and the old holder can no longer save.
    assert!(store.lease_telegram_poller(bot, "node-a", LEASE, ts(t0 + 30)).await.unwrap().is_some());
    assert_eq!(store.lease_telegram_poller(bot, "node-b", LEASE, ts(t0 + 90)).await.unwrap(), None);
    let taken = store.lease_telegram_poller(bot, "node-b", LEASE, ts(t0 + 91)).await.unwrap().unwrap();
    assert_eq!((taken.lease_owner.as_deref(), taken.next_offset), (Some("node-b"), Some(big)));
    assert_eq!(store.save_telegram_offset(bot, "node-a", big + 5, LEASE, ts(t0 + 92)).await.unwrap(), None, "fenced");

    // Bots are independent.
    let other = store.lease_telegram_poller("telegram:42", "node-a", LEASE, ts(t0 + 92)).await.unwrap().unwrap();
    assert_eq!(other.next_offset, None);

    // A node that stops hands its bots over at once.
    assert_eq!(store.release_telegram_pollers("node-b").await.unwrap(), 1);
    let back = store.lease_telegram_poller(bot, "node-a", LEASE, ts(t0 + 93)).await.unwrap().unwrap();
    assert_eq!((back.lease_owner.as_deref(), back.next_offset), (Some("node-a"), Some(big)));

    let err = store.lease_telegram_poller("", "node-a", LEASE, ts(t0)).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(v) if v.field == "bot"), "{err:?}");
    let err = store.lease_telegram_poller(bot, "node-a", Duration::ZERO, ts(t0)).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(v) if v.field == "lease"), "{err:?}");
}

async fn concurrent_nodes_never_both_lease_a_bot(store: &Store) {
    let now = Timestamp::now();
    let attempts = (0..8).map(|n| {
        let store = store.clone();
        tokio::spawn(async move { store.lease_telegram_poller("telegram:7", &format!("node-{n}"), LEASE, now).await })
    });
    let mut held = Vec::new();
    for attempt in futures::future::join_all(attempts).await {
        if let Some(poller) = attempt.unwrap().unwrap() {
            held.push(poller.lease_owner.unwrap());
        }
    }
    assert_eq!(held.len(), 1, "exactly one node polls the bot: {held:?}");
    let stored = store.telegram_poller("telegram:7").await.unwrap().unwrap();
    assert_eq!(stored.lease_owner.as_ref(), held.first());
}

async fn a_moved_chat_is_stored_once_with_an_audit_entry(store: &Store) {
    let acme = store.create_tenant(&NewTenant::new("Acme", "acme", "Europe/Berlin").unwrap()).await.unwrap();
    let keyring = Keyring::generate();
    let secrets: SecretMap = [("bot_token".to_owned(), "123:AAsecret".into())].into_iter().collect();
    let public = json!({"chat_id": "-4001234", "base_url": "https://api.telegram.org"});
    let new = NewIntegrationConfig::new(
        acme.id,
        ConnectorKind::new("telegram").unwrap(),
        public,
        Some(keyring.encrypt(&secrets)),
    )
    .unwrap();
    let created = store.create_integration(&new).await.unwrap();
    let checked = store.record_integration_check(created.id, IntegrationStatus::Ok, None).await.unwrap();
    let mut audit = NewAuditLog::new(AuditAction::IntegrationChatMigrated, "chat_id changed from -4001234 to -1009");
    audit.tenant_id = Some(acme.id);
    audit.metadata = json!({"old_chat_id": "-4001234", "new_chat_id": "-1009"});

    let moved = store.move_integration_chat(created.id, "-4001234", "-1009", &audit).await.unwrap().unwrap();
    assert_eq!(moved.public_config, json!({"chat_id": "-1009", "base_url": "https://api.telegram.org"}));
    assert_eq!(moved.status, IntegrationStatus::Ok, "the check still holds: Telegram itself named the chat");
    assert_eq!(keyring.decrypt(moved.secret_data_encrypted.as_ref().unwrap()).unwrap(), secrets);
    assert_eq!(store.get_integration_by_id(created.id).await.unwrap(), moved);
    assert_eq!(moved.last_checked_at, checked.last_checked_at);

    // Again (another node saw the same move), or from a chat that is no longer the stored one:
    // nothing changes and nothing more is audited.
    assert_eq!(store.move_integration_chat(created.id, "-4001234", "-1009", &audit).await.unwrap(), None);
    assert_eq!(store.move_integration_chat(created.id, "-777", "-888", &audit).await.unwrap(), None);
    assert_eq!(store.get_integration_by_id(created.id).await.unwrap().public_config["chat_id"], "-1009");

    let filter = AuditFilter { tenant_id: Some(acme.id), ..Default::default() };
    let entries = store.list_audit(&filter, &PageRequest::first(10).unwrap()).await.unwrap().items;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].action, "integration.chat_migrated");
    assert_eq!(entries[0].metadata, json!({"old_chat_id": "-4001234", "new_chat_id": "-1009"}));
    assert_eq!(entries[0].actor_id, None);

    let missing = store.move_integration_chat(synkro::ids::IntegrationId::new(), "-1", "-2", &audit).await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })), "{missing:?}");
}
