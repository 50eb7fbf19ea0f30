//! The connector registry, fed by `inventory`: every linked connector crate submits one
//! [`Registration`], and [`Registry::from_linked`] collects them.
//!
//! Linking rule: a crate's registration is seen only if something on the path from the final
//! binary (or test) names that crate, e.g. `use synkro_connector_amocrm as _;`.

use std::{collections::BTreeMap, sync::Arc};

use super::{Connector, ConnectorSpec};
use crate::domain::ConnectorKind;

/// One connector's entry in the registry. Submit it once per connector crate:
///
/// ```ignore
/// inventory::submit! { synkro_core::connector::Registration::new(|| std::sync::Arc::new(MyConnector)) }
/// ```
pub struct Registration {
    make: fn() -> Arc<dyn Connector>,
}

impl Registration {
    /// A registration that builds the connector with `make`.
    pub const fn new(make: fn() -> Arc<dyn Connector>) -> Self {
        Self { make }
    }
}

inventory::collect!(Registration);

/// Why the registry could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Two linked connectors claim the same kind.
    #[error("two connectors are registered as {kind:?} ({first} and {second}); kinds must be unique")]
    DuplicateKind {
        /// The kind.
        kind: String,
        /// The first one's display name.
        first: String,
        /// The second one's display name.
        second: String,
    },
    /// A connector's kind is not a lowercase snake_case noun.
    #[error("connector {display_name} has an invalid kind {kind:?}: kinds are lowercase snake_case")]
    InvalidKind {
        /// The kind.
        kind: String,
        /// Its display name.
        display_name: String,
    },
}

/// The connectors available to this process, by kind.
#[derive(Clone, Default)]
pub struct Registry {
    by_kind: BTreeMap<&'static str, Arc<dyn Connector>>,
}

impl Registry {
    /// Every connector linked into this binary. Fails on a duplicate or malformed kind, so a
    /// packaging mistake stops start-up instead of hiding a connector.
    pub fn from_linked() -> Result<Self, RegistryError> {
        Self::from_connectors(inventory::iter::<Registration>.into_iter().map(|r| (r.make)()))
    }

    /// A registry of exactly these connectors (tests, embedders that register by hand).
    pub fn from_connectors(connectors: impl IntoIterator<Item = Arc<dyn Connector>>) -> Result<Self, RegistryError> {
        let mut by_kind: BTreeMap<&'static str, Arc<dyn Connector>> = BTreeMap::new();
        for connector in connectors {
            let spec = connector.spec();
            if ConnectorKind::new(spec.kind).is_err() {
                return Err(RegistryError::InvalidKind {
                    kind: spec.kind.to_owned(),
                    display_name: spec.display_name.to_owned(),
                });
            }
            if let Some(first) = by_kind.get(spec.kind) {
                return Err(RegistryError::DuplicateKind {
                    kind: spec.kind.to_owned(),
                    first: first.spec().display_name.to_owned(),
                    second: spec.display_name.to_owned(),
                });
            }
            by_kind.insert(spec.kind, connector);
        }
        Ok(Self { by_kind })
    }

    /// The connector of `kind`.
    pub fn get(&self, kind: &str) -> Option<&Arc<dyn Connector>> {
        self.by_kind.get(kind)
    }

    /// Every connector's spec, sorted by kind.
    pub fn specs(&self) -> Vec<&'static ConnectorSpec> {
        self.by_kind.values().map(|c| c.spec()).collect()
    }

    /// Every kind, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.by_kind.keys().copied().collect()
    }

    /// Number of connectors.
    pub fn len(&self) -> usize {
        self.by_kind.len()
    }

    /// Whether no connector is registered.
    pub fn is_empty(&self) -> bool {
        self.by_kind.is_empty()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("kinds", &self.kinds()).finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use async_trait::async_trait;
    use serde_json::Value;

    use super::*;
    use crate::connector::{Capabilities, ConnectorConfig, ConnectorContext, ConnectorError};

    struct Fake(&'static ConnectorSpec);

    #[async_trait]
    impl Connector for Fake {
        fn spec(&self) -> &'static ConnectorSpec {
            self.0
        }
        async fn check(&self, _: &ConnectorConfig, _: &ConnectorContext) -> Result<Value, ConnectorError> {
            Ok(Value::Null)
        }
        fn build(&self, _: &ConnectorConfig, _: &ConnectorContext) -> Result<Capabilities, ConnectorError> {
            Ok(Capabilities::default())
        }
    }

    const fn spec(kind: &'static str, display_name: &'static str) -> ConnectorSpec {
        ConnectorSpec {
            kind,
            display_name,
            version: "0",
            description: "",
            public_fields: &[],
            secret_fields: &[],
            capabilities: &[],
        }
    }

    static ZULIP: ConnectorSpec = spec("zulip", "Zulip");
    static ALPHA: ConnectorSpec = spec("alpha_crm", "Alpha CRM");
    static ALPHA_TWO: ConnectorSpec = spec("alpha_crm", "Alpha CRM fork");
    static BAD: ConnectorSpec = spec("Bad-Kind", "Bad");

    fn fake(spec: &'static ConnectorSpec) -> Arc<dyn Connector> {
        Arc::new(Fake(spec))
    }

    #[test]
    fn connectors_are_listed_sorted_and_found_by_kind() {
        let registry = Registry::from_connectors([fake(&ZULIP), fake(&ALPHA)]).unwrap();
        assert_eq!(registry.kinds(), ["alpha_crm", "zulip"]);
        assert_eq!(registry.get("zulip").unwrap().spec().display_name, "Zulip");
        assert!(registry.get("nope").is_none());
    }

    #[test]
    fn a_duplicate_kind_is_an_error_naming_both() {
        let err = Registry::from_connectors([fake(&ALPHA), fake(&ALPHA_TWO)]).err().unwrap();
        assert!(matches!(&err, RegistryError::DuplicateKind { kind, .. } if kind == "alpha_crm"));
        let text = err.to_string();
        assert!(text.contains("Alpha CRM") && text.contains("Alpha CRM fork"), "{text}");
    }

    #[test]
    fn a_malformed_kind_is_refused() {
        let err = Registry::from_connectors([fake(&BAD)]).err().unwrap();
        assert!(matches!(err, RegistryError::InvalidKind { .. }));
    }
}
