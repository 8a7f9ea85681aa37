//! `/v1/alerts`: what this gateway found wrong in entries it is a recipient of.

use axum::Json;
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use veil_crypto::encoding;
use veil_node::tls::Identity;

use super::{
    QueryParams, Routes, await_height, entry_principal, limit, query, query_params, set_height,
};
use crate::api::problem::Problem;

/// Longest alert cursor: a 16-byte entry id, a finding name and a field path, in hex.
const MAX_CURSOR_HEX: usize = 2 * (16 + 32 + 1 + 128);

/// The alerts of this gateway (its own party's callers only): for each entry whose writer's
/// gateway sealed something this gateway cannot open or check — a reader group that does not
/// open (`unopenable-group`), a data key that does not match the group's key commitment
/// (`key-commitment`), an opening that disagrees with its commitment (`opening-mismatch`), a
/// repayment whose split proof fails (`participant-check`) — the entry id, its signer, and
/// the signed entry as evidence. Found by the ledger follower as entries finalize.
#[utoipa::path(
    get,
    path = "/v1/alerts", tag = "entries",
    params(
        ("cursor" = Option<String>, Query, max_length = 354, pattern = "^([0-9a-fA-F]{2})+$", description = "The previous page's next_cursor"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "1 to 100 (default 100)"),
        ("min_height" = Option<u64>, Query, minimum = 0, description = "Wait (up to 5 s) until this gateway's node has finalized this height and its followers (which find alerts) have read it; 409 (type behind) if it does not"),
    ),
    responses(
        (status = 200, description = "`{alerts: [{entry, type, signer, height, finding, detail, detected_ms, evidence}], next_cursor}`; header veil-ledger-height carries the height read at", body = Object),
        (status = 400, description = "Malformed query", body = Problem),
        (status = 403, description = "Not a caller of this gateway's own party", body = Problem),
        (status = 409, description = "min_height not reached in time (behind)", body = Problem),
    )
)]
pub(super) async fn alerts(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
    params: QueryParams,
) -> Result<Response, Problem> {
    let params = query_params(params)?;
    query(&params, &["cursor", "limit", "min_height"])?;
    let principal = entry_principal(&routes.gateway, &identity)?;
    // Another party's regulator reads through its own gateway, not this one's alerts.
    if matches!(principal, veil_policies::Principal::Regulator { ref id } if *id != routes.gateway.id)
    {
        return Err(Problem::forbidden());
    }
    let limit = limit(&params, 100, 100)?;
    let height = await_height(&routes, &params).await?;
    let cursor = params
        .get("cursor")
        .map(|text| {
            (text.len() <= MAX_CURSOR_HEX)
                .then(|| encoding::from_hex(text, MAX_CURSOR_HEX / 2).ok())
                .flatten()
                .filter(|bytes| !bytes.is_empty())
                .ok_or_else(|| Problem::bad_request("cursor must be a next_cursor value"))
        })
        .transpose()?;
    let (alerts, last) = routes
        .gateway
        .store
        .alerts(cursor.as_deref(), limit)
        .map_err(|_| Problem::internal())?;
    let next = (alerts.len() == limit)
        .then_some(last)
        .flatten()
        .map(|key| encoding::to_hex(&key));
    let mut response = Json(json!({"alerts": alerts, "next_cursor": next})).into_response();
    set_height(&mut response, height);
    Ok(response)
}
