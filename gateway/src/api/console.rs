//! The web console: static pages embedded in the binary, served by every gateway at `/ui`
//! (acting as the identity of the client certificate that reaches it), and by
//! `veil console --dir DIR --as MEMBER[:ROLE]` on loopback, which forwards the page's API
//! calls to that member's gateway with the member's client certificate.
//!
//! The pages only render what the gateway answers: decryption, redaction and proof checks
//! all happen in the gateway, for the certificate's identity.

use std::net::SocketAddr;
use std::path::Path;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const INDEX: &str = include_str!("console/index.html");
const APP: &str = include_str!("console/app.js");
const EXACT_JSON: &str = include_str!("console/exact-json.js");
const STYLE: &str = include_str!("console/style.css");

/// Content security policy of the pages: everything from this origin, nothing inline.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The console's static routes (`/ui`, `/ui/app.js`, `/ui/exact-json.js`, `/ui/style.css`).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/ui",
            get(|| async { asset("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/ui/",
            get(|| async { asset("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/ui/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP) }),
        )
        .route(
            "/ui/exact-json.js",
            get(|| async { asset("text/javascript; charset=utf-8", EXACT_JSON) }),
        )
        .route(
            "/ui/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
}

/// Why `veil console` could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// The listen address is not loopback (the console holds a client certificate).
    #[error("{0}: the console serves loopback only (it holds a client certificate)")]
    NotLoopback(SocketAddr),
    /// The member's certificate or gateway is not in the consortium directory.
    #[error(transparent)]
    Client(#[from] crate::client::ClientError),
    /// The listen address cannot be bound.
    #[error("console {listen}: {source}")]
    Bind {
        /// The address.
        listen: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A running `veil console`.
#[derive(Debug)]
pub struct Console {
    /// Where it listens (loopback).
    pub addr: SocketAddr,
    /// The console page.
    pub url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
}

impl Console {
    /// Stops serving.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let _ = self.server.await;
    }
}

#[derive(Clone)]
struct Upstream {
    client: reqwest::Client,
    gateway: String,
}

/// Serves the console on `listen` (loopback only) as `member` with `role` (a bank's role, or
/// `regulator` for the regulator), forwarding API calls to the gateway named in `dir`.
pub async fn serve(
    dir: &Path,
    member: &str,
    role: Option<&str>,
    listen: SocketAddr,
) -> Result<Console, ConsoleError> {
    if !listen.ip().is_loopback() {
        return Err(ConsoleError::NotLoopback(listen));
    }
    let (cert, key) = crate::client::identity_files(dir, member, role)?;
    let client = crate::client::https(dir, &cert, &key)?;
    let gateway = crate::client::gateway_url(dir, member)?;
    let router = routes()
        .route("/", get(|| async { axum::response::Redirect::to("/ui") }))
        .fallback(forward)
        .layer(axum::middleware::from_fn(loopback_host_only))
        .layer(axum::middleware::map_response(
            veil_node::problem::ensure_problem,
        ))
        .with_state(Upstream { client, gateway });
    let bind = |source| ConsoleError::Bind { listen, source };
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(bind)?;
    let addr = listener.local_addr().map_err(bind)?;
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = shutdown_rx.await;
            })
            .await;
    });
    Ok(Console {
        addr,
        url: format!("http://{addr}/ui"),
        shutdown: Some(shutdown_tx),
        server,
    })
}

/// Refuses a request whose `Host` is not a loopback address (`127.0.0.1`, `[::1]`,
/// `localhost`, with any port): the console holds the user's client certificate, and a web
/// page elsewhere could otherwise reach it through DNS rebinding (a name of its own that
/// resolves to 127.0.0.1) and read the API with the user's rights.
async fn loopback_host_only(request: Request, next: axum::middleware::Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    let loopback = name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "the console answers only to a loopback Host",
        )
            .into_response();
    }
    next.run(request).await
}

/// Forwards a read (`GET`) of the API to the gateway; the console never writes.
async fn forward(State(upstream): State<Upstream>, request: Request) -> Response {
    if request.method() != axum::http::Method::GET {
        return (StatusCode::METHOD_NOT_ALLOWED, "the console is read-only").into_response();
    }
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    if !(path.starts_with("/v1/") || path == "/openapi.json") {
        return StatusCode::NOT_FOUND.into_response();
    }
    let answer = upstream
        .client
        .get(format!("{}{path}", upstream.gateway))
        .send()
        .await;
    let Ok(answer) = answer else {
        return (StatusCode::BAD_GATEWAY, "the gateway is unreachable").into_response();
    };
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type = answer
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let height = answer
        .headers()
        .get(crate::api::routes::HEIGHT_HEADER)
        .cloned();
    let body: Bytes = answer.bytes().await.unwrap_or_default();
    let mut response = (status, body).into_response();
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    if let Some(height) = height {
        response
            .headers_mut()
            .insert(crate::api::routes::HEIGHT_HEADER, height);
    }
    response
}
