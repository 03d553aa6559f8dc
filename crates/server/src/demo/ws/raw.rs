//! The WebSocket peers that misbehave on purpose: the scripted peer (ping, a fragmented
//! message, a chosen close) and the silent peer (stops reading and writing without closing).
//! axum's `WebSocket` can do neither: its `Message` has no raw frames, so it cannot fragment,
//! and reading it always answers pings. So these demos do the upgrade themselves (RFC 6455
//! §4.2) and run tokio-tungstenite on hyper's upgraded connection, which can send
//! `Message::Frame` and can also be left alone entirely.

use std::{future::Future, time::Duration};

use axum::{
    body::{Body, Bytes},
    extract::{FromRequestParts, State},
    http::{
        HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version, header, request::Parts,
    },
    response::Response,
};
use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncReadExt;
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{
        Message,
        handshake::derive_accept_key,
        protocol::{
            CloseFrame, Role, WebSocketConfig,
            frame::{
                Frame,
                coding::{CloseCode, Data, OpCode},
            },
        },
    },
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{CLOSE_GOING_AWAY, MAX_INCOMING, finish_close, websocket_required};
use crate::demo::{DemoState, error::DemoError, params::Params};

/// A WebSocket on the raw upgraded connection.
type RawSocket = WebSocketStream<TokioIo<Upgraded>>;

/// A checked WebSocket upgrade request whose connection we take over ourselves. Like
/// `Upgrade`, handlers take it as a `Result` and look at it after their parameters.
pub(in crate::demo) struct RawUpgrade {
    key: HeaderValue,
    on_upgrade: OnUpgrade,
}

impl<S: Send + Sync> FromRequestParts<S> for RawUpgrade {
    type Rejection = DemoError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, DemoError> {
        // RFC 6455 §4.2.1: an HTTP/1.1 GET with `Upgrade: websocket`, `Connection: Upgrade`,
        // `Sec-WebSocket-Version: 13` and a key.
        let headers = &parts.headers;
        let valid = parts.method == Method::GET
            && parts.version == Version::HTTP_11
            && has_token(headers, header::CONNECTION, "upgrade")
            && has_token(headers, header::UPGRADE, "websocket")
            && has_token(headers, header::SEC_WEBSOCKET_VERSION, "13");
        let key = headers.get(header::SEC_WEBSOCKET_KEY).cloned();
        match (valid, key) {
            (true, Some(key)) => {
                let on_upgrade = parts
                    .extensions
                    .remove::<OnUpgrade>()
                    .ok_or_else(websocket_required)?;
                Ok(Self { key, on_upgrade })
            }
            _ => Err(websocket_required()),
        }
    }
}

fn has_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

impl RawUpgrade {
    /// Answers 101 and runs `callback` on the upgraded connection in a task `tasks` tracks.
    fn on_upgrade<F, Fut>(self, tasks: &TaskTracker, callback: F) -> Result<Response, DemoError>
    where
        F: FnOnce(RawSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let accept = HeaderValue::try_from(derive_accept_key(self.key.as_bytes()))
            .map_err(|_| DemoError::internal("the websocket accept key is not a header value"))?;
        let on_upgrade = self.on_upgrade;
        tasks.spawn(async move {
            // An error means the client went away before the upgrade completed.
            let Ok(upgraded) = on_upgrade.await else {
                return;
            };
            let config = WebSocketConfig::default()
                .max_message_size(Some(MAX_INCOMING))
                .max_frame_size(Some(MAX_INCOMING));
            let socket = WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                Role::Server,
                Some(config),
            )
            .await;
            callback(socket).await;
        });
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        Ok(response)
    }
}

/// What the scripted peer does, from its parameters.
#[derive(Debug, Clone)]
struct Script {
    ping: Bytes,
    text: Bytes,
    fragments: usize,
    close_code: u16,
    reason: String,
    step: Duration,
}

/// `GET /demo/ws/scripted`.
pub(in crate::demo) async fn scripted(
    State(state): State<DemoState>,
    params: Params,
    upgrade: Result<RawUpgrade, DemoError>,
) -> Result<Response, DemoError> {
    let close_code = u16::try_from(params.int("code")?).unwrap_or(0);
    if !may_send_close_code(close_code) {
        return Err(DemoError::bad_param(format!(
            "`code` must be a close code an endpoint may send (1000-1003, 1007-1014, \
             3000-4999), got {close_code}"
        )));
    }
    let script = Script {
        ping: Bytes::copy_from_slice(params.text("ping")?.as_bytes()),
        text: Bytes::copy_from_slice(params.text("text")?.as_bytes()),
        fragments: usize::try_from(params.int("fragments")?).unwrap_or(1),
        close_code,
        reason: params.text("reason")?.to_owned(),
        step: Duration::from_millis(params.int("step_ms")?),
    };
    let shutdown = state.shutdown.clone();
    upgrade?.on_upgrade(&state.tasks, move |socket| {
        run_script(socket, script, shutdown)
    })
}

/// RFC 6455 §7.4: 1004-1006 and 1015 are reserved and must not be sent; 1016-2999 are for
/// future revisions of the protocol; 3000-4999 are for libraries and applications.
fn may_send_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Whether the script goes on after a step.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Go,
    Stop,
}

async fn run_script(mut socket: RawSocket, script: Script, shutdown: CancellationToken) {
    let plan = format!(
        "script: ping, then one {}-byte text message in {} fragments, then close {} \"{}\"",
        script.text.len(),
        script.fragments,
        script.close_code,
        script.reason
    );
    if send(&mut socket, Message::text(plan)).await == Flow::Stop
        || pause(&mut socket, script.step, &shutdown).await == Flow::Stop
        || send(&mut socket, Message::Ping(script.ping.clone())).await == Flow::Stop
        // The client's pong arrives (and is read) during this pause.
        || pause(&mut socket, script.step, &shutdown).await == Flow::Stop
    {
        return;
    }
    // RFC 6455 §5.4: the first frame carries the message's opcode and FIN clear, the rest
    // are continuation frames, and the last one sets FIN. Each goes out in its own write.
    let pieces = split_even(&script.text, script.fragments);
    let last = pieces.len().saturating_sub(1);
    for (i, piece) in pieces.into_iter().enumerate() {
        let opcode = if i == 0 {
            OpCode::Data(Data::Text)
        } else {
            OpCode::Data(Data::Continue)
        };
        let frame = Frame::message(piece, opcode, i == last);
        if send(&mut socket, Message::Frame(frame)).await == Flow::Stop {
            return;
        }
    }
    if pause(&mut socket, script.step, &shutdown).await == Flow::Stop {
        return;
    }
    let frame = CloseFrame {
        code: CloseCode::from(script.close_code),
        reason: script.reason.into(),
    };
    if socket.close(Some(frame)).await.is_ok() {
        finish_close(&mut socket).await;
    }
}

async fn send(socket: &mut RawSocket, message: Message) -> Flow {
    match socket.send(message).await {
        Ok(()) => Flow::Go,
        Err(_) => Flow::Stop,
    }
}

/// Waits `step` while reading what the client sends (answering its pings and noticing its
/// close); stops the script when the client leaves or the server shuts down.
async fn pause(socket: &mut RawSocket, step: Duration, shutdown: &CancellationToken) -> Flow {
    let deadline = tokio::time::sleep(step);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = &mut deadline => return Flow::Go,
            () = shutdown.cancelled() => {
                let frame = CloseFrame {
                    code: CloseCode::from(CLOSE_GOING_AWAY),
                    reason: "server shutting down".into(),
                };
                if socket.close(Some(frame)).await.is_ok() {
                    finish_close(socket).await;
                }
                return Flow::Stop;
            }
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Close(_))) => {
                    finish_close(socket).await;
                    return Flow::Stop;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Flow::Stop,
            },
        }
    }
}

/// `bytes` in `parts` pieces whose lengths differ by at most one (some empty when `bytes` is
/// shorter than `parts`, which RFC 6455 allows).
fn split_even(bytes: &Bytes, parts: usize) -> Vec<Bytes> {
    let parts = parts.max(1);
    let base = bytes.len() / parts;
    let extra = bytes.len() % parts;
    let mut start = 0;
    (0..parts)
        .map(|i| {
            let len = base + usize::from(i < extra);
            let piece = bytes.slice(start..start + len);
            start += len;
            piece
        })
        .collect()
}

/// `GET /demo/ws/silent`.
pub(in crate::demo) async fn silent(
    State(state): State<DemoState>,
    params: Params,
    upgrade: Result<RawUpgrade, DemoError>,
) -> Result<Response, DemoError> {
    let messages = params.int("messages")?;
    let hold = Duration::from_secs(params.int("hold_s")?);
    let shutdown = state.shutdown.clone();
    upgrade?.on_upgrade(&state.tasks, move |socket| {
        go_silent(socket, messages, hold, shutdown)
    })
}

async fn go_silent(
    mut socket: RawSocket,
    messages: u64,
    hold: Duration,
    shutdown: CancellationToken,
) {
    for i in 1..=messages {
        let text = format!(
            "message {i} of {messages}; after the last one this peer goes silent without closing"
        );
        if socket.send(Message::text(text)).await.is_err() {
            return;
        }
    }
    // From here on the WebSocket layer is never touched: no frame is read or written, so
    // pings go unanswered and no close frame comes. The raw bytes are still read and thrown
    // away, only to see the client leave (end of stream) instead of holding its connection
    // until `hold` runs out.
    let io = socket.get_mut();
    let mut scratch = vec![0_u8; 4096];
    let until_gone = async {
        while let Ok(n) = io.read(&mut scratch).await {
            if n == 0 {
                break;
            }
        }
    };
    tokio::select! {
        () = until_gone => {}
        () = tokio::time::sleep(hold) => {}
        () = shutdown.cancelled() => {}
    }
    // Dropping the socket drops the TCP connection, still without a close frame.
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_even_keeps_every_byte_in_order() {
        let bytes = Bytes::from_static(b"abcdefghij");
        let pieces = split_even(&bytes, 3);
        assert_eq!(pieces, vec!["abcd", "efg", "hij"]);
        assert_eq!(split_even(&bytes, 1), vec!["abcdefghij"]);
        let short = split_even(&Bytes::from_static(b"ab"), 4);
        assert_eq!(short, vec!["a", "b", "", ""]);
    }

    #[test]
    fn reserved_close_codes_are_refused() {
        for code in [1000, 1003, 1007, 1014, 3000, 4999] {
            assert!(may_send_close_code(code), "{code}");
        }
        for code in [999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
            assert!(!may_send_close_code(code), "{code}");
        }
    }
}
