//! Every connector bundled with Synkro. Depending on this crate links them all, so
//! [`registry`] (and `Registry::from_linked`) sees each one.

// Each bundled connector crate must be named once here, or its registration is not linked.
use synkro_connector_ai as _;
use synkro_connector_amocrm as _;
use synkro_connector_radist as _;
use synkro_connector_supabase as _;
use synkro_connector_telegram as _;

use synkro_core::connector::{Registry, RegistryError};

/// The registry of every linked connector (the bundled ones plus any the final binary links).
pub fn registry() -> Result<Registry, RegistryError> {
    Registry::from_linked()
}
