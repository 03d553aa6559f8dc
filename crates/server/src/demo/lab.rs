//! The demo peers only the labs need: a named room that relays text both ways, over one
//! WebSocket or over an SSE stream plus one POST per message (the direction lab), and a
//! WebSocket feed that drops its clients every few messages while its clock runs on (the
//! reconnect lab's WebSocket side: what is sent while a client is away is gone for it).
//! Rooms and feeds are named by the client, so two lab runs never hear each other.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use axum::{
    body::Bytes,
    extract::{
        Query, State,
        ws::{Message, Utf8Bytes, WebSocket},
    },
    http::StatusCode,
    response::{IntoResponse, Response},
};
use futures_util::stream;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{DemoState, error::DemoError, feed, params::Params, sse, ws};

/// Most rooms or feeds kept at once; the oldest name is forgotten first.
const MAX_NAMES: usize = 256;
/// Messages a room member may fall behind before it misses some.
const ROOM_CAPACITY: usize = 256;
/// Longest message a room relays, in bytes.
pub(super) const MAX_ROOM_TEXT: usize = 4096;

/// The things by name, and their names oldest first.
type ByName<T> = (HashMap<String, T>, VecDeque<String>);

/// Named things, at most [`MAX_NAMES`], oldest forgotten first. Clones share them.
#[derive(Debug)]
struct Named<T> {
    inner: Arc<Mutex<ByName<T>>>,
}

impl<T> Clone for Named<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T: Clone> Named<T> {
    fn new() -> Self {
        Self {
            inner: Arc::new(Mutex::new((HashMap::new(), VecDeque::new()))),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ByName<T>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get_or(&self, name: &str, make: impl FnOnce() -> T) -> T {
        let mut guard = self.lock();
        let (map, order) = &mut *guard;
        if let Some(t) = map.get(name) {
            return t.clone();
        }
        if order.len() >= MAX_NAMES {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
        let t = make();
        map.insert(name.to_owned(), t.clone());
        order.push_back(name.to_owned());
        t
    }
}

/// The lab rooms: a broadcast channel per name.
#[derive(Debug, Clone)]
pub(crate) struct Rooms(Named<broadcast::Sender<Utf8Bytes>>);

impl Rooms {
    pub(crate) fn new() -> Self {
        Self(Named::new())
    }

    fn room(&self, name: &str) -> broadcast::Sender<Utf8Bytes> {
        self.0.get_or(name, || broadcast::channel(ROOM_CAPACITY).0)
    }
}

/// The lab feeds: when each name's clock started.
#[derive(Debug, Clone)]
pub(crate) struct Feeds(Named<Instant>);

impl Feeds {
    pub(crate) fn new() -> Self {
        Self(Named::new())
    }

    fn started(&self, name: &str) -> Instant {
        self.0.get_or(name, Instant::now)
    }
}

/// `GET /demo/ws/room`: every text message a member sends goes, unchanged, to every member
/// of the room, the sender included — over this one connection, both ways.
pub(super) async fn ws_room(
    State(state): State<DemoState>,
    params: Params,
    upgrade: Result<ws::Upgrade, DemoError>,
) -> Result<Response, DemoError> {
    let relay = state.rooms.room(&name_param(&params, "room")?);
    let DemoState {
        tasks, shutdown, ..
    } = state;
    Ok(upgrade?
        .0
        .on_upgrade(move |socket| tasks.track_future(run_member(socket, relay, shutdown))))
}

async fn run_member(
    mut socket: WebSocket,
    relay: broadcast::Sender<Utf8Bytes>,
    shutdown: CancellationToken,
) {
    let mut relayed = relay.subscribe();
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if text.len() <= MAX_ROOM_TEXT {
                        let _ = relay.send(text);
                    }
                }
                Some(Ok(Message::Close(_))) => {
                    ws::finish_close(&mut socket).await;
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
            message = relayed.recv() => match message {
                Ok(text) => {
                    if socket.send(Message::Text(text)).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
            () = shutdown.cancelled() => {
                ws::close(&mut socket, ws::CLOSE_GOING_AWAY, "server shutting down").await;
                return;
            }
        }
    }
}

/// `GET /demo/sse/room`: every message sent to the room, one `data:` event each.
pub(super) async fn sse_room(
    State(state): State<DemoState>,
    params: Params,
) -> Result<Response, DemoError> {
    let relayed = state.rooms.room(&name_param(&params, "room")?).subscribe();
    let guard = sse::Guard::new(&state);
    let start = (guard, relayed);
    let stream = stream::unfold(Some(start), |held| async move {
        let (guard, mut relayed) = held?;
        loop {
            let message = tokio::select! {
                m = relayed.recv() => m,
                () = guard.stop.cancelled() => return None,
            };
            match message {
                Ok(text) => {
                    let mut out = String::new();
                    sse::wire::event(&mut out, None, None, text.as_str());
                    return Some((Ok(Bytes::from(out)), Some((guard, relayed))));
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    // A comment first, so the client sees the stream open before anyone speaks.
    let hello = stream::once(async { Ok(Bytes::from_static(b": joined\n\n")) });
    Ok(sse::event_stream(futures_util::StreamExt::chain(
        hello, stream,
    )))
}

/// `POST /demo/sse/room/send`: the body, as text, to every member of the room; 204.
pub(super) async fn sse_room_send(
    State(state): State<DemoState>,
    Query(query): Query<RoomQuery>,
    body: Bytes,
) -> Result<Response, DemoError> {
    let relay = state.rooms.room(&checked_name("room", &query.room)?);
    let text = std::str::from_utf8(&body)
        .map_err(|_| DemoError::bad_param("the message must be UTF-8 text"))?;
    if text.len() > MAX_ROOM_TEXT {
        return Err(DemoError::bad_param(format!(
            "a room message is at most {MAX_ROOM_TEXT} bytes"
        )));
    }
    let _ = relay.send(Utf8Bytes::from(text.to_owned()));
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /demo/ws/flaky`: the feed named `feed` numbers its messages by its own clock
/// (`rate` a second since its first client came), whoever is connected. A client gets the
/// messages of the moment it is connected, `every` of them, then the connection drops
/// without a close frame. What was numbered while it was away it never gets: WebSocket has
/// no resumption of its own.
pub(super) async fn ws_flaky(
    State(state): State<DemoState>,
    params: Params,
    upgrade: Result<ws::Upgrade, DemoError>,
) -> Result<Response, DemoError> {
    let every = params.int("every")?;
    let rate = params.int("rate")?.max(1);
    let started = state.feeds.started(&name_param(&params, "feed")?);
    let DemoState {
        tasks, shutdown, ..
    } = state;
    Ok(upgrade?.0.on_upgrade(move |socket| {
        tasks.track_future(run_flaky(socket, started, rate, every, shutdown))
    }))
}

/// `?room=NAME` of a send; the catalog's rooms default to `lab` likewise.
#[derive(Debug, serde::Deserialize)]
pub(super) struct RoomQuery {
    #[serde(default = "default_room")]
    room: String,
}

fn default_room() -> String {
    "lab".into()
}

fn name_param(params: &Params, field: &str) -> Result<String, DemoError> {
    checked_name(field, params.text(field)?)
}

fn checked_name(field: &str, name: &str) -> Result<String, DemoError> {
    if !crate::wire::is_plain_name(name) {
        return Err(DemoError::bad_param(format!(
            "`{field}` may hold letters, digits, '-', '_' and '.' only"
        )));
    }
    Ok(name.to_owned())
}

async fn run_flaky(
    mut socket: WebSocket,
    started: Instant,
    rate: u64,
    every: u64,
    shutdown: CancellationToken,
) {
    let slot = Duration::from_secs(1) / u32::try_from(rate).unwrap_or(u32::MAX);
    // The next message is the next one the feed's clock numbers.
    let elapsed = started.elapsed().as_nanos();
    let first = u64::try_from(elapsed / slot.as_nanos().max(1)).unwrap_or(u64::MAX - every) + 1;
    for n in first..first.saturating_add(every) {
        let due = started + slot * u32::try_from(n.saturating_sub(1)).unwrap_or(u32::MAX);
        tokio::select! {
            () = tokio::time::sleep_until(due) => {}
            () = shutdown.cancelled() => {
                ws::close(&mut socket, ws::CLOSE_GOING_AWAY, "server shutting down").await;
                return;
            }
        }
        let text = feed::tick_json(n, SystemTime::now(), None);
        if socket.send(Message::text(text)).await.is_err() {
            return;
        }
    }
    // Dropped, not closed: the client sees the connection end with no close frame.
    drop(socket);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_gives_the_same_thing_until_it_is_forgotten() {
        let named: Named<u32> = Named::new();
        let mut made = 0;
        for i in 0..MAX_NAMES as u32 {
            named.get_or(&format!("n{i}"), || {
                made += 1;
                i
            });
        }
        assert_eq!(named.get_or("n5", || 999), 5);
        named.get_or("one more", || 0);
        assert_eq!(named.get_or("n0", || 999), 999, "the oldest was forgotten");
        assert_eq!(made, MAX_NAMES);
    }
}
