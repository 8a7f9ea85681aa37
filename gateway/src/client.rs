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

/// Whether a gateway's answer `status` (with problem `body`) asks to retry the same request
/// later: 503 (not ready), 504 (not finalized in time: retry with the same idempotency key),
/// and 409 whose problem type is `…/behind` (its node has not reached the `min_height` asked
/// for yet). Any other 409 (an idempotency key reused for another request) is final.
pub fn asks_to_retry(status: reqwest::StatusCode, body: &Value) -> bool {
    status == reqwest::StatusCode::SERVICE_UNAVAILABLE
        || status == reqwest::StatusCode::GATEWAY_TIMEOUT
        || (status == reqwest::StatusCode::CONFLICT
            && body["type"]
                .as_str()
                .is_some_and(|t| t.ends_with("/behind")))
}

/// POSTs `body` to `url` as JSON under `idempotency_key`, retrying with the same key while the
/// gateway asks to ([`asks_to_retry`]: not ready, not finalized in time, its node behind), or
/// cannot be reached, for up to `patience` (exponential backoff from 200 ms, at most 5 s between tries; `backon`). The
/// key makes a retry return the first write's answer instead of writing twice (CONTRACT:
/// idempotency).
///
/// # Errors
/// As [`get_json`]: the last answer once `patience` has passed, or the first other error.
pub async fn post_json_retrying(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
    idempotency_key: &str,
    patience: std::time::Duration,
) -> Result<Value, ClientError> {
    use backon::{ExponentialBuilder, Retryable as _};
    let policy = ExponentialBuilder::default()
        .with_min_delay(std::time::Duration::from_millis(200))
        .with_max_delay(std::time::Duration::from_secs(5))
        .with_total_delay(Some(patience))
        .without_max_times();
    (|| async {
        let sent = client
            .post(url)
            .header("Idempotency-Key", idempotency_key)
            .json(body)
            .send()
            .await;
        answer(url, sent).await
    })
    .retry(policy)
    .when(|e| match e {
        ClientError::Status { status, body, .. } => asks_to_retry(*status, body),
        ClientError::Transport { .. } => true,
        _ => false,
    })
    .await
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

/// What [`audit_disclosures`] found: a member gateway's disclosure log checked, record by
/// record, against the anchors of that member on the ledger.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DisclosureAudit {
    /// The member whose log was checked.
    pub member: String,
    /// Records read from its gateway (up to the first break in the chain).
    pub records: u64,
    /// Anchors read from the ledger (through the auditor's own gateway).
    pub anchors: u64,
    /// Whether the log is one unbroken hash chain from sequence 1.
    pub chain_verified: bool,
    /// Whether every anchor names a record of the log with exactly its hash.
    pub anchors_verified: bool,
    /// The latest anchor by its (member-signed) timestamp, if any.
    pub latest_anchor: Option<crate::service::store::AnchorRecord>,
    /// Records after the highest anchored sequence: not protected yet.
    pub unanchored: u64,
    /// Whether the member has no anchor, or none in the last [`ANCHOR_OVERDUE_MS`]: a gateway
    /// anchors at least daily, so it stopped anchoring (or the consortium is younger than a
    /// day).
    pub overdue: bool,
    /// Anchors dated more than ten minutes after the auditor's clock: a member predating its
    /// anchors to look fresh.
    pub future_dated: u64,
    /// The anchors the log disagrees with (a dropped record has `found: null`).
    pub mismatches: Vec<crate::service::store::AnchorMismatch>,
}

impl DisclosureAudit {
    /// Whether the log passed: an unbroken chain that agrees with every anchor, anchored within
    /// the last day, no anchor dated ahead.
    pub fn passed(&self) -> bool {
        self.chain_verified && self.anchors_verified && !self.overdue && self.future_dated == 0
    }
}

/// How old (ms) a member's latest anchor may be before [`DisclosureAudit::overdue`]: a day
/// (a gateway anchors at least every 23 hours) and ten minutes.
pub const ANCHOR_OVERDUE_MS: u64 = 86_400_000 + 600_000;
/// How far ahead of the auditor's clock (ms) an anchor may be dated (clock skew).
pub const ANCHOR_SKEW_MS: u64 = 600_000;

/// Checks `member`'s disclosure log, read from its gateway at `member_url`, against the
/// member's anchors on the ledger, read from the auditor's own gateway at `own_url` (so the
/// member's gateway cannot choose them), as far as that gateway's node has finalized when the
/// audit starts: the whole log must be one hash chain from sequence 1 and hold, at each
/// anchored sequence, a record with the anchored hash; the latest anchor must be at most a day
/// old. A log truncated or rewritten after an anchor fails, whatever its gateway says of
/// itself. `client` acts as a regulator (both gateways serve these reads to regulators only).
///
/// What it cannot see: a read a modified gateway never logged, or a record appended since the
/// last anchor and dropped before the next.
///
/// # Errors
/// [`ClientError`] if a gateway does not answer, refuses, or answers with something that is
/// not a page of records or anchors.
pub async fn audit_disclosures(
    client: &reqwest::Client,
    member_url: &str,
    own_url: &str,
    member: &str,
) -> Result<DisclosureAudit, ClientError> {
    use crate::service::store::{AnchorMismatch, AnchorRecord, Disclosure, verify_chain};
    const PAGE: usize = 1000;
    let malformed = |url: &str, what: &str| ClientError::Directory(format!("{url}: {what}"));

    // Every anchor finalized by now, indexed by the auditor's gateway.
    let status_url = format!("{own_url}/v1/status");
    let height = get_json(client, &status_url).await?["height"]
        .as_u64()
        .ok_or_else(|| malformed(&status_url, "no height"))?;
    let mut anchors: Vec<AnchorRecord> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!(
            "{own_url}/v1/disclosures/anchors?member={member}&limit={PAGE}&min_height={height}"
        );
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page = get_json(client, &url).await?;
        let items: Vec<AnchorRecord> = serde_json::from_value(page["anchors"].clone())
            .map_err(|_| malformed(&url, "not a page of anchors"))?;
        anchors.extend(items.into_iter().filter(|a| a.member == member));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    anchors.sort_by_key(|a| a.sequence);

    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let latest = anchors.iter().max_by_key(|a| a.timestamp_ms).cloned();
    let mut audit = DisclosureAudit {
        member: member.to_owned(),
        records: 0,
        anchors: anchors.len() as u64,
        chain_verified: true,
        anchors_verified: true,
        overdue: latest
            .as_ref()
            .is_none_or(|a| now_ms.saturating_sub(a.timestamp_ms) > ANCHOR_OVERDUE_MS),
        future_dated: anchors
            .iter()
            .filter(|a| a.timestamp_ms > now_ms.saturating_add(ANCHOR_SKEW_MS))
            .count() as u64,
        latest_anchor: latest,
        unanchored: 0,
        mismatches: Vec::new(),
    };
    let anchored_through = anchors.last().map_or(0, |a| a.sequence);
    let mut previous = crate::service::store::genesis_disclosure_hash();
    let mut next = 1u64;
    loop {
        let url = format!("{member_url}/v1/disclosures?from={next}&limit={PAGE}");
        let page = get_json(client, &url).await?;
        if page["gateway"].as_str() != Some(member) {
            return Err(malformed(&url, "not this member's gateway"));
        }
        let records: Vec<Disclosure> = serde_json::from_value(page["records"].clone())
            .map_err(|_| malformed(&url, "not a page of disclosures"))?;
        let Some(first) = records.first() else { break };
        // A broken chain fails the audit: stop there (a lying gateway cannot keep it going).
        if first.sequence != next || !verify_chain(&records, &previous) {
            audit.chain_verified = false;
            break;
        }
        audit
            .mismatches
            .extend(crate::service::store::anchor_mismatches(&records, &anchors));
        audit.records += records.len() as u64;
        audit.unanchored += records
            .iter()
            .filter(|r| r.sequence > anchored_through)
            .count() as u64;
        next = first.sequence.saturating_add(records.len() as u64);
        previous = records.last().map_or(previous, |r| r.hash.clone());
        if records.len() < PAGE {
            break;
        }
    }
    // Anchored records the log no longer has: it was truncated (an empty log's anchors, at
    // sequence 0, name no record).
    audit
        .mismatches
        .extend(
            anchors
                .iter()
                .filter(|a| a.sequence >= next)
                .map(|a| AnchorMismatch {
                    sequence: a.sequence,
                    anchored: a.head.clone(),
                    found: None,
                    entry: a.entry.clone(),
                }),
        );
    audit.anchors_verified = audit.mismatches.is_empty();
    Ok(audit)
}
