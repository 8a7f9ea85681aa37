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
        ("originator" = Option<String>, Query, pattern = "^[a-z][a-z0-9-]{0,31}$", description = "The member that originated the loan (loans are identified by originator and business id); defaults to the caller's own bank, else the only loan of that id the caller's gateway sees"),
        ("min_height" = Option<u64>, Query, minimum = 0, description = "Wait (up to 5 s) until this gateway's node has finalized this height and indexed its loans (e.g. the height the loan's write answered with); 409 (type behind) if it does not"),
    ),
    responses(
        (status = 200, description = "The loan; header veil-ledger-height carries the height read at", body = Object),
        (status = 400, description = "Malformed loan id or query", body = Problem),
        (status = 409, description = "min_height not reached in time (behind), or several originators' loans have that id (name one with ?originator=)", body = Problem),
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
    query(&params, &["min_height", "originator"])?;
    let principal = entry_principal(&routes.gateway, &identity)?;
    let loan_id = path_param(loan_id)?;
    if loan_id.is_empty() || loan_id.chars().count() > 64 {
        return Err(Problem::bad_request("loan_id must be 1 to 64 characters"));
    }
    let originator = params.get("originator").map(String::as_str);
    if let Some(originator) = originator
        && !veil_policies::schema::is_member_id(originator)
    {
        return Err(Problem::bad_request(
            "originator must be a member id ([a-z][a-z0-9-]{0,31})",
        ));
    }
    let height = await_height(&routes, &params).await?;
    let view = routes
        .gateway
        .loan(&principal, &identity.to_string(), &loan_id, originator)
        .await?;
    let mut response = Json(view).into_response();
    set_height(&mut response, height);
    Ok(response)
}
