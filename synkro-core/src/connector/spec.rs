//! How a connector describes itself: kind, name, version, fields and capabilities.

use serde::Serialize;

/// A capability the report pipeline can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Deals from a CRM ([`CrmSource`](super::CrmSource)).
    CrmSource,
    /// Dialogs from a messaging platform ([`ChatSource`](super::ChatSource)).
    ChatSource,
    /// Deal rows and report archive ([`Warehouse`](super::Warehouse)).
    Warehouse,
    /// Text generation ([`LanguageModel`](super::LanguageModel)).
    LanguageModel,
    /// Report delivery and follow-up questions ([`Messenger`](super::Messenger)).
    Messenger,
}

/// The type of a configuration field, for forms and validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Free text.
    String,
    /// A URL.
    Url,
    /// A whole number.
    Integer,
    /// true / false.
    Boolean,
    /// One of a fixed list (see `choices`).
    Choice,
}

/// One configuration field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldSpec {
    /// The key in the public config or the secret map.
    pub name: &'static str,
    /// Its type.
    pub field_type: FieldType,
    /// Whether the connector cannot work without it.
    pub required: bool,
    /// What it is, for people.
    pub description: &'static str,
    /// An example value (never a real secret).
    pub example: &'static str,
    /// Accepted values for [`FieldType::Choice`].
    pub choices: &'static [&'static str],
}

impl FieldSpec {
    /// A required text field.
    pub const fn required(name: &'static str, description: &'static str, example: &'static str) -> Self {
        Self { name, field_type: FieldType::String, required: true, description, example, choices: &[] }
    }

    /// An optional text field.
    pub const fn optional(name: &'static str, description: &'static str, example: &'static str) -> Self {
        Self { name, field_type: FieldType::String, required: false, description, example, choices: &[] }
    }

    /// The same field with another type.
    pub const fn typed(mut self, field_type: FieldType) -> Self {
        self.field_type = field_type;
        self
    }

    /// The same field as a choice among `choices`.
    pub const fn choice(mut self, choices: &'static [&'static str]) -> Self {
        self.field_type = FieldType::Choice;
        self.choices = choices;
        self
    }
}

/// What a connector says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectorSpec {
    /// Lowercase snake_case noun, unique among linked connectors (`amocrm`).
    pub kind: &'static str,
    /// Name shown to people (`amoCRM`).
    pub display_name: &'static str,
    /// The connector's version (usually its crate version).
    pub version: &'static str,
    /// One sentence on what it connects to.
    pub description: &'static str,
    /// Non-secret fields, stored in plain JSON.
    pub public_fields: &'static [FieldSpec],
    /// Secret fields, encrypted at rest and never returned.
    pub secret_fields: &'static [FieldSpec],
    /// What it provides.
    pub capabilities: &'static [Capability],
}
