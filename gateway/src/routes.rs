//! The HTTPS API (CONTRACT.md), over mutual TLS: the caller's identity comes from its client
//! certificate, never from the request.
//!
//! A member's gateway serves that member's clients (`<member>:clerk`, `<member>:auditor`);
//! a regulator's gateway serves only that regulator and never writes. Regulators may also
//! read any gateway's disclosure log.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use veil_node::ledger::EntryId;
use veil_node::tls::Identity;
use veil_policies::{EntryType, Principal};

use crate::app::Gateway;
use crate::config::GatewayKind;
use crate::metrics::GatewayMetrics;
use crate::problem::Problem;
use utoipa::OpenApi as _;

use crate::request::{
    Borrower, EntryRequest, ListChanges, LoanOriginated, LoanRepaid, MAX_BODY, Participant,
    RegistryUpdated, SettlementClosed,
};
use crate::store::verify_chain;

/// Shared state of the routes.
#[derive(Clone, Debug)]
pub struct Routes {
    /// The gateway.
    pub gateway: Arc<Gateway>,
    /// Request metrics.
    pub metrics: Arc<GatewayMetrics>,
}

/// Bytes of an oversized body read and discarded before answering 413, so that a client still
/// sending sees the answer rather than a reset connection. Beyond this the connection closes.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// Reads a request body of at most `MAX_BODY` bytes.
async fn read_body(body: Body) -> Result<Bytes, Problem> {
    use futures::StreamExt as _;
    let mut stream = body.into_data_stream();
    let mut buffer = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|_| Problem::bad_request("the request body could not be read"))?;
        seen = seen.saturating_add(chunk.len());
        if seen > DRAIN_LIMIT {
            break;
        }
        if seen <= MAX_BODY {
            buffer.extend_from_slice(&chunk);
        }
    }
    if seen > MAX_BODY {
        return Err(Problem::too_large());
    }
    Ok(buffer.into())
}

/// Who is calling, as the policy sees it, and whether this gateway serves them at all.
fn principal(gateway: &Gateway, identity: &Identity) -> Result<Principal, Problem> {
    match gateway.kind {
        GatewayKind::Member => {
            if gateway.genesis.regulator(&identity.member).is_some() && identity.role == "regulator"
            {
                return Ok(Principal::Regulator {
                    id: identity.member.clone(),
                });
            }
            if identity.member != gateway.id {
                return Err(Problem::forbidden());
            }
            if !matches!(identity.role.as_str(), "clerk" | "auditor") {
                return Err(Problem::forbidden());
            }
            Ok(Principal::Member {
                bank: identity.member.clone(),
                role: identity.role.clone(),
            })
        }
        GatewayKind::Regulator => {
            if identity.member != gateway.id || identity.role != "regulator" {
                return Err(Problem::forbidden());
            }
            Ok(Principal::Regulator {
                id: identity.member.clone(),
            })
        }
    }
}

/// Entry routes are for the gateway's own callers; regulators calling a member gateway may
/// only read its disclosure log.
fn entry_principal(gateway: &Gateway, identity: &Identity) -> Result<Principal, Problem> {
    let principal = principal(gateway, identity)?;
    if gateway.kind == GatewayKind::Member && matches!(principal, Principal::Regulator { .. }) {
        return Err(Problem::forbidden());
    }
    Ok(principal)
}

/// The router.
pub fn router(routes: Routes) -> Router {
    Router::new()
        .route("/v1/entries", post(create).get(list))
        .route("/v1/entries/{id}", get(read))
        .route("/v1/entries/{id}/proof", get(settlement_proof))
        .route("/v1/loans/{loan_id}", get(loan))
        .route("/v1/status", get(status))
        .route("/v1/disclosures", get(disclosures))
        .route("/v1/sealed/entries", get(sealed))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .merge(crate::console::routes())
        .fallback(|| async { Problem::not_found() })
        .layer(middleware::from_fn_with_state(routes.clone(), observe))
        .with_state(routes)
}

async fn observe(State(routes): State<Routes>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let response = next.run(request).await;
    routes.metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

fn query(params: &HashMap<String, String>, allowed: &[&str]) -> Result<(), Problem> {
    match params.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(Problem::bad_request(format!(
            "unknown query parameter {unknown:?}"
        ))),
        None => Ok(()),
    }
}

/// The `limit` query parameter, or `default`.
fn limit(params: &HashMap<String, String>, default: usize) -> Result<usize, Problem> {
    params.get("limit").map_or(Ok(default), |limit| {
        limit
            .parse::<usize>()
            .map_err(|_| Problem::bad_request("limit must be a number"))
    })
}

fn parse_cursor(text: &str) -> Result<(u64, u32), Problem> {
    let invalid = || Problem::bad_request("cursor must be a next_cursor value");
    let (height, index) = text.split_once(':').ok_or_else(invalid)?;
    Ok((
        height.parse().map_err(|_| invalid())?,
        index.parse().map_err(|_| invalid())?,
    ))
}

/// The answer to a write.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct WrittenResponse {
    /// Entry id (32 hex digits).
    pub id: String,
    /// Height of the block that finalized it.
    pub height: u64,
    /// Always `finalized`: the gateway answers only after finalization.
    pub status: String,
}

/// Writes an entry: checks the caller's write permission and the consortium rules, derives
/// fields, encrypts per reader group, commits and proves amounts, signs, and answers once the
/// consortium finalized it.
#[utoipa::path(
    post,
    path = "/v1/entries",
    request_body = EntryRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key and body return the same entry; another body is 409")),
    responses(
        (status = 201, description = "Finalized", body = WrittenResponse),
        (status = 400, description = "Malformed request or unknown field", body = Problem),
        (status = 403, description = "Identity may not write", body = Problem),
        (status = 409, description = "Idempotency key reused with another body, or duplicate loan id", body = Problem),
        (status = 413, description = "Body too large", body = Problem),
        (status = 422, description = "The entry breaks a consortium rule", body = Problem),
        (status = 503, description = "Ledger unavailable", body = Problem),
        (status = 504, description = "Not finalized in time; retry with the same key", body = Problem),
    )
)]
async fn create(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
    body: Body,
) -> Result<Response, Problem> {
    query(&params, &[])?;
    let principal = entry_principal(&routes.gateway, &identity)?;
    let body = read_body(body).await?;
    let key = match headers.get("idempotency-key") {
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| Problem::bad_request("Idempotency-Key must be visible ASCII"))?,
        ),
        None => None,
    };
    // The write runs to completion even if the client goes away or the request times out:
    // once an entry may reach the ledger, the gateway's own records must follow it.
    let gateway = routes.gateway.clone();
    let key = key.map(str::to_owned);
    let written =
        tokio::spawn(async move { gateway.write(&principal, &body, key.as_deref()).await })
            .await
            .map_err(|_| Problem::internal())??;
    Ok((
        StatusCode::CREATED,
        Json(WrittenResponse {
            id: written.id.to_hex(),
            height: written.height,
            status: "finalized".into(),
        }),
    )
        .into_response())
}

/// One entry as the caller may see it: readable fields decrypted (amounts checked against
/// their commitments), the rest `{"redacted": true, "commitment": ...}`, and proof status.
#[utoipa::path(
    get,
    path = "/v1/entries/{id}",
    params(("id" = String, Path, description = "Entry id, 32 hex digits")),
    responses(
        (status = 200, description = "The entry as the caller sees it", body = Object),
        (status = 404, description = "No such entry", body = Problem),
    )
)]
async fn read(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let principal = entry_principal(&routes.gateway, &identity)?;
    let id = EntryId::from_hex(&id)
        .map_err(|_| Problem::bad_request("entry id must be 32 hex digits"))?;
    let view = routes
        .gateway
        .read(&principal, &identity.to_string(), &id)
        .await?;
    Ok(Json(view).into_response())
}

/// A settlement's Groth16 proof for independent verification: its circuit data, the
/// repayments' Poseidon commitments, and `snarkjs` (`proof`, `public`, `verification_key`
/// in snarkjs' JSON). Public data only; any member or regulator may read it.
#[utoipa::path(
    get,
    path = "/v1/entries/{id}/proof",
    params(("id" = String, Path, description = "Settlement entry id, 32 hex digits")),
    responses(
        (status = 200, description = "The settlement proof", body = Object),
        (status = 404, description = "No such settlement", body = Problem),
    )
)]
async fn settlement_proof(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    principal(&routes.gateway, &identity)?;
    let id = EntryId::from_hex(&id)
        .map_err(|_| Problem::bad_request("entry id must be 32 hex digits"))?;
    Ok(Json(routes.gateway.settlement_proof(&id).await?).into_response())
}

/// A page of entries, oldest first.
#[utoipa::path(
    get,
    path = "/v1/entries",
    params(
        ("type" = Option<String>, Query, description = "Entry type; all types if absent"),
        ("cursor" = Option<String>, Query, description = "The previous page's next_cursor"),
        ("limit" = Option<usize>, Query, description = "Page size, at most 100"),
    ),
    responses((status = 200, description = "`{entries, next_cursor}`", body = Object))
)]
async fn list(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    query(&params, &["type", "cursor", "limit"])?;
    let principal = entry_principal(&routes.gateway, &identity)?;
    let kind = match params.get("type").map(String::as_str) {
        None | Some("") => None,
        Some(name) => Some(
            EntryType::from_name(name)
                .ok_or_else(|| Problem::bad_request(format!("unknown entry type {name:?}")))?,
        ),
    };
    let cursor = params.get("cursor").map(|c| parse_cursor(c)).transpose()?;
    let limit = limit(&params, 50)?;
    let (entries, next) = routes
        .gateway
        .list(&principal, &identity.to_string(), kind, cursor, limit)
        .await?;
    Ok(Json(json!({"entries": entries, "next_cursor": next})).into_response())
}

/// A loan as the caller may see it: terms, funding by bank, repayments, outstanding.
#[utoipa::path(
    get,
    path = "/v1/loans/{loan_id}",
    params(("loan_id" = String, Path, description = "The loan's business id")),
    responses(
        (status = 200, description = "The loan", body = Object),
        (status = 404, description = "Unknown, or not visible to the caller", body = Problem),
    )
)]
async fn loan(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
    Path(loan_id): Path<String>,
) -> Result<Response, Problem> {
    let principal = entry_principal(&routes.gateway, &identity)?;
    if loan_id.is_empty() || loan_id.len() > 64 {
        return Err(Problem::bad_request("loan_id must be 1 to 64 characters"));
    }
    let view = routes
        .gateway
        .loan(&principal, &identity.to_string(), &loan_id)
        .await?;
    Ok(Json(view).into_response())
}

/// The member node's status.
#[utoipa::path(get, path = "/v1/status", responses((status = 200, description = "`{member, height, head_hash, peers, policy_hash}`", body = Object)))]
async fn status(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
) -> Result<Response, Problem> {
    principal(&routes.gateway, &identity)?;
    let status = routes
        .gateway
        .node
        .status()
        .await
        .map_err(|_| Problem::unavailable())?;
    Ok(Json(json!({
        "member": status.member,
        "gateway": routes.gateway.id,
        "height": status.height,
        "head_hash": status.head_hash,
        "peers": status.peers,
        "policy_hash": status.policy_hash,
        "mempool": status.mempool,
    }))
    .into_response())
}

/// The gateway's hash-chained disclosure log (regulators only), with the chain verified.
#[utoipa::path(
    get,
    path = "/v1/disclosures",
    params(
        ("from" = Option<u64>, Query, description = "First sequence number"),
        ("limit" = Option<usize>, Query, description = "At most 1000"),
    ),
    responses(
        (status = 200, description = "`{records, previous, chain_verified}`", body = Object),
        (status = 403, description = "Not a regulator", body = Problem),
    )
)]
async fn disclosures(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    query(&params, &["from", "limit"])?;
    let principal = principal(&routes.gateway, &identity)?;
    if !matches!(principal, Principal::Regulator { .. }) {
        return Err(Problem::forbidden());
    }
    let from = params
        .get("from")
        .map(|f| f.parse::<u64>())
        .transpose()
        .map_err(|_| Problem::bad_request("from must be a number"))?
        .unwrap_or(1)
        .max(1);
    let limit = limit(&params, 100)?.clamp(1, 1000);
    let store = &routes.gateway.store;
    let records = store
        .disclosures(from, limit)
        .map_err(|_| Problem::internal())?;
    let anchor = store
        .disclosure_hash_before(from)
        .map_err(|_| Problem::internal())?;
    let verified = verify_chain(&records, &anchor);
    Ok(Json(json!({
        "gateway": routes.gateway.id,
        "previous": anchor,
        "records": records,
        "chain_verified": verified,
    }))
    .into_response())
}

/// Sealed entries as stored, for a regulator's offline export (`veil audit export`): the
/// view key stays with whoever holds it, and decryption happens on their side.
#[utoipa::path(
    get,
    path = "/v1/sealed/entries",
    params(
        ("cursor" = Option<String>, Query, description = "The previous page's next_cursor"),
        ("limit" = Option<usize>, Query, description = "At most 100"),
    ),
    responses(
        (status = 200, description = "`{entries: [{height, index, bytes}], next_cursor}` (bytes in hex)", body = Object),
        (status = 403, description = "Not this gateway's regulator", body = Problem),
    )
)]
async fn sealed(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    query(&params, &["cursor", "limit"])?;
    let principal = principal(&routes.gateway, &identity)?;
    if routes.gateway.kind != GatewayKind::Regulator
        || !matches!(principal, Principal::Regulator { .. })
    {
        return Err(Problem::forbidden());
    }
    let cursor = params.get("cursor").map(|c| parse_cursor(c)).transpose()?;
    let limit = limit(&params, 100)?;
    let (entries, next) = routes
        .gateway
        .sealed(&identity.to_string(), cursor, limit)
        .await?;
    Ok(Json(json!({"entries": entries, "next_cursor": next})).into_response())
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Alive", body = Object)))]
async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// Readiness: the node answers, has peers and has not halted.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "Ready", body = Object), (status = 503, description = "Not ready", body = Object)))]
async fn readyz(State(routes): State<Routes>) -> Response {
    match routes.gateway.node.status().await {
        Ok(status) if status.halted.is_none() && !status.peers.is_empty() => {
            Json(json!({"status": "ready", "height": status.height})).into_response()
        }
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready"})),
        )
            .into_response(),
    }
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text", body = String)))]
async fn metrics(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
) -> Result<Response, Problem> {
    principal(&routes.gateway, &identity)?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        routes.metrics.encode(),
    )
        .into_response())
}

async fn openapi() -> Response {
    Json(ApiDoc::openapi()).into_response()
}

/// The OpenAPI document, generated from the handlers and types above.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Veil gateway API",
        description = "Per-field encrypted, permissioned, proven entries of a shared loan ledger. Every call needs a client certificate from the consortium CA."
    ),
    paths(
        create,
        read,
        settlement_proof,
        list,
        loan,
        status,
        disclosures,
        sealed,
        healthz,
        readyz,
        metrics
    ),
    components(schemas(
        EntryRequest,
        LoanOriginated,
        LoanRepaid,
        SettlementClosed,
        RegistryUpdated,
        ListChanges,
        Borrower,
        Participant,
        Problem,
        WrittenResponse
    ))
)]
#[derive(Debug)]
pub struct ApiDoc;
