//! A team's own `synkro`: the whole command line (serve, worker, report, admin, ...) with the
//! bundled connectors and the team's `csv_crm` linked in. `cargo run -p own-binary -- connectors list`
//! lists it beside the bundled ones.

// Linking the crate is all it takes: its connector registers itself.
use custom_connector as _;

fn main() -> std::process::ExitCode {
    synkro::cli::main()
}
