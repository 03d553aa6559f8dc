//! `/api/taps`: taps started from the UI. `POST /api/taps {listen, upstream, insecure}`
//! starts a reverse tap on a loopback port (port 0 picks a free one, returned in
//! `listen`); `POST /api/taps {listen, proxy: true, decrypt: [hosts]}` starts a proxy;
//! `GET /api/taps` lists the running ones with their counts, `DELETE /api/taps/{id}`
//! stops one. `GET /api/taps/ca` is the proxy CA's certificate (PEM, made on first use
//! in the data directory), `DELETE /api/taps/ca` deletes the CA. Each stream a tap relays is an ordinary connection of the
//! session (named `tap …`), so the connection list, panes, charts and recordings show
//! it like any other.
//!
//! Relaying and recording are the tap crate's; this module checks requests and keeps
//! the running taps.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use serde::{Deserialize, Serialize};
use streamscope_engine::TlsOptions;
use streamscope_engine::session::Session;
use streamscope_tap::{Ca, ProxySpec, Tap, TapError, TapSpec, parse_upstream};
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;

/// Taps running at once: each holds a port and a listener; more than a handful is a
/// runaway script, not a person debugging apps.
pub const MAX_TAPS: usize = 16;

#[derive(Clone)]
pub struct TapsState {
    session: Session,
    taps: Arc<Mutex<BTreeMap<u32, Arc<Tap>>>>,
    next: Arc<AtomicU32>,
    /// Fires when the server stops: every tap stops with it.
    cancel: CancellationToken,
    /// Where the proxy's CA lives; `None` (memory only) means no decrypting.
    data_dir: Option<PathBuf>,
}

impl TapsState {
    pub fn new(session: Session, cancel: CancellationToken, data_dir: Option<PathBuf>) -> Self {
        TapsState {
            session,
            taps: Arc::default(),
            next: Arc::new(AtomicU32::new(1)),
            cancel,
            data_dir,
        }
    }

    fn data_dir(&self) -> Result<&PathBuf, ApiError> {
        self.data_dir.as_ref().ok_or_else(|| {
            ApiError::Refused(
                "the tap's CA is kept in the data directory, and this server keeps nothing on disk (--memory-only); start it with a data directory to decrypt".into(),
            )
        })
    }

    /// The CA, made on first use (on the blocking pool: it writes files).
    async fn ca(&self) -> Result<Ca, ApiError> {
        let dir = self.data_dir()?.clone();
        tokio::task::spawn_blocking(move || Ca::load_or_create(&dir))
            .await
            .map_err(|e| ApiError::Refused(format!("the CA could not be made: {e}")))?
            .map_err(|e| ApiError::Refused(e.to_string()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u32, Arc<Tap>>> {
        // A panic elsewhere while holding it leaves a map that is still whole.
        self.taps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

pub fn router(state: TapsState) -> Router {
    Router::new()
        .route("/taps", get(list).post(start))
        .route("/taps/ca", get(ca_pem).delete(delete_ca))
        .route("/taps/{id}", delete(stop))
        .with_state(state)
}

/// `POST /api/taps`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartTap {
    /// `127.0.0.1:PORT` (port 0: a free one) [default: `127.0.0.1:0`].
    #[serde(default)]
    pub listen: Option<String>,
    /// `ws://`, `wss://`, `http://` or `https://` (a reverse tap).
    #[serde(default)]
    pub upstream: Option<String>,
    /// Run as an HTTP proxy instead of a reverse tap.
    #[serde(default)]
    pub proxy: bool,
    /// The proxy's hosts to decrypt with the tap's CA.
    #[serde(default)]
    pub decrypt: Vec<String>,
    /// Skip verifying the upstream's certificate.
    #[serde(default)]
    pub insecure: bool,
}

/// A running tap as the API shows it.
#[derive(Debug, Serialize)]
pub struct TapView {
    pub id: String,
    /// Where the app should connect.
    pub listen: String,
    pub upstream: String,
    /// Present (true) for a proxy.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub proxy: bool,
    /// TCP connections the app opened to the tap.
    pub clients: u64,
    /// WebSockets and event streams recorded as connections.
    pub recorded: u64,
    /// Other requests passed through, counted, not recorded.
    pub passed: u64,
    /// Requests the upstream could not answer (the app got a 502).
    pub failed: u64,
}

fn view(id: u32, tap: &Tap) -> TapView {
    let c = tap.counts();
    TapView {
        id: format!("t{id}"),
        listen: tap.addr().to_string(),
        upstream: tap.upstream().to_owned(),
        proxy: tap.is_proxy(),
        clients: c.clients,
        recorded: c.recorded,
        passed: c.passed,
        failed: c.failed,
    }
}

async fn list(State(state): State<TapsState>) -> Json<Vec<TapView>> {
    let taps = state.lock();
    Json(taps.iter().map(|(&id, t)| view(id, t)).collect())
}

async fn start(
    State(state): State<TapsState>,
    body: Result<Json<StartTap>, JsonRejection>,
) -> Result<(StatusCode, Json<TapView>), ApiError> {
    let Json(req) = body?;
    let listen_text = req.listen.as_deref().unwrap_or("127.0.0.1:0");
    let listen: SocketAddr = listen_text.trim().parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "listen {listen_text:?} is not an address and port; use 127.0.0.1:PORT (0 picks a free port)"
        ))
    })?;
    if state.lock().len() >= MAX_TAPS {
        return Err(ApiError::Busy(format!(
            "{MAX_TAPS} taps are running already; stop one first"
        )));
    }
    let tls = TlsOptions {
        insecure: req.insecure,
        ca_file: None,
    };
    let refused = |e: TapError| match e {
        TapError::NotLoopback(_) | TapError::BadUpstream(_) => ApiError::BadRequest(e.to_string()),
        TapError::Bind { .. } => ApiError::Conflict(e.to_string()),
        TapError::Tls(_) => ApiError::Refused(e.to_string()),
    };
    let tap = if req.proxy {
        if req.upstream.is_some() {
            return Err(ApiError::BadRequest(
                "a proxy takes no upstream: each request names its own; give one or the other"
                    .into(),
            ));
        }
        let decrypt: Vec<String> = req
            .decrypt
            .iter()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .collect();
        if let Some(bad) = decrypt.iter().find(|h| {
            !h.trim_start_matches("*.")
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        }) {
            return Err(ApiError::BadRequest(format!(
                "decrypt: {bad:?} is not a host name; give names such as api.example.com or *.example.com"
            )));
        }
        let ca = if decrypt.is_empty() {
            None
        } else {
            Some(Arc::new(state.ca().await?))
        };
        let spec = ProxySpec {
            listen,
            decrypt,
            tls,
            ca,
        };
        streamscope_tap::start_proxy(
            spec,
            Arc::new(state.session.clone()),
            state.cancel.child_token(),
        )
        .await
        .map_err(refused)?
    } else {
        let upstream = req.upstream.as_deref().ok_or_else(|| {
            ApiError::BadRequest(
                "upstream: missing; give the endpoint's URL, or proxy: true".into(),
            )
        })?;
        let upstream = parse_upstream(upstream).map_err(|e| ApiError::InvalidUrl(e.to_string()))?;
        let spec = TapSpec {
            listen,
            upstream,
            tls,
        };
        streamscope_tap::start(
            spec,
            Arc::new(state.session.clone()),
            state.cancel.child_token(),
        )
        .await
        .map_err(refused)?
    };
    let id = state.next.fetch_add(1, Ordering::Relaxed);
    let tap = Arc::new(tap);
    let shown = view(id, &tap);
    state.lock().insert(id, tap);
    Ok((StatusCode::CREATED, Json(shown)))
}

async fn stop(
    State(state): State<TapsState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let unknown = || ApiError::NotFound(format!("no tap {id}"));
    let n: u32 = id
        .strip_prefix('t')
        .and_then(|n| n.parse().ok())
        .ok_or_else(unknown)?;
    let tap = state.lock().remove(&n).ok_or_else(unknown)?;
    tap.stop().await;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/taps/ca`: the CA certificate, made on first use, to export and trust.
async fn ca_pem(State(state): State<TapsState>) -> Result<impl IntoResponse, ApiError> {
    let ca = state.ca().await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-pem-file"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"streamscope-tap-ca.pem\"",
            ),
        ],
        ca.cert_pem().to_owned(),
    ))
}

/// `DELETE /api/taps/ca`: deletes the CA's key and certificate; refused while a proxy
/// that decrypts runs (it holds the key).
async fn delete_ca(State(state): State<TapsState>) -> Result<StatusCode, ApiError> {
    let dir = state.data_dir()?.clone();
    if state.lock().values().any(|t| t.decrypts()) {
        return Err(ApiError::Conflict(
            "a proxy that decrypts is running with this CA; stop it first".into(),
        ));
    }
    tokio::task::spawn_blocking(move || Ca::delete(&dir))
        .await
        .map_err(|e| ApiError::Refused(format!("the CA could not be deleted: {e}")))?
        .map_err(|e| ApiError::Refused(e.to_string()))?;
    Ok(StatusCode::NO_CONTENT)
}
