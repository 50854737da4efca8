//! Building responses: the body type every handler returns and the error answers.
//!
//! Every error the server composes itself is JSON (`{"error": "…"}`) with a status that says
//! what to do: 400 for a bad query, 404, 405 with `Allow`, 426 for a plain GET on a WebSocket
//! path, 403 for a foreign Origin, 503 at the connection limit.

use std::convert::Infallible;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Empty, Full};

use proto::wire::ErrorBody;

/// The response body of every handler: a full buffer or a stream (SSE).
pub type Body = UnsyncBoxBody<Bytes, Infallible>;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

pub fn empty() -> Body {
    Empty::new().boxed_unsync()
}

/// A `200` with a body of the given type.
pub fn ok(content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(full(body));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// A JSON answer with this status.
pub fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = ok("application/json", body);
    *r.status_mut() = status;
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// An error answer: `{"error": message}` with this status.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response<Body> {
    let body = serde_json::to_vec(&ErrorBody { error: message.into() }).unwrap_or_default();
    json(status, body)
}

pub fn not_found(path: &str) -> Response<Body> {
    error(StatusCode::NOT_FOUND, format!("no such endpoint: {path}"))
}

/// A `405`; `allow` lists the methods (tokens, so always a valid header value).
pub fn method_not_allowed(allow: &str) -> Response<Body> {
    let mut r = error(StatusCode::METHOD_NOT_ALLOWED, format!("method not allowed; use {allow}"));
    if let Ok(v) = HeaderValue::from_str(allow) {
        r.headers_mut().insert(header::ALLOW, v);
    }
    r
}

pub fn upgrade_required() -> Response<Body> {
    let mut r = error(
        StatusCode::UPGRADE_REQUIRED,
        "this is a WebSocket endpoint: send a GET with `Upgrade: websocket`",
    );
    r.headers_mut().insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    r.headers_mut().insert("sec-websocket-version", HeaderValue::from_static("13"));
    r
}

/// The bytes written to a connection refused at the limit: no parsing, no handler.
pub const SERVICE_UNAVAILABLE_RAW: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\ncontent-length: 37\r\nconnection: close\r\nretry-after: 1\r\n\r\n\
{\"error\":\"connection limit reached\"}\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_503_has_the_length_it_declares() {
        let text = std::str::from_utf8(SERVICE_UNAVAILABLE_RAW).expect("ascii");
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert_eq!(body.len(), 37);
    }
}
