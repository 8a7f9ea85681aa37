//! How a gateway talks to its member's node: in process ([`LocalNode`], as in `veil up`) or
//! over mutual TLS ([`RemoteNode`], as when node and gateway are separate processes).
//! Both offer the same operations through [`NodeLink`].

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use veil_crypto::encoding;

use crate::consensus::gossip::GossipHandle;
use crate::ledger::EntryId;
use crate::state::{NodeState, Receipt, SubmitError};
use crate::store::{StoredBlock, StoredEntry};
use crate::validation::RejectionCode;

/// Why a node operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The node refused the entry, for the reason its code names (see
    /// [`crate::validation::RejectionCode`]; a code this build does not know is `Unrecognized`).
    #[error("entry rejected: {0}")]
    Rejected(RejectionCode),
    /// The entry id is already used by another entry.
    #[error("entry id already used")]
    Replay,
    /// The node is too busy; retry later.
    #[error("node busy")]
    Busy,
    /// The entry was not finalized in time (it may still be).
    #[error("not finalized in time")]
    Timeout,
    /// The node cannot serve (halted, storage failure, unreachable).
    #[error("node unavailable: {0}")]
    Unavailable(String),
    /// The node answered something this client does not understand.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The caller is not allowed to do this on that node.
    #[error("forbidden")]
    Forbidden,
}

/// A peer as a node sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// Member id.
    pub member: String,
    /// Its finalized height.
    pub height: u64,
    /// Its head digest (hex).
    pub head_hash: String,
}

/// A node's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The node's member.
    pub member: String,
    /// Finalized height.
    pub height: u64,
    /// Head block digest (hex).
    pub head_hash: String,
    /// Peers heard from recently.
    pub peers: Vec<PeerInfo>,
    /// Entries waiting to be ordered.
    pub mempool: usize,
    /// The policy hash (hex).
    pub policy_hash: String,
    /// Why the node halted, if it did.
    pub halted: Option<String>,
}

/// Where an entry was finalized, as the API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptInfo {
    /// Height.
    pub height: u64,
    /// Block digest (hex, serialized).
    #[serde(with = "hex32")]
    pub block: [u8; 32],
}

mod hex32 {
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&veil_crypto::encoding::to_hex(value))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        veil_crypto::encoding::from_hex_array(&text).map_err(serde::de::Error::custom)
    }
}

/// The node of this process.
#[derive(Clone, Debug)]
pub struct LocalNode {
    /// Node state.
    pub state: Arc<NodeState>,
    /// Gossip to peers.
    pub gossip: GossipHandle,
}

impl LocalNode {
    /// Validates, admits and gossips an entry, then waits up to `wait` for its finalization.
    pub async fn submit(&self, bytes: &[u8], wait: Duration) -> Result<Receipt, LinkError> {
        let id = crate::ledger::Entry::decode(bytes)
            .map_err(|_| LinkError::Rejected(RejectionCode::Malformed))?
            .header
            .id;
        // Register before admitting, so a fast finalization cannot be missed.
        let waiter = self.state.wait_for(id);
        let result = match self.state.admit(bytes) {
            Ok(_) => {
                self.gossip.broadcast_entry(bytes);
                match tokio::time::timeout(wait, waiter).await {
                    Ok(Ok(Ok(receipt))) => Ok(receipt),
                    // Made invalid by an entry ordered first (e.g. a registry update).
                    Ok(Ok(Err(rejection))) => Err(LinkError::Rejected(rejection.code())),
                    Ok(Err(_)) => Err(LinkError::Unavailable("node stopping".into())),
                    Err(_) => Err(LinkError::Timeout),
                }
            }
            Err(error) => {
                drop(waiter);
                Err(submit_error(error))
            }
        };
        // The waiter is gone here (answered, refused or timed out): never leave its sender.
        if result.is_err() {
            self.state.forget_waiters(&id);
        }
        result
    }

    /// The node's status.
    pub fn status(&self) -> Status {
        let state = &self.state;
        let (height, head) = state.store.head().ok().flatten().unwrap_or((0, [0; 32]));
        Status {
            member: state.member.clone(),
            height,
            head_hash: encoding::to_hex(&head),
            peers: state
                .live_peers(Duration::from_secs(5))
                .into_iter()
                .map(|(member, status)| PeerInfo {
                    member,
                    height: status.height,
                    head_hash: encoding::to_hex(&status.head),
                })
                .collect(),
            mempool: state.mempool_len(),
            policy_hash: encoding::to_hex(&state.genesis.policy_hash),
            halted: state.halted(),
        }
    }
}

/// Maps a submission error to what the caller is told.
pub fn submit_error(error: SubmitError) -> LinkError {
    match error {
        SubmitError::Malformed => LinkError::Rejected(RejectionCode::Malformed),
        SubmitError::Invalid(rejection) => LinkError::Rejected(rejection.code()),
        SubmitError::Replay => LinkError::Replay,
        SubmitError::Mempool(crate::mempool::MempoolError::Full) => LinkError::Busy,
        SubmitError::Mempool(crate::mempool::MempoolError::Conflict) => LinkError::Replay,
        SubmitError::Store(e) => LinkError::Unavailable(e.to_string()),
        SubmitError::Halted => LinkError::Unavailable("node halted".into()),
    }
}

/// A node reached over mutual TLS.
#[derive(Clone, Debug)]
pub struct RemoteNode {
    client: reqwest::Client,
    base: String,
}

/// The error body of the node API: RFC 9457 problem details with the extension member
/// `kind`, e.g. `{"type":"https://veil.dev/problems/node/rejected","title":"rejected",
/// "status":422,"kind":"rejected","detail":"stale-registry"}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ApiError {
    /// URI of the problem type (`https://veil.dev/problems/node/{kind}`).
    #[serde(rename = "type", default)]
    pub type_uri: String,
    /// Short summary (the kind).
    #[serde(default)]
    pub title: String,
    /// HTTP status.
    #[serde(default)]
    pub status: u16,
    /// Machine-readable kind: `rejected`, `replay`, `busy`, `timeout`, `unavailable`,
    /// `forbidden`, `not_found`, `bad_request`.
    pub kind: String,
    /// Detail, never entry contents: for `rejected`, the
    /// [rejection code](crate::validation::RejectionCode) string.
    #[serde(default)]
    pub detail: String,
}

impl ApiError {
    /// The body of an error of `kind` answered with `status`.
    pub fn new(status: reqwest::StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Self {
            type_uri: format!("{}node/{kind}", crate::problem::PROBLEM_BASE),
            title: kind.to_owned(),
            status: status.as_u16(),
            kind: kind.to_owned(),
            detail: detail.into(),
        }
    }

    /// The body of a refusal with `code`.
    pub fn rejected(code: RejectionCode) -> Self {
        Self::new(
            reqwest::StatusCode::UNPROCESSABLE_ENTITY,
            "rejected",
            code.as_str(),
        )
    }
}

fn link_error(status: reqwest::StatusCode, body: &[u8]) -> LinkError {
    let parsed: Option<ApiError> = serde_json::from_slice(body).ok();
    let (kind, detail) = parsed
        .map(|e| (e.kind, e.detail))
        .unwrap_or_else(|| ("unknown".into(), status.to_string()));
    match kind.as_str() {
        "rejected" => {
            let code = RejectionCode::from_code(&detail);
            if code == RejectionCode::Unrecognized {
                tracing::warn!(
                    code = ?detail.chars().take(64).collect::<String>(),
                    "the node refused an entry for a reason this build does not know"
                );
            }
            LinkError::Rejected(code)
        }
        "replay" => LinkError::Replay,
        "busy" => LinkError::Busy,
        "timeout" => LinkError::Timeout,
        "forbidden" => LinkError::Forbidden,
        "unavailable" => LinkError::Unavailable(detail),
        _ => LinkError::Protocol(format!("{status}: {detail}")),
    }
}

fn transport(error: reqwest::Error) -> LinkError {
    if error.is_timeout() {
        LinkError::Timeout
    } else {
        LinkError::Unavailable(error.to_string())
    }
}

/// Decodes a list of stored entries: repeated `u64 height | u32 index | u32 len | bytes`.
pub fn decode_entry_list(bytes: &[u8]) -> Result<Vec<StoredEntry>, LinkError> {
    let mut reader = veil_crypto::encoding::Reader::new(bytes);
    let mut out = Vec::new();
    while reader.remaining() > 0 {
        let bad = |_| LinkError::Protocol("entry list".into());
        let height = reader.u64().map_err(bad)?;
        let index = reader.u32().map_err(bad)?;
        let len = reader.u32().map_err(bad)? as usize;
        let bytes = reader.take(len).map_err(bad)?.to_vec();
        out.push(StoredEntry {
            height,
            index,
            bytes,
        });
    }
    Ok(out)
}

/// Encodes a list of stored entries (see [`decode_entry_list`]).
pub fn encode_entry_list(entries: &[StoredEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in entries {
        out.extend_from_slice(&entry.height.to_be_bytes());
        out.extend_from_slice(&entry.index.to_be_bytes());
        out.extend_from_slice(&(entry.bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(&entry.bytes);
    }
    out
}

impl RemoteNode {
    /// A link to the node API at `address` (e.g. `127.0.0.1:7101`) with `client`.
    pub fn new(client: reqwest::Client, address: std::net::SocketAddr) -> Self {
        // The node API certificate names `localhost` and the node's IP address.
        Self {
            client,
            base: format!("https://{address}"),
        }
    }

    async fn get(
        &self,
        path: &str,
    ) -> Result<Option<(reqwest::header::HeaderMap, Vec<u8>)>, LinkError> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport)?.to_vec();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(link_error(status, &body));
        }
        Ok(Some((headers, body)))
    }
}

fn header_u64(headers: &reqwest::header::HeaderMap, name: &str) -> Result<u64, LinkError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| LinkError::Protocol(format!("missing {name}")))
}

/// A gateway's link to its node.
#[derive(Clone, Debug)]
pub enum NodeLink {
    /// In this process.
    Local(LocalNode),
    /// Over mutual TLS.
    Remote(RemoteNode),
}

impl NodeLink {
    /// Submits an entry and waits up to `wait` for its finalization.
    pub async fn submit(&self, bytes: Vec<u8>, wait: Duration) -> Result<Receipt, LinkError> {
        match self {
            Self::Local(node) => node.submit(&bytes, wait).await,
            Self::Remote(node) => {
                let response = node
                    .client
                    .post(format!(
                        "{}/v1/submit?wait_ms={}",
                        node.base,
                        wait.as_millis()
                    ))
                    .timeout(wait + Duration::from_secs(5))
                    .body(bytes.clone())
                    .send()
                    .await
                    .map_err(transport)?;
                let status = response.status();
                let body = response.bytes().await.map_err(transport)?;
                if !status.is_success() {
                    return Err(link_error(status, &body));
                }
                let info: ReceiptInfo = serde_json::from_slice(&body)
                    .map_err(|e| LinkError::Protocol(e.to_string()))?;
                let id = crate::ledger::Entry::decode(&bytes)
                    .map_err(|_| LinkError::Protocol("entry".into()))?
                    .header
                    .id;
                Ok(Receipt {
                    id,
                    height: info.height,
                    block: info.block,
                })
            }
        }
    }

    /// The entry with id `id`, if finalized.
    pub async fn entry(&self, id: &EntryId) -> Result<Option<StoredEntry>, LinkError> {
        match self {
            Self::Local(node) => node
                .state
                .store
                .entry(id)
                .map_err(|e| LinkError::Unavailable(e.to_string())),
            Self::Remote(node) => {
                let Some((headers, bytes)) = node.get(&format!("/v1/entries/{id}")).await? else {
                    return Ok(None);
                };
                Ok(Some(StoredEntry {
                    height: header_u64(&headers, "x-veil-height")?,
                    index: header_u64(&headers, "x-veil-index")? as u32,
                    bytes,
                }))
            }
        }
    }

    /// Up to `limit` entries of type `kind` after position `after`, oldest first.
    pub async fn entries_by_type(
        &self,
        kind: &str,
        after: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<Vec<StoredEntry>, LinkError> {
        match self {
            Self::Local(node) => node
                .state
                .store
                .entries_by_type(kind, after, limit)
                .map_err(|e| LinkError::Unavailable(e.to_string())),
            Self::Remote(node) => {
                let after = after.map_or(String::new(), |(h, i)| format!("&after={h}:{i}"));
                let path = format!("/v1/entries?type={kind}&limit={limit}{after}");
                let Some((_, bytes)) = node.get(&path).await? else {
                    return Ok(Vec::new());
                };
                decode_entry_list(&bytes)
            }
        }
    }

    /// Entries referencing `id`, oldest first.
    pub async fn referrers(&self, id: &EntryId) -> Result<Vec<StoredEntry>, LinkError> {
        match self {
            Self::Local(node) => node
                .state
                .store
                .referrers(id)
                .map_err(|e| LinkError::Unavailable(e.to_string())),
            Self::Remote(node) => {
                let Some((_, bytes)) = node.get(&format!("/v1/referrers/{id}")).await? else {
                    return Ok(Vec::new());
                };
                decode_entry_list(&bytes)
            }
        }
    }

    /// The settlement that settled repayment `id`.
    pub async fn settled_by(&self, id: &EntryId) -> Result<Option<EntryId>, LinkError> {
        match self {
            Self::Local(node) => node
                .state
                .store
                .settled_by(id)
                .map_err(|e| LinkError::Unavailable(e.to_string())),
            Self::Remote(node) => {
                let Some((_, bytes)) = node.get(&format!("/v1/settled/{id}")).await? else {
                    return Ok(None);
                };
                let text =
                    String::from_utf8(bytes).map_err(|_| LinkError::Protocol("settled".into()))?;
                EntryId::from_hex(text.trim())
                    .map(Some)
                    .map_err(|_| LinkError::Protocol("settled".into()))
            }
        }
    }

    /// The finalized block at `height`.
    pub async fn block(&self, height: u64) -> Result<Option<StoredBlock>, LinkError> {
        match self {
            Self::Local(node) => node
                .state
                .store
                .block(height)
                .map_err(|e| LinkError::Unavailable(e.to_string())),
            Self::Remote(node) => {
                let Some((headers, bytes)) = node.get(&format!("/v1/blocks/{height}")).await?
                else {
                    return Ok(None);
                };
                let split = header_u64(&headers, "x-veil-block-length")? as usize;
                if split > bytes.len() {
                    return Err(LinkError::Protocol("block record".into()));
                }
                let block = bytes[..split].to_vec();
                let digest = {
                    use sha2::Digest as _;
                    sha2::Sha256::digest(&block).into()
                };
                Ok(Some(StoredBlock {
                    height,
                    digest,
                    block,
                    finalization: bytes[split..].to_vec(),
                }))
            }
        }
    }

    /// The node's status.
    pub async fn status(&self) -> Result<Status, LinkError> {
        match self {
            Self::Local(node) => Ok(node.status()),
            Self::Remote(node) => {
                let Some((_, bytes)) = node.get("/v1/status").await? else {
                    return Err(LinkError::Protocol("status".into()));
                };
                serde_json::from_slice(&bytes).map_err(|e| LinkError::Protocol(e.to_string()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The node API's refusal body, as gateways of every version read it.
    #[test]
    fn rejections_cross_the_api_as_their_code() {
        let body = serde_json::to_vec(&ApiError::rejected(RejectionCode::StaleRegistry)).unwrap();
        // A problem details object (RFC 9457) whose `kind` and `detail` older gateways read.
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["type"], "https://veil.dev/problems/node/rejected");
        assert_eq!(problem["status"], 422);
        assert_eq!(problem["kind"], "rejected");
        assert_eq!(problem["detail"], "stale-registry");
        let status = reqwest::StatusCode::UNPROCESSABLE_ENTITY;
        assert_eq!(
            link_error(status, br#"{"kind":"rejected","detail":"stale-registry"}"#),
            LinkError::Rejected(RejectionCode::StaleRegistry)
        );
        assert_eq!(
            link_error(status, &body),
            LinkError::Rejected(RejectionCode::StaleRegistry)
        );
        for code in RejectionCode::ALL {
            let body = serde_json::to_vec(&ApiError::rejected(code)).unwrap();
            assert_eq!(link_error(status, &body), LinkError::Rejected(code));
        }
        // A newer node's code is still a refusal, of a reason this build does not know.
        assert_eq!(
            link_error(status, br#"{"kind":"rejected","detail":"quota-exceeded"}"#),
            LinkError::Rejected(RejectionCode::Unrecognized)
        );
        assert_eq!(
            LinkError::Rejected(RejectionCode::Circuit).to_string(),
            "entry rejected: circuit"
        );
    }
}
