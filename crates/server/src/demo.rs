//! The demo endpoints under `/demo`: live peers a new user can connect to without typing a
//! URL, and the controlled peers the labs run against. This module owns the router and the
//! state the demos share (chat room, task tracking, shutdown); [`catalog`] says what exists,
//! `feed` what the streams carry, `ws` and `sse` how each protocol serves it.

use axum::{
    Extension, Router,
    extract::DefaultBodyLimit,
    http::{StatusCode, Uri},
    routing::{MethodRouter, get, post},
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

pub mod catalog;
mod error;
mod feed;
mod lab;
mod params;
mod sse;
mod ws;

pub use catalog::{CATALOG, DemoSpec, Endpoint, Method, ParamKind, ParamSpec, Proto};
pub use error::DemoError;
pub use feed::{MAX_BYTES_PER_SEC, MAX_RATE, MAX_SIZE};

/// Where [`Demo::router`] is meant to be nested; `GET /demo` lists paths under it.
pub const PREFIX: &str = "/demo";

/// Most demo sockets and streams running at once, from every client together (on
/// loopback every client is 127.0.0.1, so "per client" would name no one). With each
/// stream held to [`MAX_BYTES_PER_SEC`] by the catalog, this bounds what the demos can
/// cost in all; it is far above what the panes and labs open (a lab opens seven).
pub const MAX_STREAMS: usize = 128;

/// The demo endpoints and the state they share.
///
/// Every socket and stream a demo serves is tracked, so [`Demo::live`] tells how many are
/// running and [`Demo::shutdown`] ends them all (WebSockets close with 1001, SSE streams end).
/// Clones share the same state.
#[derive(Clone, Debug)]
pub struct Demo {
    state: DemoState,
}

/// What the handlers share: the chat room, the tracker every socket and stream registers
/// with, and the token that tells them to stop.
#[derive(Clone, Debug)]
struct DemoState {
    room: ws::Room,
    rooms: lab::Rooms,
    feeds: lab::Feeds,
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

impl Demo {
    /// A demo set that runs until the process ends or [`Demo::shutdown`] is called.
    pub fn new() -> Self {
        Self::with_shutdown(CancellationToken::new())
    }

    /// A demo set that stops when `shutdown` is cancelled (pass a child of the server's root
    /// token so that quitting the app ends every demo connection).
    pub fn with_shutdown(shutdown: CancellationToken) -> Self {
        Self {
            state: DemoState {
                room: ws::Room::new(),
                rooms: lab::Rooms::new(),
                feeds: lab::Feeds::new(),
                tasks: TaskTracker::new(),
                shutdown,
            },
        }
    }

    /// The router to nest at [`PREFIX`]: `GET /` lists the catalog, and every catalog entry is
    /// mounted at its path with its handler, so what is listed is exactly what exists.
    pub fn router(&self) -> Router {
        // Not a stream, so not in the catalog: the sending half of `/sse/room`.
        let mut router = Router::new().route("/", get(catalog::index)).route(
            "/sse/room/send",
            post(lab::sse_room_send).layer(DefaultBodyLimit::max(lab::MAX_ROOM_TEXT)),
        );
        for spec in CATALOG {
            router = router.route(spec.path, mount(spec));
        }
        router
            .fallback(not_found)
            .layer(axum::middleware::from_fn_with_state(
                self.state.clone(),
                at_capacity,
            ))
            .with_state(self.state.clone())
    }

    /// How many demo sockets and streams are running now.
    pub fn live(&self) -> usize {
        self.state.tasks.len()
    }

    /// Asks every running demo to stop; new connections after this end at once.
    pub fn shutdown(&self) {
        self.state.shutdown.cancel();
    }

    /// Waits until every demo socket and stream has ended (call after [`Demo::shutdown`]).
    pub async fn closed(&self) {
        self.state.tasks.close();
        self.state.tasks.wait().await;
    }
}

impl Default for Demo {
    fn default() -> Self {
        Self::new()
    }
}

/// The handler for one catalog entry. The entry rides along as an extension so the handler's
/// [`params::Params`] reads defaults and bounds from the same table `GET /demo` lists.
fn mount(spec: &'static DemoSpec) -> MethodRouter<DemoState> {
    let route = match spec.endpoint {
        Endpoint::WsEcho => get(ws::echo),
        Endpoint::WsTicker => get(ws::ticker),
        Endpoint::WsBinary => get(ws::binary),
        Endpoint::WsScripted => get(ws::scripted),
        Endpoint::WsSilent => get(ws::silent),
        Endpoint::WsChat => get(ws::chat),
        Endpoint::SseTicker => get(sse::ticker),
        Endpoint::SseFlaky => get(sse::flaky),
        Endpoint::SseHeartbeat => get(sse::heartbeat),
        Endpoint::SseRetry => get(sse::retry),
        Endpoint::SseSilent => get(sse::silent),
        Endpoint::SseChat => post(sse::chat).layer(DefaultBodyLimit::max(sse::CHAT_BODY_LIMIT)),
        Endpoint::SseBinary => get(sse::binary),
        Endpoint::WsRoom => get(lab::ws_room),
        Endpoint::WsFlaky => get(lab::ws_flaky),
        Endpoint::SseRoom => get(lab::sse_room),
    };
    route
        .fallback(move || async move { DemoError::method_not_allowed(spec) })
        .layer(Extension(spec))
}

/// Refuses a new demo request while [`MAX_STREAMS`] are running. Checked before the
/// stream starts, so requests racing each other may pass it together: a bound, not an
/// exact count.
async fn at_capacity(
    axum::extract::State(state): axum::extract::State<DemoState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if state.tasks.len() >= MAX_STREAMS {
        return DemoError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            format!("{MAX_STREAMS} demo streams are running; close one and try again"),
        )
        .into_response();
    }
    next.run(req).await
}

async fn not_found(uri: Uri) -> DemoError {
    DemoError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no demo at {PREFIX}{}; GET {PREFIX} lists them", uri.path()),
    )
}
