//! The merge of step 2: CRM deals joined to chat dialogs by normalised phone, one warehouse row
//! per deal, built page by page with bounded memory.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value, json};
use synkro_core::{
    connector::{ChatMessage, Deal, DealRow, Dialog, Direction, normalize_phone},
    time::{TimeZoneName, Timestamp},
};

/// Builds warehouse rows from deals and dialogs, page by page, keeping only a compact per-deal
/// index in memory (never the dialogs of the whole window).
///
/// Per deal it keeps the row without dialog fields, the deal's phones and the key (last message
/// time, chat id) of the dialog the deal currently has. It keeps no dialog text at all: a row
/// with a dialog is built when the dialog arrives and handed back to be upserted, so memory is
/// bounded by the number of deals plus one page of dialogs.
///
/// Add every page of deals before the dialogs (the phone filter needs every phone anyway). A deal
/// seen again replaces its entry and starts without a dialog, like the row [`Merger::add_deals`]
/// returns for it.
///
/// When no dialogs will follow (`crm_only`), [`Merger::deals_only`] keeps nothing at all, so
/// memory is bounded by one page of deals whatever the window holds.
#[derive(Debug)]
pub struct Merger {
    tenant_slug: String,
    zone: jiff::tz::TimeZone,
    deals: HashMap<i64, Entry>,
    by_phone: HashMap<String, Vec<i64>>,
    /// Whether deals are remembered for dialogs to join.
    index: bool,
}

/// What the merger remembers of one deal.
#[derive(Debug)]
struct Entry {
    /// The deal's row with empty dialog fields.
    row: DealRow,
    phones: Vec<String>,
    /// The dialog the deal has now: (last message time, chat id).
    dialog: Option<(Timestamp, String)>,
}

impl Merger {
    /// A merger for one tenant; transcripts use local times in `tz`.
    pub fn new(tenant_slug: &str, tz: &TimeZoneName) -> Self {
        Self {
            tenant_slug: tenant_slug.to_owned(),
            zone: tz.zone(),
            deals: HashMap::new(),
            by_phone: HashMap::new(),
            index: true,
        }
    }

    /// A merger for deals that no dialog will join: [`Merger::add_deals`] builds rows and
    /// remembers nothing ([`Merger::phones`] is empty, [`Merger::add_dialogs`] joins nothing).
    pub fn deals_only(tenant_slug: &str, tz: &TimeZoneName) -> Self {
        Self { index: false, ..Self::new(tenant_slug, tz) }
    }

    /// Rows for a page of deals, without dialogs (phone/chat fields `None`, `messages_count` 0,
    /// `dialog_raw` `[]`, `dialog_norm` empty), ready to upsert; remembers each deal's row and
    /// normalised phones.
    pub fn add_deals(&mut self, deals: Vec<Deal>) -> Vec<DealRow> {
        if !self.index {
            return deals.into_iter().map(|deal| deal_row(&self.tenant_slug, deal)).collect();
        }
        let mut rows = Vec::with_capacity(deals.len());
        for deal in deals {
            if let Some(old) = self.deals.remove(&deal.id) {
                self.unindex(deal.id, &old.phones);
            }
            // Deal phones arrive normalised; normalising again is a no-op that keeps the join exact.
            let mut phones: Vec<String> = deal.phones().into_iter().filter_map(normalize_phone).collect();
            let mut seen = HashSet::new();
            phones.retain(|p| seen.insert(p.clone()));
            for phone in &phones {
                self.by_phone.entry(phone.clone()).or_default().push(deal.id);
            }
            let id = deal.id;
            let row = deal_row(&self.tenant_slug, deal);
            rows.push(row.clone());
            self.deals.insert(id, Entry { row, phones, dialog: None });
        }
        rows
    }

    /// Every phone of every deal seen so far (the chat source's phone filter in `crm_chats` mode).
    pub fn phones(&self) -> HashSet<String> {
        self.by_phone.keys().cloned().collect()
    }

    /// Joins a page of dialogs by normalised phone and returns the rows that changed, one per
    /// deal, ordered by deal id.
    ///
    /// Each deal takes the most recent dialog among its phones (latest last message; ties go to
    /// the larger chat id), so a dialog older than the one a deal already has changes nothing. A
    /// dialog whose phone belongs to several deals goes to each. Dialogs without a phone or
    /// without messages join nothing.
    pub fn add_dialogs(&mut self, dialogs: &[Dialog]) -> Vec<DealRow> {
        // Deal id → index of the winning dialog in this page.
        let mut winners: BTreeMap<i64, usize> = BTreeMap::new();
        for (index, dialog) in dialogs.iter().enumerate() {
            let (Some(phone), Some(key)) = (dialog_phone(dialog), dialog_key(dialog)) else { continue };
            let Some(deal_ids) = self.by_phone.get(&phone) else { continue };
            for deal_id in deal_ids {
                let Some(entry) = self.deals.get_mut(deal_id) else { continue };
                let newer = entry.dialog.as_ref().is_none_or(|(at, chat)| (key.0, key.1) > (*at, chat.as_str()));
                if newer {
                    entry.dialog = Some((key.0, key.1.to_owned()));
                    winners.insert(*deal_id, index);
                }
            }
        }
        winners
            .into_iter()
            .filter_map(|(deal_id, index)| {
                let entry = self.deals.get(&deal_id)?;
                let mut row = entry.row.clone();
                apply_dialog(&mut row, &dialogs[index], &self.zone);
                Some(row)
            })
            .collect()
    }

    /// Number of deals indexed.
    pub fn deal_count(&self) -> usize {
        self.deals.len()
    }

    fn unindex(&mut self, deal_id: i64, phones: &[String]) {
        for phone in phones {
            if let Some(ids) = self.by_phone.get_mut(phone) {
                ids.retain(|id| *id != deal_id);
                if ids.is_empty() {
                    self.by_phone.remove(phone);
                }
            }
        }
    }
}

/// `chats_only`: one row per dialog with at least one message, `deal_id` =
/// [`synthetic_deal_id`] of the chat id, `updated_at` = last message time, `deal_name` = contact
/// name. A chat that occurs twice yields one row, from its most recent dialog.
pub fn dialog_rows(tenant_slug: &str, tz: &TimeZoneName, dialogs: &[Dialog]) -> Vec<DealRow> {
    let zone = tz.zone();
    let mut best: BTreeMap<&str, (usize, Timestamp)> = BTreeMap::new();
    for (index, dialog) in dialogs.iter().enumerate() {
        let Some((last, _)) = dialog_key(dialog) else { continue };
        let slot = best.entry(dialog.chat_id.as_str()).or_insert((index, last));
        if last > slot.1 {
            *slot = (index, last);
        }
    }
    let mut picked: Vec<usize> = best.into_values().map(|(index, _)| index).collect();
    picked.sort_unstable();
    picked
        .into_iter()
        .map(|index| {
            let dialog = &dialogs[index];
            let contact = json!({
                "id": dialog.contact_id,
                "name": dialog.contact_name,
                "phones": dialog_phone(dialog).into_iter().collect::<Vec<_>>(),
            });
            let mut row = blank_row(tenant_slug, synthetic_deal_id(&dialog.chat_id));
            row.deal_name = dialog.contact_name.clone();
            row.deal_attrs_json = json!({ "channel": dialog.channel });
            row.contact_attrs_json = json!({ "contacts": [contact] });
            apply_dialog(&mut row, dialog, &zone);
            row.updated_at = row.last_message_at;
            row
        })
        .collect()
}

/// A stable negative id for a chat: FNV-1a 64 of the chat id, mapped into `-(2^53)..=-1` so it
/// survives JSON and JavaScript numbers and never collides with a CRM id. The same in every
/// process and run.
pub fn synthetic_deal_id(chat_id: &str) -> i64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = chat_id.bytes().fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    // The low 53 bits fit in i64 exactly.
    -((hash & ((1 << 53) - 1)) as i64) - 1
}

/// The join key of a dialog: its latest message time and chat id; `None` without messages.
fn dialog_key(dialog: &Dialog) -> Option<(Timestamp, &str)> {
    dialog.messages.iter().map(|m| m.at).max().map(|at| (at, dialog.chat_id.as_str()))
}

/// The dialog's phone, normalised (a no-op for connectors that already did it).
fn dialog_phone(dialog: &Dialog) -> Option<String> {
    dialog.phone.as_deref().and_then(normalize_phone)
}

/// A deal's row without a dialog.
fn deal_row(tenant_slug: &str, deal: Deal) -> DealRow {
    let responsible = deal.responsible.clone().or_else(|| deal.responsible_user_id.map(|id| id.to_string()));
    let mut attrs = match deal.attrs {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => Map::from_iter([("attrs".to_owned(), other)]),
    };
    attrs.insert("price".to_owned(), json!(deal.price));
    attrs.insert("pipeline_id".to_owned(), json!(deal.pipeline_id));
    attrs.insert("responsible_user_id".to_owned(), json!(deal.responsible_user_id));
    attrs.insert("created_at".to_owned(), json!(deal.created_at.to_string()));
    let contacts: Vec<Value> =
        deal.contacts.iter().map(|c| json!({ "id": c.id, "name": c.name, "phones": c.phones })).collect();
    DealRow {
        deal_name: Some(deal.name),
        status_id: deal.status_id,
        status: deal.status,
        responsible,
        deal_attrs_json: Value::Object(attrs),
        contact_attrs_json: json!({ "contacts": contacts }),
        updated_at: Some(deal.updated_at),
        ..blank_row(tenant_slug, deal.id)
    }
}

/// A row with only its key set and every other field empty.
fn blank_row(tenant_slug: &str, deal_id: i64) -> DealRow {
    DealRow {
        tenant_id: tenant_slug.to_owned(),
        deal_id,
        deal_name: None,
        status_id: None,
        status: None,
        responsible: None,
        phone: None,
        chat_id: None,
        first_message_at: None,
        last_message_at: None,
        messages_count: 0,
        deal_attrs_json: json!({}),
        contact_attrs_json: json!({}),
        dialog_raw: json!([]),
        dialog_norm: String::new(),
        updated_at: None,
    }
}

/// Fills a row's dialog fields from `dialog`.
fn apply_dialog(row: &mut DealRow, dialog: &Dialog, zone: &jiff::tz::TimeZone) {
    row.phone = dialog_phone(dialog).or_else(|| dialog.phone.clone());
    row.chat_id = Some(dialog.chat_id.clone());
    row.first_message_at = dialog.messages.iter().map(|m| m.at).min();
    row.last_message_at = dialog.messages.iter().map(|m| m.at).max();
    row.messages_count = i64::try_from(dialog.messages.len()).unwrap_or(i64::MAX);
    row.dialog_raw = Value::Array(dialog.messages.iter().map(raw_message).collect());
    row.dialog_norm = dialog.transcript(zone);
}

fn raw_message(m: &ChatMessage) -> Value {
    let direction = match m.direction {
        Direction::Inbound => "inbound",
        Direction::Outbound => "outbound",
    };
    json!({ "id": m.id, "at": m.at.to_string(), "direction": direction, "text": m.text, "files": m.files })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const A: &str = "79001234567";
    const B: &str = "79005550000";

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn merger(deals: Vec<Deal>) -> Merger {
        let mut merger = Merger::new("acme", &TimeZoneName::new("Europe/Berlin").unwrap());
        merger.add_deals(deals);
        merger
    }

    fn deal(id: i64, phones: &[&str]) -> Deal {
        serde_json::from_value(json!({ "id": id, "name": format!("Deal {id}"), "status_id": 142, "status": "Won",
            "pipeline_id": 7, "responsible_user_id": 501, "responsible": null, "price": 1500,
            "created_at": "2026-02-01T09:00:00Z", "updated_at": "2026-03-02T10:00:00Z", "attrs": { "tags": ["vip"] },
            "contacts": [{ "id": id * 10, "name": "Anna", "phones": phones }] }))
        .unwrap()
    }

    /// A dialog with one message per time (hours on 2026-03-02 UTC), alternating client/agent.
    fn dialog(chat_id: &str, phone: Option<&str>, hours: &[u32]) -> Dialog {
        let messages = hours
            .iter()
            .enumerate()
            .map(|(i, h)| ChatMessage {
                id: format!("{chat_id}-{i}"),
                at: ts(&format!("2026-03-02T{h:02}:00:00Z")),
                direction: if i % 2 == 0 { Direction::Inbound } else { Direction::Outbound },
                text: format!("text {chat_id} {i}"),
                files: vec![],
            })
            .collect();
        let (contact_id, contact_name) = (Some(format!("c-{chat_id}")), Some(format!("Client {chat_id}")));
        Dialog {
            chat_id: chat_id.into(),
            contact_id,
            contact_name,
            phone: phone.map(Into::into),
            channel: "waba".into(),
            messages,
        }
    }

    fn chats(rows: &[DealRow]) -> Vec<(i64, &str)> {
        rows.iter().map(|r| (r.deal_id, r.chat_id.as_deref().unwrap_or("-"))).collect()
    }

    #[test]
    fn deal_rows_carry_the_deal_and_empty_dialog_fields() {
        let mut m = merger(vec![]);
        let unknown = Deal { responsible_user_id: None, ..deal(2, &[]) };
        let named = Deal { responsible: Some("Oleg".into()), ..deal(3, &[]) };
        let rows = m.add_deals(vec![deal(1, &[A]), unknown, named]);
        assert_eq!(m.deal_count(), 3);
        let r = &rows[0];
        assert_eq!((r.tenant_id.as_str(), r.deal_id, r.deal_name.as_deref()), ("acme", 1, Some("Deal 1")));
        assert_eq!((r.status_id, r.status.as_deref(), r.responsible.as_deref()), (Some(142), Some("Won"), Some("501")));
        assert_eq!(r.updated_at, Some(ts("2026-03-02T10:00:00Z")));
        let attrs = json!({ "tags": ["vip"], "price": 1500, "pipeline_id": 7, "responsible_user_id": 501,
            "created_at": "2026-02-01T09:00:00Z" });
        assert_eq!(r.deal_attrs_json, attrs);
        assert_eq!(r.contact_attrs_json, json!({ "contacts": [{ "id": 10, "name": "Anna", "phones": [A] }] }));
        assert_eq!((&r.phone, &r.chat_id, r.first_message_at, r.last_message_at), (&None, &None, None, None));
        assert_eq!((r.messages_count, &r.dialog_raw, r.dialog_norm.as_str()), (0, &json!([]), ""));
        assert_eq!((rows[1].responsible.as_deref(), rows[2].responsible.as_deref()), (None, Some("Oleg")));
    }

    #[test]
    fn dialogs_join_by_normalised_phone_in_any_format() {
        let mut m = merger(vec![deal(1, &[A]), deal(2, &["79007654321"])]);
        assert_eq!(m.phones(), HashSet::from([A.to_owned(), "79007654321".to_owned()]));
        let mut d = dialog("chat-1", Some("8 (900) 123-45-67"), &[9, 10]);
        d.messages[1].files = vec!["price.pdf".into()];
        let rows = m.add_dialogs(&[d.clone(), dialog("chat-x", Some("+1 415 555 0100"), &[9])]);
        assert_eq!(chats(&rows), vec![(1, "chat-1")]);
        let r = &rows[0];
        assert_eq!((r.phone.as_deref(), r.messages_count, r.deal_name.as_deref()), (Some(A), 2, Some("Deal 1")));
        assert_eq!((r.first_message_at, r.last_message_at), (Some(d.messages[0].at), Some(d.messages[1].at)));
        let raw = json!({ "id": "chat-1-1", "at": "2026-03-02T10:00:00Z", "direction": "outbound",
            "text": "text chat-1 1", "files": ["price.pdf"] });
        assert_eq!((&r.dialog_raw[1], &r.dialog_raw[0]["direction"]), (&raw, &json!("inbound")));
        assert_eq!(r.dialog_norm, d.transcript(&m.zone));
        assert!(r.dialog_norm.starts_with("2026-03-02 10:00  client: text chat-1 0\n"), "{}", r.dialog_norm);
    }

    #[test]
    fn the_most_recent_dialog_wins_in_either_order_and_older_ones_change_nothing() {
        let older = dialog("chat-a", Some(A), &[8]);
        let newer = dialog("chat-b", Some(B), &[7, 12]);
        let mut m = merger(vec![deal(1, &[A, B])]);
        assert_eq!(chats(&m.add_dialogs(std::slice::from_ref(&older))), vec![(1, "chat-a")]);
        assert_eq!(chats(&m.add_dialogs(std::slice::from_ref(&newer))), vec![(1, "chat-b")]);
        let mut m = merger(vec![deal(1, &[A, B])]);
        assert_eq!(chats(&m.add_dialogs(std::slice::from_ref(&newer))), vec![(1, "chat-b")]);
        assert!(m.add_dialogs(std::slice::from_ref(&older)).is_empty(), "an older dialog changes nothing");
        for page in [[older.clone(), newer.clone()], [newer, older]] {
            assert_eq!(chats(&merger(vec![deal(1, &[A, B])]).add_dialogs(&page)), vec![(1, "chat-b")]);
        }
    }

    #[test]
    fn equal_last_messages_go_to_the_larger_chat_id() {
        let mut m = merger(vec![deal(1, &[A, B])]);
        assert_eq!(chats(&m.add_dialogs(&[dialog("chat-9", Some(A), &[8])])), vec![(1, "chat-9")]);
        assert!(m.add_dialogs(&[dialog("chat-1", Some(B), &[8])]).is_empty());
        assert_eq!(chats(&m.add_dialogs(&[dialog("chat-z", Some(B), &[8])])), vec![(1, "chat-z")]);
    }

    #[test]
    fn a_shared_phone_gives_the_dialog_to_every_deal_and_others_stay_empty() {
        let mut m = merger(vec![deal(5, &[A]), deal(3, &[A]), deal(4, &[B])]);
        let rows = m.add_dialogs(&[dialog("chat-1", Some(A), &[8]), dialog("chat-2", None, &[8])]);
        assert_eq!(chats(&rows), vec![(3, "chat-1"), (5, "chat-1")], "one row per deal, by deal id");
        assert!(m.add_dialogs(&[dialog("chat-3", Some(B), &[])]).is_empty(), "an empty dialog joins nothing");
    }

    #[test]
    fn the_merger_keeps_no_dialog_text() {
        let mut m = merger(vec![deal(1, &[A])]);
        let mut d = dialog("chat-1", Some(A), &[8]);
        d.messages[0].text = "a very private sentence".into();
        assert!(m.add_dialogs(&[d])[0].dialog_norm.contains("a very private sentence"));
        let state = format!("{m:?}");
        assert!(!state.contains("a very private sentence"), "the merger holds dialog text: {state}");
        assert!(state.contains("chat-1"), "it keeps the winning chat's key");
    }

    #[test]
    fn a_deals_only_merger_builds_the_same_rows_and_remembers_nothing() {
        let tz = TimeZoneName::new("Europe/Berlin").unwrap();
        let mut only = Merger::deals_only("acme", &tz);
        let rows = only.add_deals(vec![deal(1, &[A]), deal(2, &[B])]);
        assert_eq!(rows, Merger::new("acme", &tz).add_deals(vec![deal(1, &[A]), deal(2, &[B])]));
        assert_eq!((only.deal_count(), only.phones().len()), (0, 0));
        assert!(only.add_dialogs(&[dialog("c", Some(A), &[8])]).is_empty());
    }

    #[test]
    fn a_deal_seen_again_is_reindexed_under_its_new_phones() {
        let mut m = merger(vec![deal(1, &[A])]);
        m.add_deals(vec![deal(1, &[B])]);
        assert_eq!((m.deal_count(), m.phones()), (1, HashSet::from([B.to_owned()])));
        assert!(m.add_dialogs(&[dialog("c", Some(A), &[8])]).is_empty());
    }

    #[test]
    fn synthetic_ids_are_stable_negative_and_distinct() {
        // Pinned FNV-1a values: ids must not change between runs, processes or releases.
        let low53 = |h: u64| -((h & ((1 << 53) - 1)) as i64) - 1;
        assert_eq!(synthetic_deal_id(""), low53(0xcbf2_9ce4_8422_2325));
        assert_eq!(synthetic_deal_id("a"), low53(0xaf63_dc4c_8601_ec8c));
        let ids: HashSet<i64> = (0..10_000).map(|i| synthetic_deal_id(&format!("chat-{i}"))).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.iter().all(|id| (-(1i64 << 53)..=-1).contains(id)));
    }

    #[test]
    fn dialog_rows_make_one_row_per_chat_with_messages() {
        let tz = TimeZoneName::new("Europe/Berlin").unwrap();
        let dialogs = [
            dialog("chat-1", Some(A), &[8, 9]),
            dialog("chat-empty", Some(B), &[]),
            dialog("chat-2", None, &[7]),
            dialog("chat-1", Some(A), &[8]),
        ];
        let rows = dialog_rows("acme", &tz, &dialogs);
        let ids: Vec<i64> = rows.iter().map(|r| r.deal_id).collect();
        assert_eq!(ids, vec![synthetic_deal_id("chat-1"), synthetic_deal_id("chat-2")]);
        let r = &rows[0];
        assert_eq!((r.deal_name.as_deref(), r.messages_count), (Some("Client chat-1"), 2), "the newest chat-1 wins");
        assert_eq!((r.updated_at, r.last_message_at), (Some(ts("2026-03-02T09:00:00Z")), r.updated_at));
        assert_eq!((&r.status, &r.responsible, &r.deal_attrs_json), (&None, &None, &json!({ "channel": "waba" })));
        assert_eq!(r.contact_attrs_json["contacts"][0]["phones"], json!([A]));
        assert_eq!(r.dialog_norm, dialogs[0].transcript(&tz.zone()));
    }
}
