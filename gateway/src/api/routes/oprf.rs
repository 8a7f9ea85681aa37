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
    // The body first (bounded like every body): answering before it is read would close the
    // connection under a client still sending it, which then sees a reset, not the answer.
    let body = read_body(body).await?;
    let params = query_params(params)?;
    query(&params, &[])?;
    if routes.gateway.kind != GatewayKind::Member || identity.role != "gateway" {
        return Err(Problem::forbidden_because(
            "only another member's gateway (its <member>:gateway client certificate) asks a \
             member for borrower-reference evaluations",
        ));
    }
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

/// Who asked how often: how many evaluations this gateway answered each other member on a UTC
/// day (member gateways), and every member's latest report of that day on the ledger
/// (`oprf.evaluations`, signed by the member that answered). For this member's own callers and
/// regulators.
#[utoipa::path(
    get,
    path = "/v1/oprf/evaluations", tag = "members",
    params(
        ("day" = Option<String>, Query, description = "A UTC date, `YYYY-MM-DD`, or a number of days since 1970-01-01; at most today; today if absent"),
    ),
    responses(
        (status = 200, description = "`{member, day, date, evaluations: {member: count}, reports: [{member, day, evaluations: {member: count}, entry, height, timestamp_ms}]}`: `evaluations` is this member gateway's own count (absent on a regulator's gateway), `reports` what each member reported on the ledger", body = Object),
        (status = 400, description = "Malformed or future day, or unknown parameter", body = Problem),
        (status = 403, description = "Not this member's caller or a regulator", body = Problem),
    )
)]
pub(super) async fn evaluations(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
    params: QueryParams,
) -> Result<Response, Problem> {
    let params = query_params(params)?;
    query(&params, &["day"])?;
    principal(&routes.gateway, &identity)?;
    let today = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    let day = match params.get("day") {
        None => today,
        Some(day) => parse_day(day).filter(|day| *day <= today).ok_or_else(|| {
            Problem::bad_request(format!(
                "day must be a UTC date (YYYY-MM-DD) or a number of days since 1970-01-01, \
                     from 1970-01-01 (0) to today ({today})"
            ))
        })?,
    };
    let (year, month, date) =
        crate::entry::national_id::civil_from_days(i64::try_from(day).unwrap_or(0));
    let mut body = json!({
        "member": routes.gateway.id,
        "day": day,
        "date": format!("{year:04}-{month:02}-{date:02}"),
        "reports": routes.gateway.oprf_reports(day)?,
    });
    if routes.gateway.kind == GatewayKind::Member {
        let evaluations: serde_json::Map<String, serde_json::Value> = routes
            .gateway
            .oprf_counts(day)?
            .into_iter()
            .map(|(m, n)| (m, json!(n)))
            .collect();
        body["evaluations"] = evaluations.into();
    }
    Ok(Json(body).into_response())
}

/// `YYYY-MM-DD` (a UTC date) or a number of days since 1970-01-01, as days since 1970-01-01.
fn parse_day(text: &str) -> Option<u64> {
    if let Ok(days) = text.parse::<u64>() {
        return Some(days);
    }
    let mut parts = text.splitn(3, '-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    let days = crate::entry::national_id::days_from_civil(
        year.parse().ok()?,
        month.parse().ok()?,
        day.parse().ok()?,
    )?;
    u64::try_from(days).ok()
}
