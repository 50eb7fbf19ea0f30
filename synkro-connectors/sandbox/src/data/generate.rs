//! Deterministic generation of the amoCRM side of the data (users, pipelines, leads, contacts).

use std::collections::HashSet;

use fastrand::Rng;
use synkro_core::connector::normalize_phone;
use synkro_core::time::Timestamp;

use super::words::{FIRST_NAMES, LAST_NAMES, LEAD_TOPICS};
use super::{
    Contact, CustomField, DataIndex, FieldValue, Lead, LeadContact, Pipeline, STATUS_LOST, STATUS_WON, SandboxData,
    Status, User,
};
use crate::SandboxConfig;
use crate::config::shift_seconds;
use crate::credentials::AMOCRM_ACCOUNT_ID;

const DAY: i64 = 86_400;

/// Field ids of the contact custom fields.
pub(super) const PHONE_FIELD_ID: i64 = 264_911;
const EMAIL_FIELD_ID: i64 = 264_913;
const NAMED_PHONE_FIELDS: [(i64, &str); 2] = [(300_001, "Телефон"), (300_002, "Mobile phone")];

/// Generates all data for `config`.
pub(crate) fn generate(config: &SandboxConfig) -> SandboxData {
    let mut rng = Rng::with_seed(config.seed);
    let mut phones = PhoneBook::default();
    let pipelines = pipelines();
    let mut amo = AmoGen { rng: &mut rng, phones: &mut phones, config, contacts: Vec::new() };
    let leads = amo.leads(&pipelines);
    let contacts = std::mem::take(&mut amo.contacts);
    let mut data = SandboxData {
        account_id: AMOCRM_ACCOUNT_ID,
        account_name: "Acme".to_owned(),
        users: users(),
        pipelines,
        leads,
        contacts,
        radist_company: super::RadistCompany { id: 205_113, name: "Acme".to_owned() },
        sources: Vec::new(),
        radist_contacts: Vec::new(),
        chats: Vec::new(),
        index: DataIndex::default(),
    };
    super::generate_chats::generate_chats(&mut data, &mut rng, &mut phones, config);
    data.build_index();
    data
}

/// Hands out unique mobile numbers (`79XXXXXXXXX`).
#[derive(Default)]
pub(super) struct PhoneBook {
    used: HashSet<String>,
}

impl PhoneBook {
    pub(super) fn next(&mut self, rng: &mut Rng) -> String {
        loop {
            let phone = format!("79{:09}", rng.u64(0..1_000_000_000));
            if self.used.insert(phone.clone()) {
                return phone;
            }
        }
    }
}

fn users() -> Vec<User> {
    let people = [
        ("Анна Смирнова", "anna"),
        ("Иван Петров", "ivan"),
        ("Мария Кузнецова", "maria"),
        ("Олег Соколов", "oleg"),
        ("Елена Попова", "elena"),
    ];
    people
        .iter()
        .zip(1001..)
        .map(|(&(name, login), id)| User {
            id,
            name: name.to_owned(),
            email: format!("{login}@acme.example"),
            is_admin: id == 1001,
            is_active: id != 1005,
        })
        .collect()
}

fn pipelines() -> Vec<Pipeline> {
    let specs: [(i64, &str, &[&str]); 2] = [
        (7_000_001, "Продажи", &["Первичный контакт", "Переговоры", "Принимают решение"]),
        (7_000_002, "Повторные продажи", &["Новая заявка", "Счёт выставлен"]),
    ];
    let colors = ["#99ccff", "#ffff99", "#ffcc66", "#deff81", "#87f2c0"];
    let mut next_status = 60_000_001;
    specs
        .iter()
        .enumerate()
        .map(|(i, &(id, name, regular))| {
            let status = |sid: i64, name: &str, sort: i64, editable: bool, color: &str, kind: u8| Status {
                id: sid,
                name: name.to_owned(),
                sort,
                is_editable: editable,
                pipeline_id: id,
                color: color.to_owned(),
                kind,
            };
            let mut statuses = vec![status(next_status, "Неразобранное", 10, false, "#c1c1c1", 1)];
            next_status += 1;
            for (k, stage) in regular.iter().enumerate() {
                let sort = 20 + 10 * k as i64;
                statuses.push(status(next_status, stage, sort, true, colors[k % colors.len()], 0));
                next_status += 1;
            }
            statuses.push(status(STATUS_WON, "Успешно реализовано", 10_000, false, "#CCFF66", 0));
            statuses.push(status(STATUS_LOST, "Закрыто и не реализовано", 11_000, false, "#D5D8DB", 0));
            Pipeline { id, name: name.to_owned(), sort: 1 + i as i64, is_main: i == 0, statuses }
        })
        .collect()
}

struct AmoGen<'a> {
    rng: &'a mut Rng,
    phones: &'a mut PhoneBook,
    config: &'a SandboxConfig,
    contacts: Vec<Contact>,
}

impl AmoGen<'_> {
    fn leads(&mut self, pipelines: &[Pipeline]) -> Vec<Lead> {
        let start = self.config.window_start;
        let mut leads: Vec<Lead> = Vec::with_capacity(self.config.deals);
        for i in 0..self.config.deals {
            let pipeline = if self.rng.f64() < 0.7 { &pipelines[0] } else { &pipelines[pipelines.len() - 1] };
            let status = self.pick_status(pipeline);
            let created_at = shift_seconds(start, -self.rng.i64(2 * 3600..60 * DAY));
            let updated_at = if i == 0 {
                start
            } else if i == 1 && self.config.deals >= 20 {
                self.config.window_end()
            } else if self.rng.f64() < 0.1 {
                Timestamp::from_unix_seconds(self.rng.i64(created_at.unix_seconds()..start.unix_seconds()))
                    .unwrap_or(created_at)
            } else {
                shift_seconds(start, self.rng.i64(0..DAY))
            };
            let closed_at = (status == STATUS_WON || status == STATUS_LOST).then_some(updated_at);
            let contacts = self.lead_contacts(&leads, created_at);
            let topic = LEAD_TOPICS[self.rng.usize(..LEAD_TOPICS.len())];
            leads.push(Lead {
                id: 10_001 + i as i64,
                name: format!("{topic} #{}", 10_001 + i),
                price: if self.rng.f64() < 0.05 { 0 } else { self.rng.i64(1..=500) * 1000 },
                pipeline_id: pipeline.id,
                status_id: status,
                responsible_user_id: 1001 + self.rng.i64(0..5),
                created_at,
                updated_at,
                closed_at,
                contacts,
            });
        }
        leads
    }

    fn pick_status(&mut self, pipeline: &Pipeline) -> i64 {
        let roll = self.rng.f64();
        let regular: Vec<i64> = pipeline.statuses.iter().filter(|s| s.is_editable).map(|s| s.id).collect();
        if roll < 0.05 {
            pipeline.statuses[0].id
        } else if roll < 0.2 {
            STATUS_WON
        } else if roll < 0.35 {
            STATUS_LOST
        } else {
            regular[self.rng.usize(..regular.len())]
        }
    }

    fn lead_contacts(&mut self, earlier: &[Lead], lead_created: Timestamp) -> Vec<LeadContact> {
        let main = match earlier.len() {
            n if n >= 3 && self.rng.f64() < 0.06 => earlier[self.rng.usize(..n)].contacts[0].id,
            _ => self.new_contact(lead_created),
        };
        let mut links = vec![LeadContact { id: main, is_main: true }];
        if self.rng.f64() < 0.3 {
            let second = self.new_contact(lead_created);
            links.push(LeadContact { id: second, is_main: false });
        }
        links
    }

    fn new_contact(&mut self, before: Timestamp) -> i64 {
        let id = 50_001 + self.contacts.len() as i64;
        let first = FIRST_NAMES[self.rng.usize(..FIRST_NAMES.len())].to_owned();
        let last = LAST_NAMES[self.rng.usize(..LAST_NAMES.len())].to_owned();
        let phone_count = match self.rng.f64() {
            r if r < 0.05 => 0,
            r if r < 0.2 => 2,
            _ => 1,
        };
        let normalized: Vec<String> = (0..phone_count).map(|_| self.phones.next(self.rng)).collect();
        let mut fields = Vec::new();
        if !normalized.is_empty() {
            let values = normalized
                .iter()
                .map(|p| FieldValue { value: format_phone(p, self.rng.usize(..4)), enum_code: None })
                .collect::<Vec<_>>();
            if self.rng.f64() < 0.1 {
                let (field_id, field_name) = NAMED_PHONE_FIELDS[self.rng.usize(..2)];
                fields.push(CustomField {
                    field_id,
                    field_name: field_name.to_owned(),
                    field_code: None,
                    field_type: "text".to_owned(),
                    values,
                });
            } else {
                let values = values
                    .into_iter()
                    .enumerate()
                    .map(|(k, v)| FieldValue { enum_code: Some(if k == 0 { "WORK" } else { "MOB" }.to_owned()), ..v })
                    .collect();
                fields.push(CustomField {
                    field_id: PHONE_FIELD_ID,
                    field_name: "Телефон".to_owned(),
                    field_code: Some("PHONE".to_owned()),
                    field_type: "multitext".to_owned(),
                    values,
                });
            }
        }
        if self.rng.f64() < 0.4 {
            let email = FieldValue { value: format!("client{id}@mail.example"), enum_code: Some("WORK".to_owned()) };
            let field = CustomField {
                field_id: EMAIL_FIELD_ID,
                field_name: "Email".to_owned(),
                field_code: Some("EMAIL".to_owned()),
                field_type: "multitext".to_owned(),
                values: vec![email],
            };
            fields.insert(0, field);
        }
        let created_at = shift_seconds(before, -self.rng.i64(60..30 * DAY));
        let updated_at = shift_seconds(created_at, self.rng.i64(0..3600));
        // Sanity: every generated raw phone must normalise back to its truth value.
        debug_assert!(
            fields
                .iter()
                .flat_map(|f| &f.values)
                .all(|v| v.value.contains('@') || normalize_phone(&v.value).is_some_and(|p| normalized.contains(&p)))
        );
        self.contacts.push(Contact {
            id,
            name: format!("{first} {last}"),
            first_name: first,
            last_name: last,
            responsible_user_id: 1001 + self.rng.i64(0..5),
            created_at,
            updated_at,
            custom_fields_values: (!fields.is_empty()).then_some(fields),
            phones: normalized,
        });
        id
    }
}

/// Writes `phone` (`79XXXXXXXXX`) the way people type it into a CRM.
fn format_phone(phone: &str, style: usize) -> String {
    let n = &phone[1..];
    let (a, b, c, d) = (&n[0..3], &n[3..6], &n[6..8], &n[8..10]);
    match style {
        0 => format!("+7 ({a}) {b}-{c}-{d}"),
        1 => format!("8 {a} {b} {c} {d}"),
        2 => n.to_owned(),
        _ => format!("+7-{a}-{b}-{c}-{d}"),
    }
}

#[cfg(test)]
mod tests {
    use super::format_phone;
    use synkro_core::connector::normalize_phone;

    #[test]
    fn every_phone_style_normalises_back() {
        for style in 0..4 {
            let raw = format_phone("79123456789", style);
            assert_eq!(normalize_phone(&raw).as_deref(), Some("79123456789"), "{raw}");
        }
        assert_eq!(format_phone("79123456789", 0), "+7 (912) 345-67-89");
        assert_eq!(format_phone("79123456789", 2), "9123456789");
    }
}
