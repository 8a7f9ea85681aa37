//! The disclosure log and the sealed entries a regulator exports.

use axum::Json;
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use veil_node::tls::Identity;

use super::{QueryParams, Routes, limit, parse_cursor, principal, query, query_params};
use crate::api::problem::Problem;
use crate::consortium::config::GatewayKind;
use crate::service::MAX_PAGE;
use crate::service::store::verify_chain;
use veil_policies::Principal;

/// The gateway's hash-chained disclosure log (regulators only), with the chain verified.
#[utoipa::path(
    get,
    path = "/v1/disclosures", tag = "regulators",
    params(
        ("from" = Option<i64>, Query, minimum = 0, description = "First sequence number (past the end: an empty page)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "1 to 1000 (default 100)"),
    ),
    responses(
        (status = 400, description = "Malformed query", body = Problem),
        (status = 200, description = "`{records, previous, chain_verified}`", body = Object),
        (status = 403, description = "Not a regulator", body = Problem),
    )
)]
pub(super) async fn disclosures(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
    params: QueryParams,
) -> Result<Response, Problem> {
    let params = query_params(params)?;
    query(&params, &["from", "limit"])?;
    let principal = principal(&routes.gateway, &identity)?;
    if !matches!(principal, Principal::Regulator { .. }) {
        return Err(Problem::forbidden());
    }
    // An int64 (as the document says), non-negative: sequence numbers never reach 2^63.
    let from = params
        .get("from")
        .map(|f| f.parse::<i64>().ok().and_then(|f| u64::try_from(f).ok()))
        .map(|f| {
            f.ok_or_else(|| Problem::bad_request("from must be an integer from 0 to 2^63 - 1"))
        })
        .transpose()?
        .unwrap_or(1)
        .max(1);
    let limit = limit(&params, 100, 1000)?;
    let store = &routes.gateway.store;
    let records = store
        .disclosures(from, limit)
        .map_err(|_| Problem::internal())?;
    // Past the end of the log the page is empty and has no anchor.
    let anchor = match store.disclosure_hash_before(from) {
        Ok(anchor) => Some(anchor),
        Err(_) if records.is_empty() => None,
        Err(_) => return Err(Problem::internal()),
    };
    let verified = anchor
        .as_ref()
        .is_none_or(|anchor| verify_chain(&records, anchor));
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
    path = "/v1/sealed/entries", tag = "regulators",
    params(
        ("cursor" = Option<String>, Query, pattern = r"^[0-9]{1,20}:[0-9]{1,10}$", description = "The previous page's next_cursor"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "1 to 100 (default 100)"),
    ),
    responses(
        (status = 400, description = "Malformed query", body = Problem),
        (status = 200, description = "`{entries: [{height, index, bytes}], next_cursor}` (bytes in hex)", body = Object),
        (status = 403, description = "Not this gateway's regulator", body = Problem),
    )
)]
pub(super) async fn sealed(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
    params: QueryParams,
) -> Result<Response, Problem> {
    let params = query_params(params)?;
    query(&params, &["cursor", "limit"])?;
    let principal = principal(&routes.gateway, &identity)?;
    if routes.gateway.kind != GatewayKind::Regulator
        || !matches!(principal, Principal::Regulator { .. })
    {
        return Err(Problem::forbidden());
    }
    let cursor = params.get("cursor").map(|c| parse_cursor(c)).transpose()?;
    let limit = limit(&params, 100, MAX_PAGE)?;
    let (entries, next) = routes
        .gateway
        .sealed(&identity.to_string(), cursor, limit)
        .await?;
    Ok(Json(json!({"entries": entries, "next_cursor": next})).into_response())
}
