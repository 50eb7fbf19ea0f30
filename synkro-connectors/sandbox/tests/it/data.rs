//! The generated data: deterministic, varied, and shaped like the brief says.

use std::collections::HashMap;

use synkro_core::connector::normalize_phone;
use synkro_sandbox::{MessageKind, SandboxConfig, SandboxData};

fn data(seed: u64, deals: usize) -> SandboxData {
    SandboxData::generate(&SandboxConfig { seed, deals, ..Default::default() })
}

#[test]
fn equal_seeds_give_equal_data_and_different_seeds_differ() {
    assert_eq!(data(7, 40), data(7, 40));
    let (a, b) = (data(7, 40), data(8, 40));
    assert_ne!(a.leads, b.leads);
    assert_ne!(a.contacts, b.contacts);
    assert_ne!(a.chats, b.chats);
}

#[test]
fn leads_cluster_in_the_window_with_some_before_it() {
    let config = SandboxConfig { deals: 400, ..Default::default() };
    let d = SandboxData::generate(&config);
    let (start, end) = (config.window_start, config.window_end());
    let inside = d.leads_updated_in(start, end);
    let before = d.leads.iter().filter(|l| l.updated_at < start).count();
    assert!((320..=390).contains(&inside.len()), "inside: {}", inside.len());
    assert!(before >= 15, "before: {before}");
    assert!(inside.windows(2).all(|w| (w[0].updated_at, w[0].id) <= (w[1].updated_at, w[1].id)));
    assert_eq!(d.leads[0].updated_at, start, "a lead sits exactly on the window start");
    assert_eq!(d.leads[1].updated_at, end, "a lead sits exactly on the window end");
    assert!(d.leads.iter().all(|l| l.created_at <= l.updated_at));
    assert!(d.leads.iter().all(|l| (1..=2).contains(&l.contacts.len()) && l.contacts[0].is_main));
    let statuses: Vec<i64> = d.leads.iter().map(|l| l.status_id).collect();
    assert!(statuses.contains(&142) && statuses.contains(&143));
    for lead in &d.leads {
        assert!(d.status(lead.pipeline_id, lead.status_id).is_some(), "lead {} has a real status", lead.id);
    }
    let shared = d.contacts.iter().filter(|c| d.leads_of_contact(c.id).len() >= 2).count();
    assert!(shared >= 2, "some contacts belong to two leads: {shared}");
}

#[test]
fn pipelines_have_system_and_unsorted_statuses() {
    let d = data(7, 40);
    assert_eq!(d.pipelines.len(), 2);
    for p in &d.pipelines {
        assert!((5..=6).contains(&p.statuses.len()));
        assert!(p.statuses.iter().any(|s| s.id == 142 && s.name == "Успешно реализовано"));
        assert!(p.statuses.iter().any(|s| s.id == 143 && s.name == "Закрыто и не реализовано"));
        assert_eq!(p.statuses.iter().filter(|s| s.kind == 1).count(), 1);
    }
    assert_eq!(d.users.len(), 5);
}

#[test]
fn contact_phones_come_in_assorted_shapes_that_normalise_to_the_truth() {
    let d = data(7, 400);
    let mut named = 0;
    let mut no_phone = 0;
    let mut null_fields = 0;
    let mut raw_shapes = HashMap::new();
    for c in &d.contacts {
        let Some(fields) = &c.custom_fields_values else {
            null_fields += 1;
            assert!(c.phones.is_empty());
            continue;
        };
        let mut found = Vec::new();
        for f in fields.iter().filter(|f| f.field_code.as_deref() != Some("EMAIL")) {
            if f.field_code.is_none() {
                named += 1;
                assert!(["Телефон", "Mobile phone"].contains(&f.field_name.as_str()));
            }
            for v in &f.values {
                let shape = v.value.chars().map(|ch| if ch.is_ascii_digit() { 'd' } else { ch }).collect::<String>();
                *raw_shapes.entry(shape).or_insert(0) += 1;
                found.push(normalize_phone(&v.value).unwrap());
            }
        }
        if found.is_empty() {
            no_phone += 1;
        }
        assert_eq!(found, c.phones, "contact {}", c.id);
    }
    assert!(named > 5, "named phone fields: {named}");
    assert!(no_phone + null_fields > 5);
    assert!(null_fields > 0);
    assert!(raw_shapes.len() >= 4, "{raw_shapes:?}");
}

#[test]
fn chats_cover_deals_unrelated_phones_and_telegram() {
    let config = SandboxConfig { deals: 100, unrelated_chats: 12, ..Default::default() };
    let d = SandboxData::generate(&config);
    let contact_phones: Vec<&String> = d.contacts.iter().flat_map(|c| &c.phones).collect();
    let messaging: Vec<_> = d.chats.iter().filter(|c| c.is_messaging()).collect();
    let unrelated = messaging.iter().filter(|c| !contact_phones.contains(&c.phone.as_ref().unwrap())).count();
    assert_eq!(unrelated, 12);
    let with_chat = d
        .leads
        .iter()
        .filter(|l| d.main_contact(l).is_some_and(|c| c.phones.iter().any(|p| !d.chats_for_phone(p).is_empty())))
        .count();
    assert!((50..=90).contains(&with_chat), "leads with a chat: {with_chat}");
    let telegram: Vec<_> = d.chats.iter().filter(|c| c.source == "telegram").collect();
    assert_eq!(telegram.len(), 3);
    assert!(telegram.iter().any(|c| c.phone.is_none()));
    assert!(telegram.iter().any(|c| c.phone.as_ref().is_some_and(|p| contact_phones.contains(&p))));
    assert!(d.chats.iter().all(|c| c.phone.as_ref().is_none_or(|p| p.len() == 11 && p.starts_with('7'))));

    let messages: Vec<_> = d.chats.iter().flat_map(|c| &c.messages).collect();
    let (start, end) = (config.window_start, config.window_end());
    assert!(messages.iter().any(|m| m.created_at < start) && messages.iter().any(|m| m.created_at >= end));
    let media = messages.iter().filter(|m| matches!(m.kind, MessageKind::Image | MessageKind::File)).count();
    assert!(media * 100 / messages.len() >= 5, "media share");
    assert!(messages.iter().any(|m| m.kind == MessageKind::WabaInteractive));
    assert!(messages.iter().any(|m| m.attachment.as_ref().is_some_and(|a| a.caption.is_none())));
    let chat = &d.chats[0];
    assert_eq!(chat.messages.len(), 150, "the first chat is long enough to page");
    assert!(chat.messages.windows(2).all(|w| w[0].created_at <= w[1].created_at));
    let inside = d.messages_in(chat.id, start, end);
    assert!(!inside.is_empty() && inside.len() < 150);
}

#[test]
fn twenty_thousand_deals_generate_quickly() {
    let started = std::time::Instant::now();
    let d = data(1, 20_000);
    assert_eq!(d.leads.len(), 20_000);
    assert_eq!(d.leads.last().unwrap().id, 30_000);
    assert!(started.elapsed().as_secs() < 10);
}
