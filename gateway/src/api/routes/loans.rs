//! `/v1/loans/{loan_id}`: a loan as the caller may see it.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::response::{IntoResponse, Response};
use veil_node::tls::Identity;

use super::{Routes, entry_principal};
use crate::api::problem::Problem;

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
pub(super) async fn loan(
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
