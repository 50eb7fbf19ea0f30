//! A connector's settings as one struct: [`connector_settings!`](crate::connector_settings)
//! declares it, with every field's doc comment and example, and derives from it the field specs
//! the API, the CLI and the save checks use ([`FieldSpec`]) and a reader from a tenant's
//! [`ConnectorConfig`]. The names are written once.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{ConnectorConfig, ConnectorError, FieldSpec, FieldType};
use crate::secrets::Secret;

/// A type a setting can have: its form type, whether it may be left out, and its choices.
pub trait SettingValue {
    /// How forms show it and saving checks it.
    const TYPE: FieldType;
    /// Whether a tenant must set it (`Option<T>` may be left out).
    const REQUIRED: bool = true;
    /// The accepted values of a [`FieldType::Choice`].
    const CHOICES: &'static [&'static str] = &[];
}

impl SettingValue for String {
    const TYPE: FieldType = FieldType::String;
}

impl SettingValue for Secret {
    const TYPE: FieldType = FieldType::String;
}

impl SettingValue for i64 {
    const TYPE: FieldType = FieldType::Integer;
}

impl SettingValue for u32 {
    const TYPE: FieldType = FieldType::Integer;
}

impl SettingValue for bool {
    const TYPE: FieldType = FieldType::Boolean;
}

impl<T: SettingValue> SettingValue for Option<T> {
    const TYPE: FieldType = T::TYPE;
    const REQUIRED: bool = false;
    const CHOICES: &'static [&'static str] = T::CHOICES;
}

/// A URL setting (saving checks it parses and that outbound requests may reach its host).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct UrlSetting(pub String);

impl SettingValue for UrlSetting {
    const TYPE: FieldType = FieldType::Url;
}

impl FieldSpec {
    /// The spec of a field of type `T` (its form type, whether required, its choices);
    /// `description` is trimmed (doc comments start with a space).
    pub const fn of<T: SettingValue>(name: &'static str, description: &'static str, example: &'static str) -> Self {
        Self {
            name,
            field_type: T::TYPE,
            required: T::REQUIRED,
            description: description.trim_ascii(),
            example,
            choices: T::CHOICES,
        }
    }
}

/// Reads `config` into `T` by its field specs: blank text counts as missing, a number given as
/// text is read as a number, and a field that is missing or does not fit is a config error
/// naming it (a secret's value never appears in one). Fields the specs do not name are left out.
pub fn read_settings<T: DeserializeOwned>(
    config: &ConnectorConfig,
    public: &[FieldSpec],
    secret: &[FieldSpec],
) -> Result<T, ConnectorError> {
    let mut object = Map::new();
    for spec in public {
        let value = match config.public.get(spec.name) {
            None | Some(Value::Null) => continue,
            Some(Value::String(text)) if text.trim().is_empty() => continue,
            Some(Value::String(text)) if spec.field_type == FieldType::Integer => {
                let number: i64 =
                    text.trim().parse().map_err(|_| ConnectorError::config(spec.name, "must be a whole number"))?;
                Value::from(number)
            }
            Some(Value::String(text)) => Value::String(text.trim().to_owned()),
            Some(other) => other.clone(),
        };
        object.insert(spec.name.to_owned(), value);
    }
    for spec in secret {
        if let Some(value) = config.opt_secret(spec.name) {
            object.insert(spec.name.to_owned(), Value::String(value.expose().to_owned()));
        }
    }
    for spec in public.iter().chain(secret).filter(|s| s.required) {
        if !object.contains_key(spec.name) {
            return Err(ConnectorError::config(spec.name, "is required"));
        }
    }
    serde_path_to_error::deserialize(Value::Object(object)).map_err(|e| {
        let field = e.path().to_string();
        let secret = secret.iter().any(|s| s.name == field);
        // A secret's text never goes into an error; a public value may (the tenant set it).
        let why = if secret { "is not valid".to_owned() } else { e.inner().to_string() };
        ConnectorError::config(&field, why)
    })
}

/// Declares a connector's settings: one struct whose fields are grouped `public` and `secret`,
/// each with its doc comment (the description people see) and an example. It derives
/// `PUBLIC_FIELDS` and `SECRET_FIELDS` (the specs, in order; `Option<T>` fields are optional)
/// and `from_config`, which reads a tenant's configuration into the struct
/// ([`read_settings`](crate::connector::read_settings)). The calling crate depends on serde.
///
/// ```
/// use synkro_core::{Secret, connector::{ConnectorConfig, FieldType, UrlSetting}};
///
/// synkro_core::connector_settings! {
///     /// Settings of a CRM reached over HTTP.
///     pub struct CrmSettings {
///         public {
///             /// Where the API lives.
///             base_url: Option<UrlSetting> = "https://crm.example.com/api",
///             /// Most pages read per report.
///             max_pages: Option<u32> = "200",
///         }
///         secret {
///             /// The API key.
///             api_key: Secret = "sk-…",
///         }
///     }
/// }
///
/// assert_eq!(CrmSettings::PUBLIC_FIELDS[1].field_type, FieldType::Integer);
/// assert!(!CrmSettings::PUBLIC_FIELDS[1].required && CrmSettings::SECRET_FIELDS[0].required);
/// let mut secrets = synkro_core::secrets::SecretMap::new();
/// secrets.insert("api_key", Secret::new("sk-1"));
/// let config = ConnectorConfig::new(serde_json::json!({"max_pages": "50"}), secrets);
/// let settings = CrmSettings::from_config(&config).unwrap();
/// assert_eq!((settings.max_pages, settings.base_url), (Some(50), None));
/// ```
#[macro_export]
macro_rules! connector_settings {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            public {
                $( $(#[doc = $pdoc:literal])+ $pfield:ident : $pty:ty = $pexample:literal, )*
            }
            secret {
                $( $(#[doc = $sdoc:literal])+ $sfield:ident : $sty:ty = $sexample:literal, )*
            }
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, serde::Deserialize)]
        $vis struct $name {
            $( $(#[doc = $pdoc])+ pub $pfield: $pty, )*
            $( $(#[doc = $sdoc])+ pub $sfield: $sty, )*
        }

        impl $name {
            /// The public fields, in order.
            pub const PUBLIC_FIELDS: &'static [$crate::connector::FieldSpec] = &[
                $( $crate::connector::FieldSpec::of::<$pty>(stringify!($pfield), concat!($($pdoc),+), $pexample), )*
            ];

            /// The secret fields, in order.
            pub const SECRET_FIELDS: &'static [$crate::connector::FieldSpec] = &[
                $( $crate::connector::FieldSpec::of::<$sty>(stringify!($sfield), concat!($($sdoc),+), $sexample), )*
            ];

            /// Reads a tenant's configuration; a missing or ill-typed field is a config error
            /// naming it.
            pub fn from_config(
                config: &$crate::connector::ConnectorConfig,
            ) -> Result<Self, $crate::connector::ConnectorError> {
                $crate::connector::read_settings(config, Self::PUBLIC_FIELDS, Self::SECRET_FIELDS)
            }
        }
    };
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::secrets::SecretMap;

    crate::connector_settings! {
        /// Test settings.
        struct Sample {
            public {
                /// A name
                /// over two lines
                name: String = "acme",
                /// A count
                count: Option<u32> = "3",
                /// An address
                url: Option<UrlSetting> = "https://example.com",
            }
            secret {
                /// A key
                key: Secret = "k",
            }
        }
    }

    fn config(public: Value, key: Option<&str>) -> ConnectorConfig {
        let mut secrets = SecretMap::new();
        if let Some(key) = key {
            secrets.insert("key", Secret::new(key));
        }
        ConnectorConfig::new(public, secrets)
    }

    #[test]
    fn specs_come_from_the_struct() {
        let names: Vec<_> = Sample::PUBLIC_FIELDS.iter().map(|f| (f.name, f.field_type, f.required)).collect();
        assert_eq!(
            names,
            [("name", FieldType::String, true), ("count", FieldType::Integer, false), ("url", FieldType::Url, false)]
        );
        assert_eq!(Sample::PUBLIC_FIELDS[0].description, "A name over two lines");
        assert_eq!((Sample::SECRET_FIELDS[0].name, Sample::SECRET_FIELDS[0].example), ("key", "k"));
    }

    #[test]
    fn values_are_read_leniently_and_mistakes_name_the_field() {
        let read = Sample::from_config(&config(json!({"name": " acme ", "count": "7", "url": ""}), Some("s3cr3t")));
        let read = read.unwrap();
        assert_eq!((read.name.as_str(), read.count, read.url), ("acme", Some(7), None));
        assert_eq!(read.key.expose(), "s3cr3t");

        let missing = Sample::from_config(&config(json!({"name": "acme"}), None)).unwrap_err();
        assert_eq!(missing.message, "key: is required");
        let blank = Sample::from_config(&config(json!({"name": "  "}), Some("k"))).unwrap_err();
        assert_eq!(blank.message, "name: is required");
        let bad = Sample::from_config(&config(json!({"name": "a", "count": "many"}), Some("k"))).unwrap_err();
        assert_eq!(bad.message, "count: must be a whole number");
        let negative = Sample::from_config(&config(json!({"name": "a", "count": -1}), Some("k"))).unwrap_err();
        assert!(negative.message.starts_with("count: "), "{}", negative.message);
    }
}
