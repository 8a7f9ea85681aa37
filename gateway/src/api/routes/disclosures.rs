//! The disclosure log, its anchors on the ledger, and the sealed entries a regulator exports.

use axum::Json;
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use veil_node::tls::Identity;

use super::{
    QueryParams, Routes, await_height, limit, parse_cursor, principal, query, query_params,
    set_height,
};
use crate::api::problem::Problem;
use crate::consortium::config::GatewayKind;
use crate::service::MAX_PAGE;
use crate::service::store::verify_chain;
use veil_node::ledger::EntryId;
use veil_policies::Principal;

/// The gateway's hash-chained disclosure log (regulators only), with the page's chain verified
/// and the whole log checked against every anchor of this gateway's member on the ledger
/// (`disclosures.anchored`): `anchors_verified` is false if a record anchored was dropped or
/// rewritten since. A regulator checks the same independently, with the anchors its own
/// gateway read from the ledger (`veil audit disclosures`).
#[utoipa::path(
    get,
    path = "/v1/disclosures", tag = "regulators",
    params(
        ("from" = Option<i64>, Query, minimum = 0, description = "First sequence number (past the end: an empty page)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "1 to 1000 (default 100)"),
    ),
    responses(
        (status = 400, description = "Malformed query", body = Problem),
        (status = 200, description = "`{gateway, records: [{sequence, time_ms, who, entry, fields, previous, hash}], previous, chain_verified, anchors_verified, anchors: {count, latest, mismatches: [{sequence, anchored, found, entry}]}}`; the next page starts at the last sequence + 1", body = Object),
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
    let anchors = store
        .check_anchors(&routes.gateway.id)
        .map_err(|_| Problem::internal())?;
    if !anchors.verified {
        tracing::warn!(
            gateway = %routes.gateway.id,
            mismatches = anchors.mismatches.len(),
            first = anchors.mismatches.first().map(|m| m.sequence),
            "this gateway's disclosure log disagrees with its anchors on the ledger"
        );
    }
    Ok(Json(json!({
        "gateway": routes.gateway.id,
        "previous": anchor,
        "records": records,
        "chain_verified": verified,
        "anchors_verified": anchors.verified,
        "anchors": {
            "count": anchors.anchors,
            "latest": anchors.latest,
            "mismatches": anchors.mismatches,
        },
    }))
    .into_response())
}

/// The anchors of a member's disclosure log on the ledger, as this gateway read them
/// (regulators only): what a regulator checks that member's log against, read through its own
/// gateway rather than the member's.
#[utoipa::path(
    get,
    path = "/v1/disclosures/anchors", tag = "regulators",
    params(
        ("member" = String, Query, pattern = "^[a-z][a-z0-9-]{0,31}$", description = "The member whose anchors to list"),
        ("cursor" = Option<String>, Query, pattern = "^[0-9]{1,20}:[0-9a-f]{32}$", description = "The previous page's next_cursor"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "1 to 1000 (default 1000)"),
        ("min_height" = Option<u64>, Query, minimum = 0, description = "Wait (up to 5 s) until this gateway has read the ledger to this height; 409 (type behind) if it does not"),
    ),
    responses(
        (status = 200, description = "`{member, anchors: [{member, sequence, head, entry, height, timestamp_ms}], next_cursor}`, by sequence; header veil-ledger-height carries the height read at", body = Object),
        (status = 400, description = "Malformed query", body = Problem),
        (status = 403, description = "Not a regulator", body = Problem),
        (status = 409, description = "min_height not reached in time (behind)", body = Problem),
    )
)]
pub(super) async fn anchors(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
    params: QueryParams,
) -> Result<Response, Problem> {
    let params = query_params(params)?;
    query(&params, &["member", "cursor", "limit", "min_height"])?;
    let principal = principal(&routes.gateway, &identity)?;
    if !matches!(principal, Principal::Regulator { .. }) {
        return Err(Problem::forbidden());
    }
    let member = params
        .get("member")
        .filter(|m| routes.gateway.genesis.member(m).is_some())
        .ok_or_else(|| Problem::bad_request("member must name a member of this consortium"))?;
    let cursor = params
        .get("cursor")
        .map(|text| {
            text.split_once(':')
                .and_then(|(sequence, entry)| {
                    let sequence = sequence.parse::<u64>().ok()?;
                    let entry = EntryId::from_hex(entry).ok()?;
                    Some((sequence, entry))
                })
                .ok_or_else(|| Problem::bad_request("cursor must be a next_cursor value"))
        })
        .transpose()?;
    let limit = limit(&params, 1000, 1000)?;
    let height = match await_height(&routes, &params).await? {
        // Without min_height, still answer with every anchor up to the height named.
        Some(height) if !params.contains_key("min_height") => {
            routes
                .gateway
                .await_height(Some(height), super::MIN_HEIGHT_WAIT)
                .await?
        }
        height => height,
    };
    let anchors = routes
        .gateway
        .store
        .anchors(member, cursor, limit)
        .map_err(|_| Problem::internal())?;
    let next = (anchors.len() == limit)
        .then(|| anchors.last())
        .flatten()
        .map(|last| format!("{}:{}", last.sequence, last.entry));
    let mut response = Json(json!({
        "member": member,
        "anchors": anchors,
        "next_cursor": next,
    }))
    .into_response();
    set_height(&mut response, height);
    Ok(response)
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
