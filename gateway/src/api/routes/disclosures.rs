//! The disclosure log and the sealed entries a regulator exports.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Extension, Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use veil_node::tls::Identity;

use super::{Routes, limit, parse_cursor, principal, query};
use crate::api::problem::Problem;
use crate::consortium::config::GatewayKind;
use crate::service::store::verify_chain;
use veil_policies::Principal;

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
pub(super) async fn disclosures(
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
pub(super) async fn sealed(
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
