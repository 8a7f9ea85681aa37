//! The node's status, liveness, readiness and Prometheus metrics.

use axum::Json;
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use veil_node::tls::Identity;

use super::{Routes, principal};
use crate::api::problem::Problem;

/// The member node's status.
#[utoipa::path(get, path = "/v1/status", tag = "operations", responses((status = 200, description = "`{member, height, head_hash, peers, policy_hash}`", body = Object)))]
pub(super) async fn status(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
) -> Result<Response, Problem> {
    principal(&routes.gateway, &identity)?;
    let status = routes
        .gateway
        .node
        .status()
        .await
        .map_err(|_| Problem::unavailable())?;
    Ok(Json(json!({
        "member": status.member,
        "gateway": routes.gateway.id,
        "height": status.height,
        "head_hash": status.head_hash,
        "peers": status.peers,
        "policy_hash": status.policy_hash,
        "mempool": status.mempool,
    }))
    .into_response())
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Alive", body = Object)))]
pub(super) async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// Readiness: the node answers, has peers and has not halted.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, description = "Ready", body = Object), (status = 503, description = "Not ready (problem+json)", body = Problem)))]
pub(super) async fn readyz(State(routes): State<Routes>) -> Response {
    match routes.gateway.node.status().await {
        Ok(status) if status.halted.is_none() && !status.peers.is_empty() => {
            Json(json!({"status": "ready", "height": status.height})).into_response()
        }
        _ => Problem::not_ready().into_response(),
    }
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text", body = String)))]
pub(super) async fn metrics(
    State(routes): State<Routes>,
    Extension(identity): Extension<Identity>,
) -> Result<Response, Problem> {
    principal(&routes.gateway, &identity)?;
    if let Ok(count) = routes.gateway.store.alert_count() {
        routes.metrics.set_alerts(count);
    }
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            veil_node::exposition::CONTENT_TYPE,
        )],
        routes.metrics.encode(),
    )
        .into_response())
}
