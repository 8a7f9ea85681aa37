//! One party's client of a gateway: mutual TLS with the party's own client certificate, JSON
//! in and out. The `veil` commands that talk to a running consortium (console, demo, bench,
//! audit and settlement exports) and the end-to-end tests use it.
//!
//! Which certificate acts for whom and where each gateway listens come from the consortium
//! directory ([`crate::consortium::layout`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::consortium::config::GatewayConfig;
use crate::consortium::layout;

/// How long a request may take, finalization of a write included (ms: 120,000).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a call to a gateway failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The consortium directory does not say what was asked (no such gateway or certificate).
    #[error("{0}")]
    Directory(String),
    /// A TLS file could not be loaded.
    #[error("TLS: {0}")]
    Tls(#[from] veil_node::tls::TlsError),
    /// The request did not get an answer.
    #[error("{url}: {source}")]
    Transport {
        /// The URL asked.
        url: String,
        /// What went wrong.
        #[source]
        source: reqwest::Error,
    },
    /// The gateway answered with an error status (its problem+json body as given).
    #[error("{url}: {status}: {body}")]
    Status {
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: reqwest::StatusCode,
        /// The answer's body.
        body: Value,
    },
}

/// The URL (`https://HOST:PORT`) of gateway `id` in consortium directory `dir`: from
/// `endpoints.json` if a running embedded consortium wrote one, else from the gateway's config.
///
/// # Errors
/// [`ClientError::Directory`] if neither names the gateway.
pub fn gateway_url(dir: &Path, id: &str) -> Result<String, ClientError> {
    if let Ok(text) = std::fs::read_to_string(layout::endpoints_path(dir)) {
        let endpoints: BTreeMap<String, String> = serde_json::from_str(&text)
            .map_err(|e| ClientError::Directory(format!("endpoints.json: {e}")))?;
        if let Some(url) = endpoints.get(id) {
            return Ok(url.clone());
        }
    }
    let config = GatewayConfig::load(&layout::gateway_config(dir, id))
        .map_err(|e| ClientError::Directory(e.to_string()))?;
    Ok(format!("https://127.0.0.1:{}", config.listen.port()))
}

/// The client certificate and key acting as `member` (a bank, with `role`, by default
/// `auditor`) or as a regulator, in consortium `dir`.
///
/// # Errors
/// [`ClientError::Directory`] if there is no such certificate.
pub fn identity_files(
    dir: &Path,
    member: &str,
    role: Option<&str>,
) -> Result<(PathBuf, PathBuf), ClientError> {
    let (cert, key) = if member == "regulator" || dir.join(member).join("view.key").exists() {
        (
            dir.join(member).join("client.pem"),
            dir.join(member).join("client.key"),
        )
    } else {
        let role = role.unwrap_or("auditor");
        let clients = dir.join(member).join("clients");
        (
            clients.join(format!("{role}.pem")),
            clients.join(format!("{role}.key")),
        )
    };
    if !cert.exists() {
        return Err(ClientError::Directory(format!(
            "{}: no such client certificate (member {member}, role {})",
            cert.display(),
            role.unwrap_or("(none)")
        )));
    }
    Ok((cert, key))
}

/// An HTTPS client acting as `cert`/`key`, trusting the CA of every party the genesis of
/// `dir` names (the tools speak to every party's gateway).
///
/// # Errors
/// [`ClientError::Directory`] if the genesis cannot be read, [`ClientError::Tls`] if a file
/// cannot be loaded.
pub fn https(dir: &Path, cert: &Path, key: &Path) -> Result<reqwest::Client, ClientError> {
    let genesis = veil_node::genesis::Genesis::load(&layout::genesis(dir))
        .map_err(|e| ClientError::Directory(e.to_string()))?;
    let anchors = veil_node::tls::anchors(&genesis.certificate_authorities());
    Ok(veil_node::tls::https_client(
        &veil_node::tls::TlsFiles {
            cert,
            key,
            anchors: &anchors,
        },
        REQUEST_TIMEOUT,
    )?)
}

/// GETs `url` as JSON.
///
/// # Errors
/// [`ClientError::Transport`] without an answer, [`ClientError::Status`] for a non-2xx one.
pub async fn get_json(client: &reqwest::Client, url: &str) -> Result<Value, ClientError> {
    answer(url, client.get(url).send().await).await
}

/// POSTs `body` to `url` as JSON.
///
/// # Errors
/// As [`get_json`].
pub async fn post_json(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
) -> Result<Value, ClientError> {
    answer(url, client.post(url).json(body).send().await).await
}

async fn answer(
    url: &str,
    response: Result<reqwest::Response, reqwest::Error>,
) -> Result<Value, ClientError> {
    let transport = |source| ClientError::Transport {
        url: url.to_owned(),
        source,
    };
    let response = response.map_err(transport)?;
    let status = response.status();
    let body: Value = response.json().await.map_err(transport)?;
    if !status.is_success() {
        return Err(ClientError::Status {
            url: url.to_owned(),
            status,
            body,
        });
    }
    Ok(body)
}
