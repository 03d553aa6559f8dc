//! Streamscope's embedded server: one listener on 127.0.0.1 that the desktop window, a
//! browser and `sscope serve` all use.
//!
//! Three route groups: `/demo/…` the demo endpoints ([`demo`], open but harmless),
//! `/api/…` the control API ([`api`]) and the live record stream ([`ui_socket`]), both
//! behind the launch token and the Origin/Host checks ([`security`]), and `/` the UI
//! ([`assets`]). Connections live in the engine's [`Session`].

// What a peer or a user sends reaches this code: no `unwrap()` outside tests (STYLE.md).
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use streamscope_engine::Timestamp;
use streamscope_engine::recording::Library;
use streamscope_engine::recording::disk::DEFAULT_DISK_BUDGET;
use streamscope_engine::session::Session;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub mod api;
pub mod assets;
pub mod chart;
pub mod collections;
pub mod commands;
pub mod demo;
pub mod downloads;
pub mod error;
pub mod heap;
pub mod labs;
mod postman;
pub mod security;
pub mod sessions;
pub mod signals;
pub mod taps;
pub mod ui_socket;
pub mod wire;

use error::ApiError;
use security::Guard;

/// The demo endpoints alone, `/demo/…`, with a [`demo::Demo`] the caller keeps, to shut
/// its peers down or count them.
pub fn demo_app(demo: &demo::Demo) -> Router {
    Router::new().nest(demo::PREFIX, demo.router())
}

/// The API's own state beyond the session: lab runs and saved connections.
struct Stores {
    labs: labs::LabState,
    collections: collections::Collections,
}

/// The whole server: demos, the guarded API and live stream (its sockets register with
/// `live_sockets`), and the UI.
// One call site, each argument a different part of the server; a struct would only
// rename them.
#[allow(clippy::too_many_arguments)]
fn full_app(
    demo: &demo::Demo,
    session: Session,
    guard: Guard,
    ui: assets::UiFiles,
    live_sockets: TaskTracker,
    tags: wire::Tags,
    stores: Stores,
    taps: taps::TapsState,
) -> Router {
    let Stores { labs, collections } = stores;
    let live = ui_socket::LiveState {
        session: session.clone(),
        sockets: live_sockets,
    };
    let routes = api::router(session)
        .merge(chart::router(live.session.clone()))
        .merge(labs::router(labs))
        .merge(collections::router(collections))
        .merge(taps::router(taps))
        .merge(sessions::router(sessions::SessionsState::new(
            live.session.clone(),
        )));
    let downloads = downloads::Downloads::new(routes.clone());
    let api = routes
        .merge(downloads.create_route())
        .route("/live", get(ui_socket::live).with_state(live))
        .fallback(|uri: axum::http::Uri| async move { ApiError::NotFound(uri.path().to_owned()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(from_fn_with_state(guard.clone(), security::require_api));
    // A one-use link needs no token (its id is the secret), so it sits outside the guard.
    let fetch_download = downloads
        .fetch_route()
        .layer(from_fn_with_state(guard.clone(), security::guard_open));
    let ui = Router::new()
        .fallback(assets::serve)
        .with_state(ui)
        .layer(from_fn_with_state(guard.clone(), security::guard_open));
    let demo = demo
        .router()
        .route("/wire/{tag}", get(wire::totals).with_state(tags.clone()))
        .layer(from_fn_with_state(tags, wire::file_tagged))
        .layer(from_fn_with_state(guard.clone(), security::guard_demo));
    Router::new()
        .nest("/api", api)
        .merge(fetch_download)
        .nest(demo::PREFIX, demo)
        .merge(ui)
        .layer(from_fn_with_state(guard, security::confine))
}

/// How to start the server.
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    /// The port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The launch token; a fresh random one when `None`.
    pub token: Option<String>,
    /// The built UI; [`assets::default_ui_dir`] when `None`.
    pub ui_dir: Option<PathBuf>,
    /// Memory all in-memory recordings may take together, in bytes;
    /// [`DEFAULT_MEMORY_BUDGET`](streamscope_engine::session::DEFAULT_MEMORY_BUDGET) when
    /// `None`.
    pub memory_budget: Option<usize>,
    /// The library recordings go to; `None` keeps them in memory only.
    pub data_dir: Option<PathBuf>,
    /// Disk the library's sessions may take;
    /// [`DEFAULT_DISK_BUDGET`](streamscope_engine::recording::disk::DEFAULT_DISK_BUDGET)
    /// when `None`.
    pub disk_budget: Option<u64>,
}

/// Where recorded sessions go by default: `$STREAMSCOPE_DATA_DIR`, else `app` in the
/// user's data directory (`~/.local/share/app` on Linux).
pub fn default_data_dir(app: &str) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("STREAMSCOPE_DATA_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    dirs::data_dir().map(|d| d.join(app))
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub token: String,
    pub session: Session,
    pub demo: demo::Demo,
    pub ui_built: bool,
    /// The library the session records into, and the session there.
    pub library: Option<(Arc<Library>, i64)>,
    stop: CancellationToken,
    /// The open `/api/live` sockets: axum hands an upgraded connection off, so the
    /// listener's graceful shutdown does not wait for them; this does.
    live_sockets: TaskTracker,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Binds 127.0.0.1 (never another address) and starts serving.
    pub async fn start(config: ServerConfig) -> std::io::Result<Server> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
        let addr = listener.local_addr()?;
        let token = config.token.unwrap_or_else(Guard::random_token);
        let stop = CancellationToken::new();
        let mut session = Session::new(stop.child_token());
        if let Some(budget) = config.memory_budget {
            session = session.with_memory_budget(budget);
        }
        let mut library = None;
        if let Some(dir) = &config.data_dir {
            let budget = config.disk_budget.unwrap_or(DEFAULT_DISK_BUDGET);
            let lib = Library::open(dir, budget).map_err(std::io::Error::other)?;
            let started = Timestamp::now().to_string();
            // "2026-12-07 00:40" from the RFC 3339 time: a name to tell sessions apart.
            let name = format!(
                "Session of {} UTC",
                started.get(..16).unwrap_or(&started).replace('T', " ")
            );
            let id = lib
                .begin_session(&name, "live")
                .map_err(std::io::Error::other)?;
            session = session.with_library(Arc::clone(&lib), id);
            library = Some((lib, id));
        }
        // Saved connections live beside the library, or in memory with it.
        let collections = match &config.data_dir {
            Some(dir) => collections::Collections::open(dir),
            None => collections::Collections::in_memory(),
        };
        let demo = demo::Demo::with_shutdown(stop.child_token());
        let taps =
            taps::TapsState::new(session.clone(), stop.child_token(), config.data_dir.clone());
        let ui = assets::UiFiles::new(Some(config.ui_dir.unwrap_or_else(assets::default_ui_dir)));
        let ui_built = ui.is_built();
        let live_sockets = TaskTracker::new();
        let app = full_app(
            &demo,
            session.clone(),
            Guard::new(token.clone(), addr.port()),
            ui,
            live_sockets.clone(),
            wire::Tags::default(),
            Stores {
                labs: labs::LabState::new(
                    session.clone(),
                    format!("http://{addr}"),
                    stop.child_token(),
                ),
                collections,
            },
            taps,
        );
        let graceful = stop.clone();
        let task = tokio::spawn(async move {
            // Every connection counts its bytes, for the labs' figures (wire.rs).
            let listener = wire::CountingListener(listener);
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<wire::Wire>(),
            )
            .with_graceful_shutdown(async move { graceful.cancelled().await })
            .await
        });
        Ok(Server {
            addr,
            token,
            session,
            demo,
            ui_built,
            library,
            stop,
            live_sockets,
            task,
        })
    }

    /// The UI's address with the token, for a browser or the desktop window. The token
    /// is in the fragment: a browser never sends it in a request, a `Referer` or a log,
    /// and the page removes it from the address bar once read.
    pub fn ui_url(&self) -> String {
        format!("http://{}/#token={}", self.addr, self.token)
    }

    /// `http://127.0.0.1:PORT`, without a token.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Closes every connection properly (up to `grace`), ends the demo peers, lets each
    /// `/api/live` socket send what was recorded up to here and close with 1001, and
    /// stops the listener.
    pub async fn shutdown(self, grace: Duration) {
        self.session.shutdown(grace).await;
        self.demo.shutdown();
        // Also stops the session for good, which tells the live sockets to finish.
        self.stop.cancel();
        self.live_sockets.close();
        let _ = tokio::time::timeout(grace, self.live_sockets.wait()).await;
        let _ = tokio::time::timeout(grace, self.demo.closed()).await;
        let _ = tokio::time::timeout(grace, self.task).await;
        if let Some((lib, id)) = self.library {
            lib.end_session(id);
            // Joins the writer thread once it has written and indexed everything.
            let _ = tokio::task::spawn_blocking(move || lib.close()).await;
        }
    }
}
