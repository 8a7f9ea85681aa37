//! `/openapi.json`: the OpenAPI document, generated from the handlers and types.

use axum::Json;
use axum::response::{IntoResponse, Response};

use utoipa::OpenApi as _;

use super::entries::WrittenResponse;
use crate::api::problem::Problem;
use crate::entry::request::{
    Borrower, EntryRequest, ListChanges, LoanOriginated, LoanRepaid, Participant, RegistryUpdated,
    SettlementClosed,
};

pub(super) async fn openapi() -> Response {
    Json(ApiDoc::openapi()).into_response()
}

/// The OpenAPI document, generated from the handlers and types above.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Veil gateway API",
        description = "Per-field encrypted, permissioned, proven entries of a shared loan ledger. Every call needs a client certificate from the consortium CA."
    ),
    paths(
        super::entries::create,
        super::entries::read,
        super::entries::settlement_proof,
        super::entries::list,
        super::loans::loan,
        super::health::status,
        super::disclosures::disclosures,
        super::disclosures::sealed,
        super::health::healthz,
        super::health::readyz,
        super::health::metrics
    ),
    components(schemas(
        EntryRequest,
        LoanOriginated,
        LoanRepaid,
        SettlementClosed,
        RegistryUpdated,
        ListChanges,
        Borrower,
        Participant,
        Problem,
        WrittenResponse
    ))
)]
#[derive(Debug)]
pub struct ApiDoc;
