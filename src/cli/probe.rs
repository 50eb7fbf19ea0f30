//! `synkro connectors list` and `synkro healthcheck`: commands that need no database.

use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Prints every linked connector: kind, name, capabilities and fields (secret fields marked).
/// A closed pipe (`synkro connectors list | head`) ends the listing quietly.
pub fn list_connectors() -> anyhow::Result<()> {
    match write_connectors(&mut std::io::stdout().lock()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing the list"),
    }
}

fn write_connectors(out: &mut impl std::io::Write) -> std::io::Result<()> {
    let registry = crate::connector::Registry::from_linked().map_err(std::io::Error::other)?;
    for spec in registry.specs() {
        let capabilities: Vec<String> =
            spec.capabilities.iter().map(|c| serde_json::to_string(c).unwrap_or_default().replace('"', "")).collect();
        writeln!(
            out,
            "{:<10} {:<14} {}  [{}]",
            spec.kind,
            spec.display_name,
            spec.description,
            capabilities.join(", ")
        )?;
        for field in spec.public_fields {
            let required = if field.required { "required" } else { "optional" };
            writeln!(out, "    {:<22} {required:<8}  {}", field.name, field.description)?;
        }
        for field in spec.secret_fields {
            let required = if field.required { "required" } else { "optional" };
            writeln!(out, "    {:<22} {required:<8}  (secret) {}", field.name, field.description)?;
        }
    }
    Ok(())
}

/// GETs `/readyz` from the server at `address` and fails unless it answers 200 within 5 s
/// (for containers and systemd).
pub async fn healthcheck(address: std::net::SocketAddr) -> anyhow::Result<()> {
    let check = async {
        let mut stream = tokio::net::TcpStream::connect(address).await.with_context(|| {
            format!("nothing answers on {address}: is `synkro serve` running, and is SYNKRO_BIND the same?")
        })?;
        let request = format!("GET /readyz HTTP/1.0\r\nHost: {address}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        let text = String::from_utf8_lossy(&answer);
        let status = text.split_whitespace().nth(1).unwrap_or_default().to_owned();
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().trim().to_owned();
        anyhow::Ok((status, body))
    };
    let (status, body) = tokio::time::timeout(Duration::from_secs(5), check)
        .await
        .with_context(|| format!("{address} did not answer within 5 s"))??;
    if status != "200" {
        bail!("not ready (HTTP {status}): {body}");
    }
    println!("ready: {body}");
    Ok(())
}
