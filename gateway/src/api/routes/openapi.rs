//! `/openapi.json`: the OpenAPI document, generated from the handlers and types.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use veil_node::problem::PROBLEM_JSON;
use veil_policies::EntryType;

use utoipa::OpenApi as _;

use super::entries::WrittenResponse;
use crate::api::problem::Problem;
use crate::entry::request::{
    Borrower, EntryRequest, ListChanges, LoanOriginated, LoanRepaid, Participant, RegistryUpdated,
    SettlementClosed,
};

pub(super) async fn openapi() -> Response {
    Json(document()).into_response()
}

/// The OpenAPI document as served: [`ApiDoc`] plus what its annotations cannot say.
///
/// - Every error response is `application/problem+json` (RFC 9457), and every operation has
///   a `default` response for the errors it shares with all others (a malformed path, query
///   or framing is 400, an unknown method 405, a stalled body 408, an unavailable or lagging
///   ledger 503, a request over time 504).
/// - The body of `POST /v1/entries` is one of four shapes, `type` selecting the shape of
///   `fields`.
pub fn document() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for operation in paths
            .values_mut()
            .filter_map(Value::as_object_mut)
            .flat_map(|item| item.values_mut())
        {
            let Some(responses) = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            for (status, response) in responses.iter_mut() {
                if (status.starts_with('4') || status.starts_with('5'))
                    && let Some(content) =
                        response.get_mut("content").and_then(Value::as_object_mut)
                    && let Some(body) = content.remove("application/json")
                {
                    content.insert(PROBLEM_JSON.to_owned(), body);
                }
            }
            responses.insert(
                "default".to_owned(),
                json!({
                    "description": "Any other error, as RFC 9457 problem details",
                    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
                }),
            );
        }
    }
    let shapes: Vec<Value> = [
        (EntryType::LoanOriginated, "LoanOriginated"),
        (EntryType::LoanRepaid, "LoanRepaid"),
        (EntryType::SettlementClosed, "SettlementClosed"),
        (EntryType::RegistryUpdated, "RegistryUpdated"),
    ]
    .into_iter()
    .map(|(kind, schema)| {
        json!({
            "type": "object",
            "required": ["type", "fields"],
            "additionalProperties": false,
            "properties": {
                "type": {"type": "string", "enum": [kind.name()]},
                "fields": {"$ref": format!("#/components/schemas/{schema}")}
            }
        })
    })
    .collect();
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.insert("EntryRequest".to_owned(), json!({ "oneOf": shapes }));
    }
    doc
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
        super::disclosures::anchors,
        super::alerts::alerts,
        super::disclosures::sealed,
        super::oprf::evaluate,
        super::oprf::evaluations,
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
        WrittenResponse,
        crate::service::EvaluateRequest,
        crate::service::EvaluateResponse
    ))
)]
#[derive(Debug)]
pub struct ApiDoc;
