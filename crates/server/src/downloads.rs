//! One-use download links: how a browser saves an export or a chart without the launch
//! token in a URL.
//!
//! A link in a page (`<a href download>`) cannot carry a header, and a URL with `?token=`
//! in it leaks the whole API when it is copied, logged or kept in the browser's download
//! list. So the page asks, with its token, `POST /api/downloads {"path": …}` and gets
//! `/api/downloads/{id}`: a random id that serves that one path once, within
//! [`LINK_TTL`], and nothing else. The GET needs no token (only the Host and Origin
//! checks), because the id itself is the secret and it dies on first use. This module
//! owns the table of pending links; what a path serves is the API's, which it calls as a
//! request of its own. The desktop shell saves through its own authorised fetch instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Request, State};
use axum::http::uri::PathAndQuery;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tower::ServiceExt;

use crate::error::ApiError;
use crate::security::Guard;

/// How long a link waits for its one use: the click that asked for it follows at once;
/// a link found later in a history or a log is dead.
pub const LINK_TTL: Duration = Duration::from_secs(60);

/// Most links pending at once: the UI makes one per click, so this is only a stop for a
/// client that asks in a loop and never downloads.
pub const MAX_LINKS: usize = 256;

/// The pending links and the API router that serves what they name.
#[derive(Clone)]
pub struct Downloads {
    links: Arc<Mutex<HashMap<String, Link>>>,
    /// The API's routes without the guard, with paths relative to `/api`.
    api: Router,
}

struct Link {
    /// Relative to `/api`: `/connections/c1/export`, `/chart.png?…`.
    path: PathAndQuery,
    expires: Instant,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// What to download: `/api/connections/{id}/export` or `/api/chart.svg|png?…`.
    pub path: String,
}

#[derive(Debug, Serialize)]
pub struct LinkView {
    /// `/api/downloads/{id}`, relative to the server.
    pub url: String,
    pub expires_in_secs: u64,
}

impl Downloads {
    /// Links that serve from `api`, the API router as nested under `/api`.
    pub fn new(api: Router) -> Self {
        Downloads {
            links: Arc::default(),
            api,
        }
    }

    /// `POST /downloads`, to merge into the guarded API router.
    pub fn create_route(&self) -> Router {
        Router::new()
            .route("/downloads", post(create))
            .with_state(self.clone())
    }

    /// `GET /api/downloads/{id}`, outside the token guard (the id is the secret).
    pub fn fetch_route(&self) -> Router {
        Router::new()
            .route("/api/downloads/{id}", get(fetch))
            .with_state(self.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Link>> {
        // The table holds no invariant a panic elsewhere could break halfway.
        self.links.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Only what the UI downloads: a connection's or a library session's export and a chart
/// picture. Anything else
/// (the live socket, another link, a command) is refused, so a link can never do more
/// than hand out one file.
fn downloadable(path: &str) -> Result<PathAndQuery, ApiError> {
    let refused = || {
        ApiError::BadRequest(format!(
            "{path:?} cannot be downloaded: only /api/connections/{{id}}/export, \
             /api/sessions/{{id}}/export and /api/chart.svg or .png"
        ))
    };
    let full: PathAndQuery = path.parse().map_err(|_| refused())?;
    let rest = full.path().strip_prefix("/api").ok_or_else(refused)?;
    let export = ["/connections/", "/sessions/"].iter().any(|under| {
        rest.strip_prefix(under)
            .and_then(|r| r.strip_suffix("/export"))
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
    });
    let chart = rest == "/chart.svg" || rest == "/chart.png";
    if !(export || chart) {
        return Err(refused());
    }
    let relative = match full.query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_owned(),
    };
    relative.parse().map_err(|_| refused())
}

async fn create(
    State(d): State<Downloads>,
    body: Result<Json<LinkRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body?;
    let path = downloadable(&req.path)?;
    let id = Guard::random_token();
    let now = Instant::now();
    {
        let mut links = d.lock();
        links.retain(|_, l| l.expires > now);
        if links.len() >= MAX_LINKS {
            return Err(ApiError::Refused(format!(
                "{MAX_LINKS} download links are waiting to be used; try again in a minute"
            )));
        }
        links.insert(
            id.clone(),
            Link {
                path,
                expires: now + LINK_TTL,
            },
        );
    }
    let view = LinkView {
        url: format!("/api/downloads/{id}"),
        expires_in_secs: LINK_TTL.as_secs(),
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn fetch(State(d): State<Downloads>, Path(id): Path<String>) -> Response {
    // Taken out whatever happens next: a link is used at most once.
    let link = d.lock().remove(&id);
    let Some(link) = link.filter(|l| l.expires > Instant::now()) else {
        return ApiError::Gone(
            "this download link was used already or has expired; save again from the app".into(),
        )
        .into_response();
    };
    let mut req = Request::new(Body::empty());
    *req.method_mut() = Method::GET;
    *req.uri_mut() = link.path.into();
    match d.api.oneshot(req).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exports_and_charts_can_be_downloaded() {
        let ok = |p: &str| downloadable(p).map(|p| p.to_string());
        assert_eq!(
            ok("/api/connections/c1/export").as_deref(),
            Ok("/connections/c1/export")
        );
        assert_eq!(
            ok("/api/sessions/3/export?format=har&keep_secrets=true").as_deref(),
            Ok("/sessions/3/export?format=har&keep_secrets=true")
        );
        assert_eq!(
            ok("/api/chart.png?conns=c1&width=900").as_deref(),
            Ok("/chart.png?conns=c1&width=900")
        );
        for bad in [
            "/api/live",
            "/api/connections",
            "/api/connections/c1/send",
            "/api/connections/c1/x/export",
            "/api/sessions/export",
            "/api/sessions/3/open",
            "/api/sessions/import",
            "/api/downloads/abc",
            "/api/chart.svgz",
            "/demo/ws/ticker",
            "http://evil.example/api/chart.svg",
            "",
        ] {
            assert!(downloadable(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
