//! `/v1/oprf/*`: this member's share of the borrower-reference OPRF key, evaluated for the other
//! members' gateways (`crate::service` `references.rs`).

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use veil_node::tls::Identity;

use super::{QueryParams, Routes, principal, query, query_params, read_body};
use crate::api::problem::Problem;
use crate::consortium::config::GatewayKind;
use crate::service::{EvaluateRequest, EvaluateResponse};

/// Evaluates one blinded element with this member's key share (RFC 9497 `BlindEvaluate` with a
/// DLEQ proof against the member's public share in the genesis), for another member's gateway
/// only (its `<member>:gateway` certificate). Each caller gets at most the genesis'
/// `oprf.daily_limit` evaluations per UTC day.
#[utoipa::path(
    post,
    path = "/v1/oprf/evaluate", tag = "members",
    request_body = EvaluateRequest,
    responses(
        (status = 200, description = "The evaluation element and proof", body = EvaluateResponse),
        (status = 400, description = "Malformed request or element", body = Problem),
        (status = 403, description = "Not another member's gateway", body = Problem),
        (status = 404, description = "This consortium has no shared OPRF key", body = Problem),
        (status = 429, description = "The caller reached its daily limit; nothing evaluated", body = Problem),
    )
)]
pub(super) async fn evaluate(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
    params: QueryParams,
    body: Body,
) -> Result<Response, Problem> {
    let params = query_params(params)?;
    query(&params, &[])?;
    if routes.gateway.kind != GatewayKind::Member || identity.role != "gateway" {
        return Err(Problem::forbidden());
    }
    let body = read_body(body).await?;
    crate::entry::strict_json::check(&body)
        .map_err(|e| Problem::bad_request(format!("invalid request: {e}")))?;
    let request: EvaluateRequest = serde_json::from_slice(&body)
        .map_err(|e| Problem::bad_request(format!("invalid request: {e}")))?;
    let answer = routes
        .gateway
        .evaluate_oprf(&identity.member, &request.blinded_element)
        .await?;
    Ok(Json(answer).into_response())
}

/// How many evaluations this gateway served each other member today (UTC): who asked how
/// often (this member's own callers and regulators).
#[utoipa::path(
    get,
    path = "/v1/oprf/evaluations", tag = "members",
    responses(
        (status = 200, description = "`{member, day, evaluations: {member: count}}` (day: days since the Unix epoch, UTC)", body = Object),
        (status = 403, description = "Not this member's caller or a regulator", body = Problem),
    )
)]
pub(super) async fn evaluations(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
    params: QueryParams,
) -> Result<Response, Problem> {
    let params = query_params(params)?;
    query(&params, &[])?;
    principal(&routes.gateway, &identity)?;
    let day = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    let counts = routes.gateway.oprf_counts(day)?;
    let evaluations: serde_json::Map<String, serde_json::Value> =
        counts.into_iter().map(|(m, n)| (m, json!(n))).collect();
    Ok(Json(json!({
        "member": routes.gateway.id,
        "day": day,
        "evaluations": evaluations,
    }))
    .into_response())
}
