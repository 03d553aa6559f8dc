//! The guard in front of `/api` and the UI: launch token, `Origin` and `Host` checks,
//! and the response headers that confine the UI.
//!
//! The server is reachable by every process and every web page on the machine, so a
//! request to `/api` must carry the per-launch token (header, query or cookie), must not
//! come from a page on another site (cross-site WebSocket hijacking), and must name our
//! own loopback address in `Host` (DNS rebinding). `/demo` is open but harmless.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{
    AUTHORIZATION, CONTENT_SECURITY_POLICY, COOKIE, HOST, ORIGIN, SET_COOKIE,
};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;

use crate::error::ApiError;

/// The name of the cookie that carries the token for the UI's own requests.
pub const COOKIE_NAME: &str = "sscope_token";

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

    /// The token from `Authorization: Bearer`, `?token=` or the cookie.
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
        if let Some(q) = query {
            found.extend(query_token(q));
        }
        for cookies in headers.get_all(COOKIE) {
            if let Ok(cookies) = cookies.to_str() {
                for pair in cookies.split(';') {
                    if let Some(v) = pair
                        .trim()
                        .strip_prefix(COOKIE_NAME)
                        .and_then(|r| r.strip_prefix('='))
                    {
                        found.push(v);
                    }
                }
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

/// Middleware for the UI: Host and Origin as for `/api`; a valid `?token=` sets the
/// cookie so the page's later requests carry it without putting it in every URL.
pub async fn guard_ui(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    if !guard.host_ok(headers) {
        return ApiError::BadHost.into_response();
    }
    if !guard.origin_ok(headers) {
        return ApiError::BadOrigin.into_response();
    }
    let set_cookie = req
        .uri()
        .query()
        .and_then(query_token)
        .filter(|t| constant_time_eq(t.as_bytes(), guard.token.as_bytes()))
        .is_some();
    let mut response = next.run(req).await;
    if set_cookie {
        let cookie = format!(
            "{COOKIE_NAME}={}; HttpOnly; SameSite=Strict; Path=/",
            guard.token
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(SET_COOKIE, v);
        }
    }
    response
}

/// Adds the Content-Security-Policy and related headers to every response.
pub async fn confine(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let port = guard.port;
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
         font-src 'self' data:; connect-src 'self' ws://127.0.0.1:{port} ws://localhost:{port}; \
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
    fn token_is_accepted_from_header_query_or_cookie() {
        let g = Guard::new("secret".into(), 9000);
        assert!(g.token_ok(&headers(&[("authorization", "Bearer secret")]), None));
        assert!(g.token_ok(&headers(&[]), Some("a=1&token=secret")));
        assert!(g.token_ok(&headers(&[("cookie", "x=1; sscope_token=secret")]), None));
        assert!(!g.token_ok(&headers(&[("authorization", "Bearer secreT")]), None));
        assert!(!g.token_ok(&headers(&[]), Some("token=secre")));
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
