//! Truth helpers on [`SandboxData`]: lookups by id, window filters, phone index.

use std::collections::HashMap;

use synkro_core::time::Timestamp;

use super::{Chat, Contact, Lead, Message, RadistContact, SandboxData, Status, User};

/// Lookup tables built once after generation.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DataIndex {
    pub(crate) contact_pos: HashMap<i64, usize>,
    pub(crate) chat_pos: HashMap<i64, usize>,
    pub(crate) chats_by_phone: HashMap<String, Vec<usize>>,
    pub(crate) leads_by_contact: HashMap<i64, Vec<i64>>,
    /// Positions in `radist_contacts`, newest activity first (ties by id).
    pub(crate) contacts_by_activity: Vec<usize>,
}

impl SandboxData {
    /// Generates the data for `config` without starting servers (what [`Sandbox::start`](crate::Sandbox::start)
    /// serves); equal seeds and sizes give equal data.
    pub fn generate(config: &crate::SandboxConfig) -> SandboxData {
        super::generate::generate(config)
    }

    /// Leads with `start <= updated_at < end`, ordered by (updated_at, id).
    pub fn leads_updated_in(&self, start: Timestamp, end: Timestamp) -> Vec<&Lead> {
        let mut leads: Vec<&Lead> = self.leads.iter().filter(|l| l.updated_at >= start && l.updated_at < end).collect();
        leads.sort_by_key(|l| (l.updated_at, l.id));
        leads
    }

    /// A lead by id.
    pub fn lead(&self, id: i64) -> Option<&Lead> {
        let pos = usize::try_from(id - 10_001).ok()?;
        self.leads.get(pos).filter(|l| l.id == id)
    }

    /// A contact by id.
    pub fn contact(&self, id: i64) -> Option<&Contact> {
        self.index.contact_pos.get(&id).and_then(|&i| self.contacts.get(i))
    }

    /// The main contact of a lead.
    pub fn main_contact(&self, lead: &Lead) -> Option<&Contact> {
        lead.contacts.iter().find(|c| c.is_main).and_then(|c| self.contact(c.id))
    }

    /// Ids of the leads a contact is linked to.
    pub fn leads_of_contact(&self, contact_id: i64) -> &[i64] {
        self.index.leads_by_contact.get(&contact_id).map_or(&[], Vec::as_slice)
    }

    /// A user by id.
    pub fn user(&self, id: i64) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// The status `status_id` of pipeline `pipeline_id`.
    pub fn status(&self, pipeline_id: i64, status_id: i64) -> Option<&Status> {
        self.pipelines.iter().find(|p| p.id == pipeline_id)?.statuses.iter().find(|s| s.id == status_id)
    }

    /// A chat by id.
    pub fn chat(&self, id: i64) -> Option<&Chat> {
        self.index.chat_pos.get(&id).and_then(|&i| self.chats.get(i))
    }

    /// Messages of a chat with `start <= created_at < end`, oldest first.
    pub fn messages_in(&self, chat_id: i64, start: Timestamp, end: Timestamp) -> Vec<&Message> {
        self.chat(chat_id)
            .map(|c| c.messages.iter().filter(|m| m.created_at >= start && m.created_at < end).collect())
            .unwrap_or_default()
    }

    /// Every chat (any source, telegram included — check [`Chat::is_messaging`]) whose phone equals
    /// the normalised `phone`, in chat id order.
    pub fn chats_for_phone(&self, phone: &str) -> Vec<&Chat> {
        self.index
            .chats_by_phone
            .get(phone)
            .map(|v| v.iter().filter_map(|&i| self.chats.get(i)).collect())
            .unwrap_or_default()
    }

    /// Radist contacts in the order `chats/with_contacts` serves them (newest activity first).
    pub fn radist_contacts_by_activity(&self) -> Vec<&RadistContact> {
        self.index.contacts_by_activity.iter().filter_map(|&i| self.radist_contacts.get(i)).collect()
    }

    pub(crate) fn build_index(&mut self) {
        let mut index = DataIndex::default();
        for (i, c) in self.contacts.iter().enumerate() {
            index.contact_pos.insert(c.id, i);
        }
        for (i, c) in self.chats.iter().enumerate() {
            index.chat_pos.insert(c.id, i);
            if let Some(phone) = &c.phone {
                index.chats_by_phone.entry(phone.clone()).or_default().push(i);
            }
        }
        for lead in &self.leads {
            for link in &lead.contacts {
                index.leads_by_contact.entry(link.id).or_default().push(lead.id);
            }
        }
        let mut order: Vec<usize> = (0..self.radist_contacts.len()).collect();
        let contacts = &self.radist_contacts;
        order.sort_by(|&a, &b| {
            let (a, b) = (&contacts[a], &contacts[b]);
            b.last_chat_updated_at.cmp(&a.last_chat_updated_at).then(a.id.cmp(&b.id))
        });
        index.contacts_by_activity = order;
        self.index = index;
    }
}
