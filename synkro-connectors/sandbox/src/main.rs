//! `synkro-sandbox`: the fake services in a process of their own. Configure with the
//! `SANDBOX_*` variables ([`SandboxConfig::from_env`](synkro_sandbox::SandboxConfig::from_env));
//! it prints its URLs, the connector endpoint overrides (the format of
//! `SYNKRO_CONNECTOR_ENDPOINTS`) and the credentials as one JSON line, answers `stats` on stdin,
//! and stops when stdin closes (see [`synkro_sandbox::remote`]).
//!
//! ```sh
//! SANDBOX_DEALS=2000 cargo run --release -p synkro-sandbox
//! ```

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match synkro_sandbox::remote::serve_stdio_from_env().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("synkro-sandbox: {e}");
            ExitCode::FAILURE
        }
    }
}
