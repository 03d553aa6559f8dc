//! A scripted WebSocket peer on tokio-tungstenite: it accepts every connection with the
//! same handshake rules and script, and logs what it saw (request heads, received frames)
//! for tests to assert. Byte-level misbehaviour that tungstenite would refuse to produce
//! (bad UTF-8, fragments) is `raw.rs`'s job.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Message, http};

use crate::request::RequestHead;
use crate::tls::{self, Conn};

/// One thing the peer does, in order. After the last step the peer keeps reading (and so
/// answers pings and a close) until the client goes away, unless a step ended the connection.
#[derive(Debug, Clone)]
pub enum WsStep {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    /// Send a close frame (`None`: no payload at all), then read until the client answers.
    Close(Option<(u16, String)>),
    /// Read until this many text/binary messages arrived (pings are answered meanwhile).
    Recv(usize),
    /// Echo every text/binary message until the client closes.
    Echo,
    Pause(Duration),
    /// Drop the TCP connection without a close frame (the client sees 1006).
    DropTcp,
    /// Stop reading and writing but keep the socket open: a dead peer that answers no ping.
    Silent,
}

/// What the peer received, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// A close frame; `None` when it had no payload.
    Close(Option<(u16, String)>),
}

/// How the peer answers the opening handshake.
#[derive(Debug, Clone, Default)]
pub struct Handshake {
    subprotocol: Option<String>,
    force_subprotocol: bool,
    headers: Vec<(String, String)>,
    reject: Option<(u16, String)>,
    tls: bool,
}

impl Handshake {
    /// Select `p` when the client offers it (and none otherwise).
    pub fn subprotocol(mut self, p: &str) -> Self {
        self.subprotocol = Some(p.to_string());
        self
    }

    /// Answer with subprotocol `p` even when the client did not offer it (a broken server).
    pub fn force_subprotocol(mut self, p: &str) -> Self {
        self.subprotocol = Some(p.to_string());
        self.force_subprotocol = true;
        self
    }

    /// Add a response header (to the 101, or to the rejection).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Refuse the upgrade with this status and body.
    pub fn reject(mut self, status: u16, body: &str) -> Self {
        self.reject = Some((status, body.to_string()));
        self
    }

    /// Serve `wss://` with the fixture certificate.
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }
}

#[derive(Default)]
struct Log {
    connections: usize,
    requests: Vec<RequestHead>,
    received: Vec<Received>,
}

/// The running peer; dropping it stops the listener and every connection.
pub struct WsServer {
    port: u16,
    tls: bool,
    log: Arc<Mutex<Log>>,
    task: JoinHandle<()>,
}

impl WsServer {
    pub async fn start(script: Vec<WsStep>) -> WsServer {
        WsServer::start_with(Handshake::default(), script).await
    }

    pub async fn start_with(handshake: Handshake, script: Vec<WsStep>) -> WsServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding a loopback port");
        let port = listener
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        let log = Arc::new(Mutex::new(Log::default()));
        let acceptor = handshake.tls.then(tls::acceptor);
        let tls = handshake.tls;
        let task = tokio::spawn(accept_loop(
            listener,
            acceptor,
            handshake,
            Arc::new(script),
            log.clone(),
        ));
        WsServer {
            port,
            tls,
            log,
            task,
        }
    }

    /// `ws://127.0.0.1:PORT{path}` (or `wss://`).
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        lock(&self.log).connections
    }

    /// Handshake requests received so far.
    pub fn requests(&self) -> Vec<RequestHead> {
        lock(&self.log).requests.clone()
    }

    /// The single handshake request; panics unless exactly one came.
    pub fn request(&self) -> RequestHead {
        let requests = self.requests();
        assert_eq!(
            requests.len(),
            1,
            "expected one handshake request, got {requests:?}"
        );
        requests.into_iter().next().expect("one request")
    }

    /// Frames received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.log).received.clone()
    }
}

impl Drop for WsServer {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection.
        self.task.abort();
    }
}

fn lock(log: &Mutex<Log>) -> MutexGuard<'_, Log> {
    // A panic elsewhere in a test must not hide what the peer saw.
    log.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    handshake: Handshake,
    script: Arc<Vec<WsStep>>,
    log: Arc<Mutex<Log>>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                lock(&log).connections += 1;
                let (acceptor, handshake, script, log) =
                    (acceptor.clone(), handshake.clone(), script.clone(), log.clone());
                conns.spawn(async move {
                    let Some(conn) = Conn::accept(tcp, acceptor.as_ref()).await else { return };
                    serve(conn, handshake, &script, &log).await;
                });
            }
            // Reap finished connections so the set does not grow.
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

// tungstenite's callback signature fixes the error type; its size is not ours to choose.
#[allow(clippy::result_large_err)]
async fn serve(conn: Conn, handshake: Handshake, script: &[WsStep], log: &Arc<Mutex<Log>>) {
    let log_in_callback = log.clone();
    let callback =
        move |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
            lock(&log_in_callback).requests.push(head_of(request));
            answer(&handshake, request, response)
        };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(conn, callback).await else {
        return;
    };
    for step in script {
        let go_on = match step {
            WsStep::Text(text) => ws.send(Message::text(text.clone())).await.is_ok(),
            WsStep::Binary(bytes) => ws.send(Message::binary(bytes.clone())).await.is_ok(),
            WsStep::Ping(bytes) => ws.send(Message::Ping(bytes.clone().into())).await.is_ok(),
            WsStep::Close(frame) => {
                let frame = frame.as_ref().map(|(code, reason)| CloseFrame {
                    code: CloseCode::from(*code),
                    reason: reason.clone().into(),
                });
                if ws.close(frame).await.is_ok() {
                    read_until_closed(&mut ws, log, false).await;
                }
                false
            }
            WsStep::Recv(n) => recv(&mut ws, log, *n).await,
            WsStep::Echo => {
                read_until_closed(&mut ws, log, true).await;
                false
            }
            WsStep::Pause(d) => {
                tokio::time::sleep(*d).await;
                true
            }
            WsStep::DropTcp => return,
            WsStep::Silent => std::future::pending().await,
        };
        if !go_on {
            return;
        }
    }
    read_until_closed(&mut ws, log, false).await;
}

/// The response to the opening handshake, per `Handshake`.
#[allow(clippy::result_large_err)]
fn answer(
    handshake: &Handshake,
    request: &Request,
    mut response: Response,
) -> Result<Response, ErrorResponse> {
    if let Some((status, body)) = &handshake.reject {
        let mut refusal = http::Response::new(Some(body.clone()));
        *refusal.status_mut() = StatusCode::from_u16(*status).expect("a valid test status");
        add_headers(refusal.headers_mut(), &handshake.headers);
        return Err(refusal);
    }
    add_headers(response.headers_mut(), &handshake.headers);
    if let Some(p) = &handshake.subprotocol {
        let offered = request
            .headers()
            .get_all("sec-websocket-protocol")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|o| o.trim() == p);
        if offered || handshake.force_subprotocol {
            let value = HeaderValue::from_str(p).expect("a valid test subprotocol");
            response
                .headers_mut()
                .insert("sec-websocket-protocol", value);
        }
    }
    Ok(response)
}

fn add_headers(map: &mut http::HeaderMap, headers: &[(String, String)]) {
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("a valid test header name");
        let value = HeaderValue::from_str(value).expect("a valid test header value");
        // append, not insert: a test may send a header twice on purpose.
        map.append(name, value);
    }
}

fn head_of(request: &Request) -> RequestHead {
    RequestHead {
        method: request.method().to_string(),
        target: request.uri().to_string(),
        headers: request
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: Vec::new(),
    }
}

/// Logs one frame; true when it was a text or binary message.
fn note(log: &Mutex<Log>, message: &Message) -> bool {
    let received = match message {
        Message::Text(t) => Received::Text(t.to_string()),
        Message::Binary(b) => Received::Binary(b.to_vec()),
        Message::Ping(b) => Received::Ping(b.to_vec()),
        Message::Pong(b) => Received::Pong(b.to_vec()),
        Message::Close(frame) => Received::Close(
            frame
                .as_ref()
                .map(|f| (u16::from(f.code), f.reason.to_string())),
        ),
        Message::Frame(_) => return false,
    };
    let data = matches!(received, Received::Text(_) | Received::Binary(_));
    lock(log).received.push(received);
    data
}

/// Reads until `n` data messages arrived; false when the connection ended first.
async fn recv(ws: &mut WebSocketStream<Conn>, log: &Mutex<Log>, n: usize) -> bool {
    let mut got = 0;
    while got < n {
        match ws.next().await {
            Some(Ok(message)) => {
                if matches!(message, Message::Close(_)) {
                    note(log, &message);
                    // Let tungstenite send its close reply before giving up.
                    while let Some(Ok(m)) = ws.next().await {
                        note(log, &m);
                    }
                    return false;
                }
                if note(log, &message) {
                    got += 1;
                }
            }
            _ => return false,
        }
    }
    true
}

/// Reads (echoing data messages when asked) until the stream ends; tungstenite answers
/// pings and the client's close by itself while we keep polling.
async fn read_until_closed(ws: &mut WebSocketStream<Conn>, log: &Mutex<Log>, echo: bool) {
    while let Some(Ok(message)) = ws.next().await {
        let data = note(log, &message);
        if echo && data && ws.send(message).await.is_err() {
            return;
        }
    }
}
