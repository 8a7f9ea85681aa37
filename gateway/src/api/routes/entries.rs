//! `/v1/entries`: write an entry, read one, list a page, and a settlement's proof.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use veil_node::ledger::EntryId;
use veil_node::tls::Identity;
use veil_policies::EntryType;

use super::{Routes, entry_principal, limit, parse_cursor, principal, query, read_body};
use crate::api::problem::Problem;
use crate::entry::request::EntryRequest;

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
pub(super) async fn create(
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
pub(super) async fn read(
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
pub(super) async fn settlement_proof(
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
pub(super) async fn list(
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
