//! The HTTPS API (`docs/api.md`), one module per resource, over mutual TLS: the caller's identity comes from its client
//! certificate, never from the request.
//!
//! A member's gateway serves that member's clients (`<member>:clerk`, `<member>:auditor`);
//! a regulator's gateway serves only that regulator and never writes. Regulators may also
//! read any gateway's disclosure log.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use veil_node::tls::Identity;
use veil_policies::Principal;

use crate::api::problem::{Problem, ProblemSlug};
use crate::consortium::config::GatewayKind;
use crate::entry::request::MAX_BODY;
use crate::metrics::GatewayMetrics;
use crate::service::Gateway;

mod alerts;
mod disclosures;
mod entries;
mod health;
mod loans;
pub mod openapi;
mod oprf;

pub use entries::WrittenResponse;
pub use openapi::{ApiDoc, document};

/// Shared state of the routes.
#[derive(Clone, Debug)]
pub struct Routes {
    /// The gateway.
    pub gateway: Arc<Gateway>,
    /// Request metrics.
    pub metrics: Arc<GatewayMetrics>,
    /// Held (shared) by every write while it runs, which it does to completion even if its
    /// client goes away; stopping the gateway takes it exclusively to wait for them.
    pub writes: Arc<tokio::sync::RwLock<()>>,
}

/// Bytes of an oversized body read and discarded before answering 413, so that a client still
/// sending sees the answer rather than a reset connection. Beyond this the connection closes.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// How long a request body may pause between two pieces before the gateway gives up on it
/// (408): a client that stopped sending is told so, not left waiting for a write timeout.
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a whole request body may take to arrive (a client trickling it byte by byte is
/// told 408 well before the request's own time limit).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(20);

/// The longest a read or write waits for this gateway's node to reach a `min_height`.
pub const MIN_HEIGHT_WAIT: Duration = Duration::from_secs(5);

/// The response header carrying the ledger height an answer reflects.
pub const HEIGHT_HEADER: &str = "veil-ledger-height";

/// Reads a request body of at most `MAX_BODY` bytes, each piece arriving within
/// [`BODY_IDLE_TIMEOUT`] of the last and the whole within [`BODY_TIMEOUT`].
pub(super) async fn read_body(body: Body) -> Result<Bytes, Problem> {
    use futures::StreamExt as _;
    let mut stream = body.into_data_stream();
    let mut buffer = Vec::new();
    let mut seen = 0usize;
    let deadline = tokio::time::Instant::now() + BODY_TIMEOUT;
    loop {
        let wait =
            BODY_IDLE_TIMEOUT.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        let next = tokio::time::timeout(wait, stream.next())
            .await
            .map_err(|_| Problem::body_timeout(BODY_IDLE_TIMEOUT, BODY_TIMEOUT))?;
        let Some(chunk) = next else { break };
        let chunk =
            chunk.map_err(|_| Problem::bad_request("the request body could not be read"))?;
        seen = seen.saturating_add(chunk.len());
        if seen > DRAIN_LIMIT {
            break;
        }
        if seen <= MAX_BODY {
            buffer.extend_from_slice(&chunk);
        }
    }
    if seen > MAX_BODY {
        return Err(Problem::too_large());
    }
    Ok(buffer.into())
}

/// Who is calling, as the policy sees it, and whether this gateway serves them at all.
pub(super) fn principal(gateway: &Gateway, identity: &Identity) -> Result<Principal, Problem> {
    match gateway.kind {
        GatewayKind::Member => {
            if gateway.genesis.regulator(&identity.member).is_some() && identity.role == "regulator"
            {
                return Ok(Principal::Regulator {
                    id: identity.member.clone(),
                });
            }
            if identity.member != gateway.id {
                return Err(Problem::forbidden());
            }
            if !matches!(identity.role.as_str(), "clerk" | "auditor") {
                return Err(Problem::forbidden());
            }
            Ok(Principal::Member {
                bank: identity.member.clone(),
                role: identity.role.clone(),
            })
        }
        GatewayKind::Regulator => {
            if identity.member != gateway.id || identity.role != "regulator" {
                return Err(Problem::forbidden());
            }
            Ok(Principal::Regulator {
                id: identity.member.clone(),
            })
        }
    }
}

/// Entry routes are for the gateway's own callers; regulators calling a member gateway may
/// only read its disclosure log.
pub(super) fn entry_principal(
    gateway: &Gateway,
    identity: &Identity,
) -> Result<Principal, Problem> {
    let principal = principal(gateway, identity)?;
    if gateway.kind == GatewayKind::Member && matches!(principal, Principal::Regulator { .. }) {
        return Err(Problem::forbidden());
    }
    Ok(principal)
}

/// The router.
pub fn router(routes: Routes) -> Router {
    Router::new()
        .route("/v1/entries", post(entries::create).get(entries::list))
        .route("/v1/entries/{id}", get(entries::read))
        .route("/v1/entries/{id}/proof", get(entries::settlement_proof))
        .route("/v1/loans/{loan_id}", get(loans::loan))
        .route("/v1/status", get(health::status))
        .route("/v1/disclosures", get(disclosures::disclosures))
        .route("/v1/disclosures/anchors", get(disclosures::anchors))
        .route("/v1/alerts", get(alerts::alerts))
        .route("/v1/sealed/entries", get(disclosures::sealed))
        .route("/v1/oprf/evaluate", post(oprf::evaluate))
        .route("/v1/oprf/evaluations", get(oprf::evaluations))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/openapi.json", get(openapi::openapi))
        .merge(crate::api::console::routes())
        .fallback(|| async { Problem::not_found() })
        .method_not_allowed_fallback(|| async { Problem::method_not_allowed() })
        .layer(middleware::from_fn(veil_node::problem::one_host))
        .layer(middleware::map_response(veil_node::problem::ensure_problem))
        .layer(middleware::from_fn_with_state(routes.clone(), observe))
        .with_state(routes)
}

async fn observe(State(routes): State<Routes>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    // Known methods only: a label per arbitrary method token would grow without bound.
    let method = match *request.method() {
        axum::http::Method::GET => "GET",
        axum::http::Method::POST => "POST",
        axum::http::Method::HEAD => "HEAD",
        axum::http::Method::PUT => "PUT",
        axum::http::Method::DELETE => "DELETE",
        axum::http::Method::OPTIONS => "OPTIONS",
        axum::http::Method::PATCH => "PATCH",
        _ => "other",
    };
    let response = next.run(request).await;
    if let Some(ProblemSlug(slug)) = response.extensions().get::<ProblemSlug>() {
        routes.metrics.refused(slug);
    }
    routes.metrics.observe(
        method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// A route's query string as decoded pairs, in order (see [`query_params`]).
pub(super) type QueryParams = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// The query parameters, or 400 naming why they do not decode or naming a parameter given
/// twice (`limit=1&limit=100`: proxies and servers disagree on which one counts).
pub(super) fn query_params(params: QueryParams) -> Result<HashMap<String, String>, Problem> {
    let Query(pairs) = params
        .map_err(|e| Problem::bad_request(format!("invalid query string: {}", e.body_text())))?;
    let mut out = HashMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        if out.contains_key(&name) {
            return Err(Problem::bad_request(format!(
                "query parameter {name:?} is given more than once"
            )));
        }
        out.insert(name, value);
    }
    Ok(out)
}

/// A path parameter, or 400 if it is not percent-encoded UTF-8.
pub(super) fn path_param(param: Result<Path<String>, PathRejection>) -> Result<String, Problem> {
    param
        .map(|Path(value)| value)
        .map_err(|_| Problem::bad_request("the path is not percent-encoded UTF-8"))
}

/// Waits until this gateway's node has finalized at least the `min_height` query parameter
/// (if given) and its ledger indexes have caught up, for at most [`MIN_HEIGHT_WAIT`]; the
/// node's height then.
///
/// # Errors
/// 400 if `min_height` is not a number; 409 if the node has not reached it in time.
pub(super) async fn await_height(
    routes: &Routes,
    params: &HashMap<String, String>,
) -> Result<Option<u64>, Problem> {
    // An int64, as the document says.
    let min = params
        .get("min_height")
        .map(|text| {
            text.parse::<i64>()
                .ok()
                .and_then(|h| u64::try_from(h).ok())
                .ok_or_else(|| {
                    Problem::bad_request("min_height must be an integer from 0 to 2^63 - 1")
                })
        })
        .transpose()?;
    Ok(routes.gateway.await_height(min, MIN_HEIGHT_WAIT).await?)
}

/// Adds the ledger height an answer reflects.
pub(super) fn set_height(response: &mut Response, height: Option<u64>) {
    if let Some(height) = height {
        response
            .headers_mut()
            .insert(HEIGHT_HEADER, axum::http::HeaderValue::from(height));
    }
}

pub(super) fn query(params: &HashMap<String, String>, allowed: &[&str]) -> Result<(), Problem> {
    match params.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(Problem::bad_request(format!(
            "unknown query parameter {unknown:?}"
        ))),
        None => Ok(()),
    }
}

/// The `limit` query parameter (1 to `max`), or `default`.
pub(super) fn limit(
    params: &HashMap<String, String>,
    default: usize,
    max: usize,
) -> Result<usize, Problem> {
    params.get("limit").map_or(Ok(default), |limit| {
        limit
            .parse::<usize>()
            .ok()
            .filter(|limit| (1..=max).contains(limit))
            .ok_or_else(|| {
                Problem::bad_request(format!("limit must be an integer from 1 to {max}"))
            })
    })
}

pub(super) fn parse_cursor(text: &str) -> Result<(u64, u32), Problem> {
    let invalid = || Problem::bad_request("cursor must be a next_cursor value");
    let (height, index) = text.split_once(':').ok_or_else(invalid)?;
    Ok((
        height.parse().map_err(|_| invalid())?,
        index.parse().map_err(|_| invalid())?,
    ))
}
