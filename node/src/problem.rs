//! Every error an HTTP server of Veil's sends is `application/problem+json` (RFC 9457), also
//! the ones the HTTP stack makes before a handler runs.
//!
//! Two places produce errors that no handler wrote:
//! - the router and its extractors (an unknown method, a path segment that is not UTF-8, a
//!   query string that does not decode): [`ensure_problem`], a response mapper, gives every
//!   non-2xx response without a problem body one naming its status;
//! - hyper itself, when a request head cannot be framed unambiguously (`Content-Length: +1`,
//!   two different `Content-Length`s, a malformed request line, oversized headers): hyper
//!   answers with a bare status line and closes the connection, with no hook to shape the
//!   answer. [`ProblemFraming`] wraps the connection and replaces exactly that bare answer
//!   (a 4xx/5xx head with `content-length: 0` and no content type, which no handler of ours
//!   produces) by the same status with a problem body.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The media type of problem details (RFC 9457 §3).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Where problem type URIs live: `{PROBLEM_BASE}{slug}`.
pub const PROBLEM_BASE: &str = "https://veil.dev/problems/";

/// A problem details object (RFC 9457 §3.1) with Veil's one extension member `kind`, which
/// the node API's clients match on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProblemBody {
    /// URI of the problem type.
    #[serde(rename = "type")]
    pub kind_uri: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// Explanation specific to this occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Extension member: the problem type's slug (what the node API's clients match on).
    pub kind: String,
}

impl ProblemBody {
    /// The problem the HTTP stack reports for `status` (its slug and title follow the status).
    pub fn for_status(status: StatusCode, detail: Option<String>) -> Self {
        let (slug, title) = stack_problem(status);
        Self {
            kind_uri: format!("{PROBLEM_BASE}{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            kind: slug.to_owned(),
        }
    }

    /// The JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// Slug and title of the problems the HTTP stack itself raises.
fn stack_problem(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::BAD_REQUEST => ("malformed-request", "Malformed request"),
        StatusCode::NOT_FOUND => ("not-found", "Not found"),
        StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "Method not allowed"),
        StatusCode::REQUEST_TIMEOUT => ("request-timeout", "The request was not received in time"),
        StatusCode::PAYLOAD_TOO_LARGE => ("too-large", "Request body too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported-media-type", "Unsupported media type"),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            ("headers-too-large", "Request header fields too large")
        }
        StatusCode::HTTP_VERSION_NOT_SUPPORTED => ("http-version", "HTTP version not supported"),
        StatusCode::UNAUTHORIZED => ("unauthenticated", "Client certificate required"),
        StatusCode::FORBIDDEN => ("forbidden", "Not allowed"),
        StatusCode::CONFLICT => ("conflict", "Conflict"),
        StatusCode::UNPROCESSABLE_ENTITY => ("unprocessable", "Unprocessable request"),
        StatusCode::TOO_MANY_REQUESTS => ("too-many-requests", "Too many requests"),
        StatusCode::SERVICE_UNAVAILABLE => ("unavailable", "Service unavailable, retry later"),
        StatusCode::GATEWAY_TIMEOUT => ("timeout", "The request did not complete in time"),
        s if s.is_server_error() => ("internal", "Internal error"),
        _ => ("client-error", "Request refused"),
    }
}

/// Response mapper for a router (`axum::middleware::map_response(ensure_problem)`): a non-2xx
/// response that is not already `application/problem+json` (a framework rejection such as
/// 405, or a path or query extractor's 400) becomes a problem of the same status, with the
/// rejection's own text as detail when it is short plain text.
pub async fn ensure_problem(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let plain = parts
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/plain"));
    let detail = if plain && !status.is_server_error() {
        axum::body::to_bytes(body, 1024)
            .await
            .ok()
            .and_then(|b| String::from_utf8(b.to_vec()).ok())
            .filter(|text| !text.is_empty())
    } else {
        None
    };
    let bytes = ProblemBody::for_status(status, detail).to_bytes();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    Response::from_parts(parts, Body::from(bytes))
}

/// Request middleware (`axum::middleware::from_fn(one_host)`): an HTTP/1.1 request must carry
/// exactly one `Host` field (RFC 9112 §3.2: "A server MUST respond with a 400 … to any
/// HTTP/1.1 request message that lacks a Host header field and to any request message that
/// contains more than one Host header field line or a Host header field with an invalid
/// field value"). hyper leaves this to the application.
pub async fn one_host(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let hosts = request.headers().get_all(header::HOST).iter().count();
    let needs_host = request.version() == axum::http::Version::HTTP_11;
    if hosts > 1 || (needs_host && hosts == 0) {
        let problem = ProblemBody::for_status(
            StatusCode::BAD_REQUEST,
            Some("an HTTP/1.1 request carries exactly one Host field (RFC 9112 §3.2)".into()),
        );
        let mut response = Response::new(Body::from(problem.to_bytes()));
        *response.status_mut() = StatusCode::BAD_REQUEST;
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        return response;
    }
    next.run(request).await
}

/// A connection whose bare error answers from hyper (see the module docs) carry a problem
/// body. Reads pass through; writes pass through except that one answer.
#[derive(Debug)]
pub struct ProblemFraming<T> {
    inner: T,
    /// The replacement being written: bytes, how many are written, the length of the
    /// original write it stands for.
    pending: Option<(Vec<u8>, usize, usize)>,
}

impl<T> ProblemFraming<T> {
    /// Wraps a connection.
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            pending: None,
        }
    }
}

/// If `bytes` is a complete response head with an error status, `content-length: 0` and no
/// content type (hyper's own answer to a request it could not parse), the status.
fn bare_error_head(bytes: &[u8]) -> Option<StatusCode> {
    let rest = bytes.strip_prefix(b"HTTP/1.1 ")?;
    if !bytes.ends_with(b"\r\n\r\n") || rest.len() < 3 {
        return None;
    }
    let status = StatusCode::from_bytes(&rest[..3]).ok()?;
    if !(status.is_client_error() || status.is_server_error()) {
        return None;
    }
    let head = String::from_utf8_lossy(bytes).to_ascii_lowercase();
    (head.contains("\r\ncontent-length: 0\r\n") && !head.contains("\r\ncontent-type:"))
        .then_some(status)
}

fn problem_response(status: StatusCode) -> Vec<u8> {
    let detail = match status {
        StatusCode::BAD_REQUEST => Some(
            "the request could not be framed unambiguously (request line, header syntax, \
             Content-Length or Transfer-Encoding)"
                .to_owned(),
        ),
        _ => None,
    };
    let body = ProblemBody::for_status(status, detail).to_bytes();
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {PROBLEM_JSON}\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error"),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

impl<T: AsyncRead + Unpin> AsyncRead for ProblemFraming<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProblemFraming<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.pending.is_none() {
            match bare_error_head(buf) {
                Some(status) => this.pending = Some((problem_response(status), 0, buf.len())),
                None => return Pin::new(&mut this.inner).poll_write(cx, buf),
            }
        }
        // Writing the replacement; the caller sees its original write succeed at the end.
        let Some((bytes, written, original)) = this.pending.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        while *written < bytes.len() {
            match Pin::new(&mut this.inner).poll_write(cx, &bytes[*written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => return Poll::Pending,
            }
        }
        let original = *original;
        this.pending = None;
        Poll::Ready(Ok(original))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    // Not vectored: every head reaches `poll_write` whole, where it can be recognized.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bare_error_heads_are_recognized() {
        let bare = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        assert_eq!(bare_error_head(bare), Some(StatusCode::BAD_REQUEST));
        let large = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(
            bare_error_head(large),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        for other in [
            &b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 10\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
            b"{\"HTTP/1.1 400\"}",
        ] {
            assert_eq!(bare_error_head(other), None, "{}", String::from_utf8_lossy(other));
        }
    }

    #[tokio::test]
    async fn a_bare_error_is_written_as_a_problem_and_the_caller_sees_its_write_done() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let (client, server) = tokio::io::duplex(64);
        let mut framed = ProblemFraming::new(server);
        let bare = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        let reader = tokio::spawn(async move {
            let mut client = client;
            let mut out = Vec::new();
            client.read_to_end(&mut out).await.unwrap();
            out
        });
        let n = framed.write(bare).await.unwrap();
        assert_eq!(n, bare.len());
        framed.shutdown().await.unwrap();
        drop(framed);
        let out = String::from_utf8(reader.await.unwrap()).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(head.contains("content-type: application/problem+json"));
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["status"], 400);
        assert_eq!(
            problem["type"],
            "https://veil.dev/problems/malformed-request"
        );
    }
}
