//! The WebSocket demos that behave: echo, the ticker and binary feeds, and the chat room
//! ([`chat`]), all on axum's `WebSocket`. The peers that misbehave on purpose (scripted
//! fragments, a silent peer) need the raw connection and live in [`raw`]. Every socket runs in
//! a tracked task, notices the client leaving, and closes with 1001 on shutdown.

use std::time::{Duration, SystemTime};

use axum::{
    extract::{
        FromRequestParts, State,
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
    },
    http::{StatusCode, request::Parts},
    response::Response,
};
use futures_util::{SinkExt, Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use super::{
    DemoState,
    error::DemoError,
    feed::{self, MAX_SIZE, Pacer, Shape},
    params::Params,
};

mod chat;
mod raw;

pub(super) use chat::{Room, chat};
pub(super) use raw::{scripted, silent};

/// Largest message or frame a demo accepts from a client: as large as any demo sends, so
/// echo can return it, and small enough that a client cannot make the app buffer much.
const MAX_INCOMING: usize = MAX_SIZE as usize;
/// How long a closing handshake may take before the connection is dropped anyway.
const CLOSE_DEADLINE: Duration = Duration::from_secs(2);

const CLOSE_NORMAL: u16 = 1000;
pub(super) const CLOSE_GOING_AWAY: u16 = 1001;

/// axum's upgrade with our limits, refusing plain HTTP requests with a JSON error.
///
/// Handlers that check parameters of their own take it as `Result<Upgrade, DemoError>` and
/// look at it last, so a bad parameter gets its 400 whether or not the request is a handshake.
pub(super) struct Upgrade(pub(super) WebSocketUpgrade);

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = DemoError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, DemoError> {
        let upgrade = WebSocketUpgrade::from_request_parts(parts, state)
            .await
            .map_err(|_| websocket_required())?;
        Ok(Self(
            upgrade
                .max_message_size(MAX_INCOMING)
                .max_frame_size(MAX_INCOMING),
        ))
    }
}

/// The answer to a plain HTTP request on a WebSocket demo.
fn websocket_required() -> DemoError {
    DemoError::new(
        StatusCode::UPGRADE_REQUIRED,
        "websocket_required",
        "this demo speaks WebSocket: connect with a WebSocket client (ws://…), \
         not a plain HTTP request",
    )
}

/// `GET /demo/ws/echo`: sends back every text and binary message, and agrees to the first
/// subprotocol the client offers, so a client that insists on one can still connect.
pub(super) async fn echo(
    State(state): State<DemoState>,
    _params: Params,
    Upgrade(mut upgrade): Upgrade,
) -> Response {
    let first = upgrade.requested_protocols().next().cloned();
    if let Some(first) = first {
        upgrade.set_selected_protocol(first);
    }
    let DemoState {
        tasks, shutdown, ..
    } = state;
    upgrade.on_upgrade(move |socket| tasks.track_future(run_echo(socket, shutdown)))
}

async fn run_echo(mut socket: WebSocket, shutdown: CancellationToken) {
    loop {
        let incoming = tokio::select! {
            incoming = socket.recv() => incoming,
            () = shutdown.cancelled() => {
                close(&mut socket, CLOSE_GOING_AWAY, "server shutting down").await;
                return;
            }
        };
        let reply = match incoming {
            Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => message,
            // tungstenite answers pings itself.
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) => {
                finish_close(&mut socket).await;
                return;
            }
            Some(Err(_)) | None => return,
        };
        if socket.send(reply).await.is_err() {
            return;
        }
    }
}

/// `GET /demo/ws/ticker`: the shared ticker feed as JSON text messages.
pub(super) async fn ticker(
    State(state): State<DemoState>,
    params: Params,
    upgrade: Result<Upgrade, DemoError>,
) -> Result<Response, DemoError> {
    let shape = Shape::from_params(&params, 100)?;
    let render = move |n| Message::text(feed::tick_json(n, SystemTime::now(), shape.size));
    Ok(start_feed(state, upgrade?.0, shape, render))
}

/// `GET /demo/ws/binary`: the shared binary feed, one binary message per item.
pub(super) async fn binary(
    State(state): State<DemoState>,
    params: Params,
    upgrade: Result<Upgrade, DemoError>,
) -> Result<Response, DemoError> {
    let shape = Shape::from_params(&params, 100)?;
    let size = usize::try_from(params.int("size")?).unwrap_or(usize::MAX);
    let render = move |n| Message::Binary(feed::binary_payload(n, SystemTime::now(), size));
    Ok(start_feed(state, upgrade?.0, shape, render))
}

fn start_feed<R>(state: DemoState, upgrade: WebSocketUpgrade, shape: Shape, render: R) -> Response
where
    R: Fn(u64) -> Message + Send + Sync + 'static,
{
    let DemoState {
        tasks, shutdown, ..
    } = state;
    upgrade.on_upgrade(move |socket| tasks.track_future(run_feed(socket, shape, shutdown, render)))
}

/// Sends `render(1)`, `render(2)`, … at the shape's rate, in bursts flushed once each, and
/// closes with 1000 after `count`. What the client sends is read (so pings are answered and a
/// close is noticed) and otherwise ignored.
async fn run_feed<R>(mut socket: WebSocket, shape: Shape, shutdown: CancellationToken, render: R)
where
    R: Fn(u64) -> Message + Sync,
{
    let mut pacer = Pacer::new(shape.rate, shape.count);
    let mut next = 1_u64;
    loop {
        tokio::select! {
            burst = pacer.next_burst() => {
                let Some(burst) = burst else {
                    close(&mut socket, CLOSE_NORMAL, "count reached").await;
                    return;
                };
                // A client that stops reading blocks the send; shutdown must still get through.
                let sent = tokio::select! {
                    sent = send_burst(&mut socket, &mut next, burst, &render) => sent,
                    () = shutdown.cancelled() => return,
                };
                if sent.is_err() {
                    return;
                }
            }
            incoming = socket.recv() => {
                if client_left(&mut socket, incoming).await {
                    return;
                }
            }
            () = shutdown.cancelled() => {
                close(&mut socket, CLOSE_GOING_AWAY, "server shutting down").await;
                return;
            }
        }
    }
}

async fn send_burst<R>(
    socket: &mut WebSocket,
    next: &mut u64,
    burst: u64,
    render: &R,
) -> Result<(), axum::Error>
where
    R: Fn(u64) -> Message + Sync,
{
    for _ in 0..burst {
        socket.feed(render(*next)).await?;
        *next += 1;
    }
    socket.flush().await
}

/// For a demo that only sends: whether the client's latest frame means it is gone. A close
/// frame is answered before saying so.
async fn client_left(
    socket: &mut WebSocket,
    incoming: Option<Result<Message, axum::Error>>,
) -> bool {
    match incoming {
        Some(Ok(Message::Close(_))) => {
            finish_close(socket).await;
            true
        }
        Some(Ok(_)) => false,
        Some(Err(_)) | None => true,
    }
}

/// Starts the closing handshake and waits (briefly) for the client's answer.
pub(super) async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if socket.send(Message::Close(Some(frame))).await.is_ok() {
        finish_close(socket).await;
    }
}

/// Reads until the connection reports closed, at most [`CLOSE_DEADLINE`]. After the peer's
/// close frame this is what sends tungstenite's queued reply; after ours it waits for the
/// peer's.
pub(super) async fn finish_close<S, T, E>(socket: &mut S)
where
    S: Stream<Item = Result<T, E>> + Unpin,
{
    let drained = async { while let Some(Ok(_)) = socket.next().await {} };
    // Past the deadline the connection is simply dropped.
    let _ = tokio::time::timeout(CLOSE_DEADLINE, drained).await;
}
