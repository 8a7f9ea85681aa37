//! The node API for gateways, served over mutual TLS (see [`crate::tls`]).
//!
//! Only the member's own gateway (`<member>:gateway`) may submit, and only entries in its
//! member's name; a regulator's gateway identity (`<regulator>:gateway`) may submit only that
//! regulator's view-key publications (`view_keys.published`, `veil regulator publish`). The
//! member's gateway and regulators' gateways may read. (Validation decides the rest: whose key
//! must have signed what.)
//!
//! | method, path                 | body / answer                                             |
//! |------------------------------|-----------------------------------------------------------|
//! | `POST /v1/submit?wait_ms=`   | entry bytes → `{"height","block"}` once finalized          |
//! | `GET /v1/entries/{id}`       | entry bytes, headers `x-veil-height`, `x-veil-index`      |
//! | `GET /v1/entries?type=&after=h:i&limit=` | entry list (see [`crate::link::encode_entry_list`]) |
//! | `GET /v1/referrers/{id}`     | entry list                                                |
//! | `GET /v1/settled/{id}`       | settlement id (hex) or 404                                |
//! | `GET /v1/blocks/{height}`    | block bytes then finalization, header `x-veil-block-length` |
//! | `GET /v1/status`             | [`crate::link::Status`] JSON                              |
//! | `GET /metrics`               | Prometheus text                                           |
//!
//! Errors are problem+json [`crate::link::ApiError`]s (RFC 9457); they name a rejection reason,
//! never contents.
//! A refused entry is answered `422 {"kind":"rejected","detail":"<code>"}`, `<code>` one of the
//! stable [`crate::validation::RejectionCode`] strings (e.g. `stale-registry`).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::ledger::EntryId;
use crate::ledger::entry::MAX_ENTRY_LEN;
use crate::link::{ApiError, LinkError, LocalNode, ReceiptInfo, encode_entry_list};
use crate::tls::Identity;
use crate::validation::RejectionCode;

/// Longest a submitter may ask the node to wait for finalization.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// Most entries one list request returns.
pub const MAX_LIST: usize = 1000;

#[derive(Clone)]
struct ApiState {
    node: LocalNode,
    metrics: Arc<dyn Fn() -> String + Send + Sync>,
}

fn rejected(code: RejectionCode) -> Response {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "rejected",
        code.as_str().to_owned(),
    )
}

/// An error as `application/problem+json` (RFC 9457) whose extension member `kind` is what
/// [`crate::link::RemoteNode`] matches on.
fn error(status: StatusCode, kind: &str, detail: impl Into<String>) -> Response {
    let body = ApiError::new(status, kind, detail);
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(crate::problem::PROBLEM_JSON),
    );
    response
}

fn link_response(error_value: LinkError) -> Response {
    match error_value {
        LinkError::Rejected(code) => rejected(code),
        LinkError::Replay => error(StatusCode::CONFLICT, "replay", "entry id already used"),
        LinkError::Busy => error(StatusCode::SERVICE_UNAVAILABLE, "busy", "retry later"),
        LinkError::Timeout => error(StatusCode::GATEWAY_TIMEOUT, "timeout", "not finalized yet"),
        LinkError::Forbidden => error(StatusCode::FORBIDDEN, "forbidden", "not allowed"),
        LinkError::Unavailable(detail) | LinkError::Protocol(detail) => {
            error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)
        }
    }
}

impl ApiState {
    fn may_read(&self, identity: &Identity) -> bool {
        identity.role == "gateway"
            && (identity.member == self.node.state.member
                || self
                    .node
                    .state
                    .genesis
                    .regulator(&identity.member)
                    .is_some())
    }

    fn may_submit(&self, identity: &Identity) -> bool {
        identity.role == "gateway"
            && (identity.member == self.node.state.member || self.is_regulator(identity))
    }

    fn is_regulator(&self, identity: &Identity) -> bool {
        self.node
            .state
            .genesis
            .regulator(&identity.member)
            .is_some()
    }
}

/// The API router of `node`; `metrics` renders the Prometheus text.
pub fn router(node: LocalNode, metrics: Arc<dyn Fn() -> String + Send + Sync>) -> Router {
    Router::new()
        .route("/v1/submit", post(submit))
        .route("/v1/entries", get(list))
        .route("/v1/entries/{id}", get(entry))
        .route("/v1/referrers/{id}", get(referrers))
        .route("/v1/settled/{id}", get(settled))
        .route("/v1/blocks/{height}", get(block))
        .route("/v1/status", get(status))
        .route("/metrics", get(metrics_text))
        .layer(DefaultBodyLimit::max(MAX_ENTRY_LEN))
        .layer(axum::middleware::from_fn(crate::problem::one_host))
        .layer(axum::middleware::map_response(
            crate::problem::ensure_problem,
        ))
        .with_state(ApiState { node, metrics })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitQuery {
    wait_ms: Option<u64>,
}

async fn submit(
    State(api): State<ApiState>,
    Extension(identity): Extension<Identity>,
    Query(query): Query<SubmitQuery>,
    body: Bytes,
) -> Response {
    if !api.may_submit(&identity) {
        return error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only the member's gateway, or a regulator publishing its view keys, submits",
        );
    }
    let Ok(entry) = crate::ledger::Entry::decode(&body) else {
        return rejected(RejectionCode::Malformed);
    };
    if entry.header.submitter != identity.member {
        return error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "entry of another member",
        );
    }
    if api.is_regulator(&identity)
        && entry.header.kind != veil_policies::EntryType::ViewKeysPublished.name()
    {
        return error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "a regulator submits only its view-key publications",
        );
    }
    let wait = Duration::from_millis(query.wait_ms.unwrap_or(30_000)).min(MAX_WAIT);
    match api.node.submit(&body, wait).await {
        Ok(receipt) => Json(ReceiptInfo {
            height: receipt.height,
            block: receipt.block,
        })
        .into_response(),
        Err(e) => link_response(e),
    }
}

fn parse_id(text: &str) -> Option<EntryId> {
    EntryId::from_hex(text).ok()
}

/// 400: the path's entry id is not 32 hex digits.
fn bad_id() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "bad_request",
        "entry id must be 32 hex digits",
    )
}

/// 403: the caller may not read this node's ledger.
fn forbidden() -> Response {
    error(StatusCode::FORBIDDEN, "forbidden", "not allowed")
}

/// 503: the store failed.
fn unavailable(e: impl std::fmt::Display) -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        e.to_string(),
    )
}

async fn entry(
    State(api): State<ApiState>,
    Extension(identity): Extension<Identity>,
    Path(id): Path<String>,
) -> Response {
    if !api.may_read(&identity) {
        return forbidden();
    }
    let Some(id) = parse_id(&id) else {
        return bad_id();
    };
    match api.node.state.store.entry(&id) {
        Ok(Some(stored)) => {
            let mut response = stored.bytes.into_response();
            let headers = response.headers_mut();
            headers.insert("x-veil-height", HeaderValue::from(stored.height));
            headers.insert("x-veil-index", HeaderValue::from(stored.index));
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            response
        }
        Ok(None) => error(StatusCode::NOT_FOUND, "not_found", "no such entry"),
        Err(e) => unavailable(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    r#type: String,
    after: Option<String>,
    limit: Option<usize>,
}

fn parse_position(text: &str) -> Option<(u64, u32)> {
    let (height, index) = text.split_once(':')?;
    Some((height.parse().ok()?, index.parse().ok()?))
}

async fn list(
    State(api): State<ApiState>,
    Extension(identity): Extension<Identity>,
    Query(query): Query<ListQuery>,
) -> Response {
    if !api.may_read(&identity) {
        return forbidden();
    }
    let after = match query.after.as_deref().map(parse_position) {
        Some(None) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "after must be height:index",
            );
        }
        Some(Some(position)) => Some(position),
        None => None,
    };
    let limit = query.limit.unwrap_or(100).min(MAX_LIST);
    match api
        .node
        .state
        .store
        .entries_by_type(&query.r#type, after, limit)
    {
        Ok(entries) => encode_entry_list(&entries).into_response(),
        Err(e) => unavailable(e),
    }
}

async fn referrers(
    State(api): State<ApiState>,
    Extension(identity): Extension<Identity>,
    Path(id): Path<String>,
) -> Response {
    if !api.may_read(&identity) {
        return forbidden();
    }
    let Some(id) = parse_id(&id) else {
        return bad_id();
    };
    match api.node.state.store.referrers(&id) {
        Ok(entries) => encode_entry_list(&entries).into_response(),
        Err(e) => unavailable(e),
    }
}

async fn settled(
    State(api): State<ApiState>,
    Extension(identity): Extension<Identity>,
    Path(id): Path<String>,
) -> Response {
    if !api.may_read(&identity) {
        return forbidden();
    }
    let Some(id) = parse_id(&id) else {
        return bad_id();
    };
    match api.node.state.store.settled_by(&id) {
        Ok(Some(settlement)) => settlement.to_hex().into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "not_found", "not settled"),
        Err(e) => unavailable(e),
    }
}

async fn block(
    State(api): State<ApiState>,
    Extension(identity): Extension<Identity>,
    Path(height): Path<u64>,
) -> Response {
    if !api.may_read(&identity) {
        return forbidden();
    }
    match api.node.state.store.block(height) {
        Ok(Some(stored)) => {
            let length = stored.block.len() as u64;
            let mut body = stored.block;
            body.extend_from_slice(&stored.finalization);
            let mut response = body.into_response();
            response
                .headers_mut()
                .insert("x-veil-block-length", HeaderValue::from(length));
            response
        }
        Ok(None) => error(StatusCode::NOT_FOUND, "not_found", "no such block"),
        Err(e) => unavailable(e),
    }
}

async fn status(State(api): State<ApiState>, Extension(identity): Extension<Identity>) -> Response {
    if !api.may_read(&identity) {
        return forbidden();
    }
    Json(api.node.status()).into_response()
}

async fn metrics_text(
    State(api): State<ApiState>,
    Extension(identity): Extension<Identity>,
) -> Response {
    if !api.may_read(&identity) {
        return forbidden();
    }
    (
        [(header::CONTENT_TYPE, crate::exposition::CONTENT_TYPE)],
        crate::exposition::prometheus_text(&(api.metrics)()),
    )
        .into_response()
}
