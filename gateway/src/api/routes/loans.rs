//! `/v1/loans/{loan_id}`: a loan as the caller may see it.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Extension, Path, State};
use axum::response::{IntoResponse, Response};
use veil_node::tls::Identity;

use super::{
    QueryParams, Routes, await_height, entry_principal, path_param, query, query_params, set_height,
};
use crate::api::problem::Problem;

/// A loan as the caller may see it: terms, funding by bank, repayments, outstanding.
#[utoipa::path(
    get,
    path = "/v1/loans/{loan_id}", tag = "loans",
    params(
        ("loan_id" = String, Path, min_length = 1, max_length = 64, description = "The loan's business id (1 to 64 characters)"),
        ("min_height" = Option<u64>, Query, minimum = 0, description = "Wait (up to 5 s) until this gateway's node has finalized this height and indexed its loans (e.g. the height the loan's write answered with); 409 (type behind) if it does not"),
    ),
    responses(
        (status = 200, description = "The loan; header veil-ledger-height carries the height read at", body = Object),
        (status = 400, description = "Malformed loan id or query", body = Problem),
        (status = 409, description = "min_height not reached in time (behind)", body = Problem),
        (status = 404, description = "Unknown, or not visible to the caller", body = Problem),
    )
)]
pub(super) async fn loan(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
    loan_id: Result<Path<String>, PathRejection>,
    params: QueryParams,
) -> Result<Response, Problem> {
    let params = query_params(params)?;
    query(&params, &["min_height"])?;
    let principal = entry_principal(&routes.gateway, &identity)?;
    let loan_id = path_param(loan_id)?;
    if loan_id.is_empty() || loan_id.chars().count() > 64 {
        return Err(Problem::bad_request("loan_id must be 1 to 64 characters"));
    }
    let height = await_height(&routes, &params).await?;
    let view = routes
        .gateway
        .loan(&principal, &identity.to_string(), &loan_id)
        .await?;
    let mut response = Json(view).into_response();
    set_height(&mut response, height);
    Ok(response)
}
