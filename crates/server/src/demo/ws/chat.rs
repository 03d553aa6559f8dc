//! The chat room demo: every text message a client sends is relayed, as JSON with its sender
//! and send time, to every connected client (the sender included) through one broadcast
//! channel. A client that falls behind is told how many messages it missed.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::SystemTime,
};

use axum::{
    extract::{
        State,
        ws::{Message, Utf8Bytes, WebSocket},
    },
    response::Response,
};
use serde_json::json;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use super::{CLOSE_GOING_AWAY, Upgrade, close, finish_close};
use crate::demo::{DemoState, error::DemoError, feed, params::Params};

/// How many relayed messages a client may fall behind before it is told it lagged: room for
/// a burst of chat, little memory for a client that stopped reading.
const ROOM_CAPACITY: usize = 256;
/// Longest chat message relayed, in bytes; longer ones are refused with a notice.
const MAX_CHAT_TEXT: usize = 4096;

/// The one room every `/demo/ws/chat` client joins.
#[derive(Clone, Debug)]
pub(crate) struct Room {
    relay: broadcast::Sender<Utf8Bytes>,
    next_guest: Arc<AtomicU64>,
}

impl Default for Room {
    fn default() -> Self {
        Self::new()
    }
}

impl Room {
    pub(crate) fn new() -> Self {
        let (relay, _) = broadcast::channel(ROOM_CAPACITY);
        Self {
            relay,
            next_guest: Arc::new(AtomicU64::new(1)),
        }
    }

    /// Relays `event` to everyone in the room. Nobody listening is fine: the room is empty.
    fn announce(&self, event: serde_json::Value) {
        let _ = self.relay.send(Utf8Bytes::from(event.to_string()));
    }
}

/// `GET /demo/ws/chat`.
pub(in crate::demo) async fn chat(
    State(state): State<DemoState>,
    params: Params,
    upgrade: Result<Upgrade, DemoError>,
) -> Result<Response, DemoError> {
    let name = match params.opt_text("name") {
        Some(name) => valid_name(name)?.to_owned(),
        None => format!(
            "guest-{}",
            state.room.next_guest.fetch_add(1, Ordering::Relaxed)
        ),
    };
    let DemoState {
        room,
        tasks,
        shutdown,
        ..
    } = state;
    Ok(upgrade?
        .0
        .on_upgrade(move |socket| tasks.track_future(run_member(socket, room, name, shutdown))))
}

fn valid_name(name: &str) -> Result<&str, DemoError> {
    let name = name.trim();
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.');
    if name.is_empty() || !name.chars().all(allowed) {
        return Err(DemoError::bad_param(
            "`name` may hold letters, digits, space, '-', '_' and '.' only",
        ));
    }
    Ok(name)
}

async fn run_member(mut socket: WebSocket, room: Room, name: String, shutdown: CancellationToken) {
    let mut relayed = room.relay.subscribe();
    let welcome = json!({ "type": "welcome", "you": name, "online": room.relay.receiver_count() });
    if socket
        .send(Message::text(welcome.to_string()))
        .await
        .is_err()
    {
        return;
    }
    room.announce(json!({ "type": "join", "who": name, "online": room.relay.receiver_count() }));
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if text.len() > MAX_CHAT_TEXT {
                        let notice = json!({
                            "type": "error",
                            "message": format!("chat messages are at most {MAX_CHAT_TEXT} bytes; this one was {}", text.len()),
                        });
                        if socket.send(Message::text(notice.to_string())).await.is_err() {
                            break;
                        }
                        continue;
                    }
                    room.announce(json!({
                        "type": "message",
                        "from": name,
                        "text": text.as_str(),
                        "sent_at": feed::rfc3339_micros(SystemTime::now()),
                    }));
                }
                Some(Ok(Message::Binary(_))) => {
                    let notice = json!({ "type": "error", "message": "the chat room relays text messages only" });
                    if socket.send(Message::text(notice.to_string())).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) => {
                    finish_close(&mut socket).await;
                    break;
                }
                Some(Err(_)) | None => break,
            },
            relay = relayed.recv() => {
                let text = match relay {
                    Ok(text) => text,
                    Err(RecvError::Lagged(missed)) => {
                        Utf8Bytes::from(json!({ "type": "lagged", "missed": missed }).to_string())
                    }
                    Err(RecvError::Closed) => break,
                };
                if socket.send(Message::Text(text)).await.is_err() {
                    break;
                }
            }
            () = shutdown.cancelled() => {
                close(&mut socket, CLOSE_GOING_AWAY, "server shutting down").await;
                break;
            }
        }
    }
    // Leave before announcing it, so the count is right.
    drop(relayed);
    room.announce(json!({ "type": "leave", "who": name, "online": room.relay.receiver_count() }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_plain_words() {
        assert_eq!(valid_name(" ada "), Ok("ada"));
        assert_eq!(valid_name("Ada L. 2"), Ok("Ada L. 2"));
        assert!(valid_name("<script>").is_err());
        assert!(valid_name("  ").is_err());
    }
}
