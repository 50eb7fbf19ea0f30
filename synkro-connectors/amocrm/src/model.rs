//! amoCRM wire types (API v4), kept apart from Synkro's domain types.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
pub(crate) struct Link {
    pub href: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Links {
    pub next: Option<Link>,
}

/// A list envelope: `{_page, _links, _embedded: {<name>: [...]}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ListPage<E> {
    #[serde(default)]
    pub _links: Links,
    pub _embedded: E,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Account {
    pub id: i64,
    pub name: String,
    pub subdomain: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Pipelines {
    pub pipelines: Vec<Pipeline>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Pipeline {
    pub id: i64,
    pub _embedded: PipelineStatuses,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PipelineStatuses {
    pub statuses: Vec<Status>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Status {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Leads {
    pub leads: Vec<Lead>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Lead {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    pub price: Option<i64>,
    pub status_id: Option<i64>,
    pub pipeline_id: Option<i64>,
    pub responsible_user_id: Option<i64>,
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
    #[serde(default)]
    pub _embedded: LeadEmbedded,
    /// Everything else, kept as deal attributes.
    #[serde(flatten)]
    pub rest: serde_json::Map<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LeadEmbedded {
    #[serde(default)]
    pub contacts: Vec<ContactRef>,
    #[serde(default)]
    pub tags: Vec<Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ContactRef {
    pub id: i64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Contacts {
    pub contacts: Vec<Contact>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Contact {
    pub id: i64,
    pub name: Option<String>,
    #[serde(default)]
    pub custom_fields_values: Option<Vec<CustomField>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CustomField {
    pub field_name: Option<String>,
    pub field_code: Option<String>,
    #[serde(default)]
    pub values: Vec<CustomValue>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CustomValue {
    pub value: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Users {
    pub users: Vec<User>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct User {
    pub id: i64,
    pub name: String,
}

/// The token endpoint's answer.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: Option<i64>,
}

impl CustomField {
    /// Whether this field holds phone numbers: code `PHONE`, or a phone-like name.
    pub fn is_phone(&self) -> bool {
        if self.field_code.as_deref().is_some_and(|c| c.eq_ignore_ascii_case("PHONE")) {
            return true;
        }
        let name = self.field_name.as_deref().unwrap_or_default().to_lowercase();
        ["phone", "телефон", "тел.", "mobile", "мобильный", "whatsapp"].iter().any(|w| name.contains(w))
    }
}
