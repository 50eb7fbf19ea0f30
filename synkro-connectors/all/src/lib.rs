//! Every connector bundled with Synkro. Depending on this crate (and naming it once, as
//! `use synkro_connectors as _;`) links them all, so `Registry::from_linked()` sees each one,
//! beside any connector the final binary links itself. The `synkro` facade does this.

// Each bundled connector crate must be named once here, or its registration is not linked.
use synkro_connector_ai as _;
use synkro_connector_amocrm as _;
use synkro_connector_radist as _;
use synkro_connector_supabase as _;
use synkro_connector_telegram as _;
