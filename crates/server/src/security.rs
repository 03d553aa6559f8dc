//! The guard in front of `/api` and the UI: launch token, `Origin` and `Host` checks,
//! and the response headers that confine the UI.
//!
//! The server is reachable by every process and every web page on the machine, so a
//! request to `/api` must carry the per-launch token, must not come from a page on another
//! site (cross-site WebSocket hijacking), and must name our own loopback address in `Host`
//! (DNS rebinding). `/demo` takes no token, but refuses other sites' pages too: its
//! streams cost CPU, and a page must not make the app spend it.
//!
//! Where the token travels (ARCHITECTURE.md, Security): never in a cookie, since cookies
//! are not kept apart by port and every local web service would receive it; the page holds
//! it in memory and sends `Authorization: Bearer` on fetches and, on the `/api/live`
//! WebSocket whose handshake a browser cannot add headers to, as the subprotocol
//! [`LIVE_TOKEN_PREFIX`]`<token>` beside [`LIVE_PROTOCOL`] (as Kubernetes does for
//! its bearer tokens). Downloads go through one-use links ([`crate::downloads`]).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{
    AUTHORIZATION, CONTENT_SECURITY_POLICY, HOST, ORIGIN, SEC_WEBSOCKET_PROTOCOL, UPGRADE,
};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;

use crate::error::ApiError;

/// The subprotocol the `/api/live` socket agrees to; a browser fails the handshake
/// unless the server picks one of the protocols it offered.
pub const LIVE_PROTOCOL: &str = "streamscope.live";

/// A subprotocol offered to `/api/live` that carries the token: `streamscope.token.<hex>`.
/// Never echoed back: the server answers with [`LIVE_PROTOCOL`].
pub const LIVE_TOKEN_PREFIX: &str = "streamscope.token.";

/// What the guard checks against. Fixed at launch.
#[derive(Debug, Clone)]
pub struct Guard {
    token: Arc<str>,
    port: u16,
}

impl Guard {
    pub fn new(token: String, port: u16) -> Self {
        Guard {
            token: token.into(),
            port,
        }
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// A fresh random token: 256 bits as 64 hex digits.
    pub fn random_token() -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// `Host` must be our loopback address and port, as a browser would send it.
    fn host_ok(&self, headers: &HeaderMap) -> bool {
        let Some(host) = headers.get(HOST).and_then(|h| h.to_str().ok()) else {
            // HTTP/1.1 requires Host; a request without it is no browser's.
            return false;
        };
        let host = host.to_ascii_lowercase();
        let port = self.port;
        host == format!("127.0.0.1:{port}") || host == format!("localhost:{port}")
    }

    /// `Origin`, when a browser sends it, must be our own origin (or the desktop
    /// shell's). No `Origin` means a same-origin GET or a non-browser client.
    fn origin_ok(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(ORIGIN) else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = origin.to_ascii_lowercase();
        let port = self.port;
        origin == format!("http://127.0.0.1:{port}")
            || origin == format!("http://localhost:{port}")
            || origin == "tauri://localhost"
            || origin == "http://tauri.localhost"
    }

    /// The token from `Authorization: Bearer`, or on a WebSocket upgrade (the only
    /// request a browser cannot add a header to) from a [`LIVE_TOKEN_PREFIX`] subprotocol
    /// or `?token=`. Never from a cookie. `?token=` stays for non-browser clients of the
    /// live socket; the UI does not use it, so no URL it builds carries the token.
    fn presented<'a>(&self, headers: &'a HeaderMap, query: Option<&'a str>) -> Vec<&'a str> {
        let mut found = Vec::new();
        if let Some(v) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
            if let Some(t) = v
                .strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
            {
                found.push(t.trim());
            }
        }
        let upgrade = headers
            .get(UPGRADE)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
        if upgrade {
            for offered in headers.get_all(SEC_WEBSOCKET_PROTOCOL) {
                if let Ok(list) = offered.to_str() {
                    found.extend(
                        list.split(',')
                            .filter_map(|p| p.trim().strip_prefix(LIVE_TOKEN_PREFIX)),
                    );
                }
            }
            if let Some(q) = query {
                found.extend(query_token(q));
            }
        }
        found
    }

    fn token_ok(&self, headers: &HeaderMap, query: Option<&str>) -> bool {
        self.presented(headers, query)
            .into_iter()
            .any(|t| constant_time_eq(t.as_bytes(), self.token.as_bytes()))
    }
}

fn query_token(query: &str) -> Option<&str> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
}

/// Compares without an early exit, so response time says nothing about the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Middleware for `/api`: Host, then Origin, then the token.
pub async fn require_api(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    if !guard.host_ok(headers) {
        return ApiError::BadHost.into_response();
    }
    if !guard.origin_ok(headers) {
        return ApiError::BadOrigin.into_response();
    }
    if !guard.token_ok(headers, req.uri().query()) {
        return ApiError::Unauthorized.into_response();
    }
    next.run(req).await
}

/// Middleware for what needs no token (the UI's files, a one-use download): Host and
/// Origin as for `/api`. Sets no cookie: the page takes the token from its own address.
pub async fn guard_open(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    if !guard.host_ok(headers) {
        return ApiError::BadHost.into_response();
    }
    if !guard.origin_ok(headers) {
        return ApiError::BadOrigin.into_response();
    }
    next.run(req).await
}

/// Middleware for `/demo`: a page on another site may not open the demo streams (a
/// million messages a second is the app's CPU, not the page's). Clients that send no
/// `Origin` (`sscope`, curl, the engine) are not browsers' pages and pass. `Host` is not
/// checked: the demos hold nothing a rebinding page could read that it cannot ask for.
pub async fn guard_demo(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    if !guard.origin_ok(req.headers()) {
        return crate::demo::DemoError::new(
            axum::http::StatusCode::FORBIDDEN,
            "bad_origin",
            "the demo endpoints refuse other web pages (Origin is not this app)",
        )
        .into_response();
    }
    // The connection-limit lab opens EventSources from the page on one of our two host
    // names to the other (`127.0.0.1` ↔ `localhost`): a cross-origin request the browser
    // lets the page read only with this header. Only our own origins get it.
    let origin = req.headers().get(ORIGIN).cloned();
    let mut response = next.run(req).await;
    if let Some(origin) = origin {
        response
            .headers_mut()
            .insert(axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        response
            .headers_mut()
            .append(axum::http::header::VARY, HeaderValue::from_static("origin"));
    }
    response
}

/// Adds the Content-Security-Policy and related headers to every response.
pub async fn confine(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let port = guard.port;
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
         font-src 'self' data:; connect-src 'self' ws://127.0.0.1:{port} ws://localhost:{port} \
         http://127.0.0.1:{port} http://localhost:{port}; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    );
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("valid header"));
        }
        h
    }

    #[test]
    fn tokens_are_long_and_random() {
        let a = Guard::random_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, Guard::random_token());
    }

    #[test]
    fn token_is_accepted_from_the_header_or_a_websocket_handshake_only() {
        let g = Guard::new("secret".into(), 9000);
        assert!(g.token_ok(&headers(&[("authorization", "Bearer secret")]), None));
        let offered = "streamscope.live, streamscope.token.secret";
        let ws =
            |proto: &str| headers(&[("upgrade", "websocket"), ("sec-websocket-protocol", proto)]);
        assert!(g.token_ok(&ws(offered), None));
        assert!(!g.token_ok(&headers(&[("sec-websocket-protocol", offered)]), None));
        let upgrade = headers(&[("upgrade", "WebSocket")]);
        assert!(g.token_ok(&upgrade, Some("a=1&token=secret")));
        assert!(
            !g.token_ok(&headers(&[]), Some("a=1&token=secret")),
            "no query on plain requests"
        );
        assert!(!g.token_ok(&headers(&[("cookie", "x=1; sscope_token=secret")]), None));
        assert!(!g.token_ok(&headers(&[("authorization", "Bearer secreT")]), None));
        assert!(!g.token_ok(&upgrade, Some("token=secre")));
        assert!(!g.token_ok(&headers(&[]), None));
    }

    #[test]
    fn host_and_origin_must_be_ours() {
        let g = Guard::new("t".into(), 9000);
        assert!(g.host_ok(&headers(&[("host", "127.0.0.1:9000")])));
        assert!(g.host_ok(&headers(&[("host", "LOCALHOST:9000")])));
        assert!(!g.host_ok(&headers(&[("host", "evil.example:9000")])));
        assert!(!g.host_ok(&headers(&[("host", "127.0.0.1:9001")])));
        assert!(g.origin_ok(&headers(&[])));
        assert!(g.origin_ok(&headers(&[("origin", "http://127.0.0.1:9000")])));
        assert!(!g.origin_ok(&headers(&[("origin", "https://evil.example")])));
        assert!(!g.origin_ok(&headers(&[("origin", "null")])));
    }
}
