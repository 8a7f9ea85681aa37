//! `/v1/entries`: write an entry, read one, list a page, and a settlement's proof.

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use veil_node::ledger::EntryId;
use veil_node::tls::Identity;
use veil_policies::EntryType;

use super::{
    QueryParams, Routes, await_height, entry_principal, limit, parse_cursor, path_param, principal,
    query, query_params, read_body, set_height,
};
use crate::api::problem::Problem;
use crate::entry::request::EntryRequest;

/// The answer to a write.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct WrittenResponse {
    /// Entry id (32 hex digits).
    pub id: String,
    /// Height of the block that finalized it.
    pub height: u64,
    /// Always `finalized`: the gateway answers only after finalization.
    pub status: String,
}

/// Writes an entry: checks the caller's write permission and the consortium rules, derives
/// fields, encrypts per reader group, commits and proves amounts, signs, and answers once the
/// consortium finalized it.
#[utoipa::path(
    post,
    path = "/v1/entries", tag = "entries",
    request_body = EntryRequest,
    params(
        ("Idempotency-Key" = Option<String>, Header, max_length = 130, description = "draft-ietf-httpapi-idempotency-key-header: one field line, a quoted Structured Field String or a bare key of 1 to 128 visible ASCII characters. Same key and body return the same entry; another body is 409; a retry while the first is in progress is 409 (type in-progress); a request that failed and wrote nothing releases its key."),
        ("min_height" = Option<u64>, Query, minimum = 0, description = "Wait (up to 5 s) until this gateway's node has finalized this height before building the entry (e.g. the height another gateway's write answered with); 409 (type behind) if it does not"),
    ),
    responses(
        (status = 201, description = "Finalized; header veil-ledger-height carries the height", body = WrittenResponse),
        (status = 400, description = "Malformed request or unknown field", body = Problem),
        (status = 403, description = "Identity may not write", body = Problem),
        (status = 408, description = "The request body stopped arriving (nothing written)", body = Problem),
        (status = 409, description = "Idempotency key reused with another body (idempotency-key-reused); a request with this key still in progress (in-progress); the loan id exists or is being created; the registry changed while the entry was built (send it again); min_height not reached (behind)", body = Problem),
        (status = 415, description = "A Content-Encoding, or a charset other than UTF-8", body = Problem),
        (status = 413, description = "Body too large", body = Problem),
        (status = 422, description = "The entry breaks a consortium rule", body = Problem),
        (status = 503, description = "Ledger unavailable", body = Problem),
        (status = 504, description = "Not finalized in time; retry with the same key", body = Problem),
    )
)]
pub(super) async fn create(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
    headers: HeaderMap,
    params: QueryParams,
    body: Body,
) -> Result<Response, Problem> {
    // The body first (bounded like every body): answering before it is read would close the
    // connection under a client still sending it, which then sees a reset, not the answer.
    let body = read_body(body).await?;
    let params = query_params(params)?;
    query(&params, &["min_height"])?;
    let principal = entry_principal(&routes.gateway, &identity)?;
    let key = idempotency_key(&headers)?;
    body_encoding(&headers)?;
    if params.contains_key("min_height") {
        await_height(&routes, &params).await?;
    }
    // The write runs to completion even if the client goes away or the request times out:
    // once an entry may reach the ledger, the gateway's own records must follow it.
    let gateway = routes.gateway.clone();
    let in_flight = routes.writes.clone().read_owned().await;
    let written = tokio::spawn(async move {
        let _in_flight = in_flight;
        gateway.write(&principal, &body, key.as_deref()).await
    })
    .await
    .map_err(|_| Problem::internal())??;
    let mut response = (
        StatusCode::CREATED,
        Json(WrittenResponse {
            id: written.id.to_hex(),
            height: written.height,
            status: "finalized".into(),
        }),
    )
        .into_response();
    set_height(&mut response, Some(written.height));
    Ok(response)
}

/// The body is read as UTF-8 JSON bytes, as sent: a `Content-Encoding` other than `identity`
/// (a server honouring it would read another body) or a JSON media type with another
/// charset is 415. Other media types are accepted and read as JSON (`curl -d` sends
/// `application/x-www-form-urlencoded`).
fn body_encoding(headers: &HeaderMap) -> Result<(), Problem> {
    for encoding in headers.get_all(axum::http::header::CONTENT_ENCODING) {
        let identity = encoding.to_str().is_ok_and(|e| {
            e.split(',')
                .all(|c| c.trim().eq_ignore_ascii_case("identity"))
        });
        if !identity {
            return Err(Problem::unsupported_media_type(
                "Content-Encoding is not supported: send the JSON body unencoded",
            ));
        }
    }
    if let Some(content_type) = headers.get(axum::http::header::CONTENT_TYPE) {
        let text = content_type.to_str().unwrap_or("").to_ascii_lowercase();
        let charset = text
            .split(';')
            .skip(1)
            .filter_map(|p| p.trim().strip_prefix("charset="))
            .map(|c| c.trim_matches('"'))
            .find(|c| *c != "utf-8");
        if let Some(charset) = charset {
            return Err(Problem::unsupported_media_type(format!(
                "the body is read as UTF-8 JSON; charset {charset:?} is not supported"
            )));
        }
    }
    Ok(())
}

/// The request's idempotency key (draft-ietf-httpapi-idempotency-key-header §2.1): one
/// `Idempotency-Key` field line whose value is a Structured Field String (RFC 9651 §3.3.3,
/// `"8e03978e-40d5"`) or, as many clients send it, the bare key itself (1 to 128 visible
/// ASCII characters without quotes, commas, semicolons or backslashes).
///
/// # Errors
/// 400 for anything a proxy could read as another key: several field lines (which HTTP
/// combines into a list), a list, parameters, or any other item.
pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    let mut values = headers.get_all("idempotency-key").iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let invalid = |why: &str| {
        Problem::bad_request(format!(
            "Idempotency-Key {why}; send one field line holding one key (a quoted string, \
             or 1 to 128 visible ASCII characters)"
        ))
    };
    if values.next().is_some() {
        return Err(invalid("appears on several field lines"));
    }
    let text = value
        .to_str()
        .map_err(|_| invalid("must be visible ASCII"))?
        .trim_matches(|c| c == ' ' || c == '\t');
    let key = if text.starts_with('"') {
        let item = sfv::Parser::new(text)
            .parse_item::<sfv::Item>()
            .map_err(|_| invalid("is not one Structured Field String"))?;
        if !item.params.is_empty() {
            return Err(invalid("must not carry parameters"));
        }
        item.bare_item
            .as_string()
            .map(|s| s.as_str().to_owned())
            .ok_or_else(|| invalid("is not one Structured Field String"))?
    } else {
        if text
            .bytes()
            .any(|b| matches!(b, b',' | b';' | b'\\' | b'"'))
        {
            return Err(invalid(
                "holds a comma, semicolon, backslash or stray quote (a list or parameters?)",
            ));
        }
        text.to_owned()
    };
    // Its length and characters are checked where every write is handled
    // (`Gateway::write`), for in-process callers too.
    Ok(Some(key))
}

/// One entry as the caller may see it: readable fields decrypted (amounts checked against
/// their commitments), the rest `{"redacted": true, "commitment": ...}`, and proof status.
#[utoipa::path(
    get,
    path = "/v1/entries/{id}", tag = "entries",
    params(
        ("id" = String, Path, pattern = r"^[0-9a-f]{32}$", description = "Entry id, 32 hex digits"),
        ("min_height" = Option<u64>, Query, minimum = 0, description = "Wait (up to 5 s) until this gateway's node has finalized this height; 409 (type behind) if it does not"),
    ),
    responses(
        (status = 200, description = "The entry as the caller sees it; header veil-ledger-height carries the height read at", body = Object),
        (status = 400, description = "Malformed id or query", body = Problem),
        (status = 409, description = "min_height not reached in time (behind)", body = Problem),
        (status = 404, description = "No such entry", body = Problem),
    )
)]
pub(super) async fn read(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
    id: Result<Path<String>, PathRejection>,
    params: QueryParams,
) -> Result<Response, Problem> {
    let params = query_params(params)?;
    query(&params, &["min_height"])?;
    let principal = entry_principal(&routes.gateway, &identity)?;
    let id = EntryId::from_hex(&path_param(id)?)
        .map_err(|_| Problem::bad_request("entry id must be 32 hex digits"))?;
    let height = await_height(&routes, &params).await?;
    let view = routes
        .gateway
        .read(&principal, &identity.to_string(), &id)
        .await?;
    let mut response = Json(view).into_response();
    set_height(&mut response, height);
    Ok(response)
}

/// A settlement's Groth16 proof for independent verification: its circuit data, the
/// repayments' Poseidon commitments, and `snarkjs` (`proof`, `public`, `verification_key`
/// in snarkjs' JSON). Public data only; any member or regulator may read it.
#[utoipa::path(
    get,
    path = "/v1/entries/{id}/proof", tag = "entries",
    params(("id" = String, Path, pattern = r"^[0-9a-f]{32}$", description = "Settlement entry id, 32 hex digits")),
    responses(
        (status = 400, description = "Malformed id", body = Problem),
        (status = 200, description = "The settlement proof", body = Object),
        (status = 404, description = "No such settlement", body = Problem),
    )
)]
pub(super) async fn settlement_proof(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    principal(&routes.gateway, &identity)?;
    let id = EntryId::from_hex(&path_param(id)?)
        .map_err(|_| Problem::bad_request("entry id must be 32 hex digits"))?;
    Ok(Json(routes.gateway.settlement_proof(&id).await?).into_response())
}

/// A page of entries, oldest first.
#[utoipa::path(
    get,
    path = "/v1/entries", tag = "entries",
    params(
        ("type" = Option<String>, Query, description = "Entry type (loan.originated, loan.repaid, settlement.closed, registry.updated, view_keys.published, disclosures.anchored, oprf.evaluations); every type but disclosures.anchored and oprf.evaluations if absent or empty", pattern = r"^(|loan\.originated|loan\.repaid|settlement\.closed|registry\.updated|view_keys\.published|disclosures\.anchored|oprf\.evaluations)$"),
        ("cursor" = Option<String>, Query, pattern = r"^[0-9]{1,20}:[0-9]{1,10}$", description = "The previous page's next_cursor"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100 (default 50)"),
        ("min_height" = Option<u64>, Query, minimum = 0, description = "Wait (up to 5 s) until this gateway's node has finalized this height; 409 (type behind) if it does not"),
    ),
    responses(
        (status = 200, description = "`{entries, next_cursor}`; header veil-ledger-height carries the height read at", body = Object),
        (status = 400, description = "Malformed query", body = Problem),
        (status = 409, description = "min_height not reached in time (behind)", body = Problem),
    )
)]
pub(super) async fn list(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
    params: QueryParams,
) -> Result<Response, Problem> {
    let params = query_params(params)?;
    query(&params, &["type", "cursor", "limit", "min_height"])?;
    let principal = entry_principal(&routes.gateway, &identity)?;
    let kind = match params.get("type").map(String::as_str) {
        None | Some("") => None,
        Some(name) => Some(
            EntryType::from_name(name)
                .ok_or_else(|| Problem::bad_request(format!("unknown entry type {name:?}")))?,
        ),
    };
    let cursor = params.get("cursor").map(|c| parse_cursor(c)).transpose()?;
    let limit = limit(&params, 50, crate::service::MAX_PAGE)?;
    let height = await_height(&routes, &params).await?;
    let (entries, next) = routes
        .gateway
        .list(&principal, &identity.to_string(), kind, cursor, limit)
        .await?;
    let mut response = Json(json!({"entries": entries, "next_cursor": next})).into_response();
    set_height(&mut response, height);
    Ok(response)
}
