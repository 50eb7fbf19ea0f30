//! Pins the list of connectors linked into Synkro: adding or losing one must be deliberate.

#![allow(clippy::unwrap_used)]

use synkro_connectors as _;

#[test]
fn the_linked_connectors_are_exactly_these() {
    let registry = synkro_core::connector::Registry::from_linked().unwrap();
    assert_eq!(registry.kinds(), ["ai", "amocrm", "radist", "supabase", "telegram"]);
    for spec in registry.specs() {
        assert!(!spec.display_name.is_empty() && !spec.description.is_empty(), "{}", spec.kind);
        assert!(!spec.capabilities.is_empty(), "{} provides nothing", spec.kind);
        for field in spec.public_fields.iter().chain(spec.secret_fields) {
            assert!(!field.description.is_empty() && !field.example.is_empty(), "{}.{}", spec.kind, field.name);
        }
    }
}
