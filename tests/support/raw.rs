//! A raw TCP peer that writes scripted bytes, for SSE streams and for broken peers no
//! library would imitate (split CRLF, cut UTF-8, bad WebSocket frames, truncated bodies).
//! Connection i gets script i, so SSE reconnection is a list of scripts; it reads and logs
//! each request head first. HTTP framing of the answer is the script's: this module only
//! offers helpers to write heads and frames.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::request::{RequestHead, read_request};
use crate::tls::{self, Conn};

/// A client that neither closes nor answers within this is not worth waiting for.
const DRAIN_LIMIT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone)]
enum Step {
    Write(Vec<u8>),
    Pause(Duration),
    /// Answer a WebSocket upgrade with 101 and the right `Sec-WebSocket-Accept`.
    WsAccept(Option<String>),
    /// The same head with headers left out (names in `omit`) and others added.
    WsAcceptEdited {
        omit: Vec<String>,
        extra: Vec<(String, String)>,
    },
    /// Read the client's WebSocket frames until its close frame (at most `DRAIN_LIMIT`),
    /// so a close handshake completes before the server closes TCP, as RFC 6455 7.1.1 has it.
    AwaitClose,
    /// Keep the connection open, silent, until the server is dropped.
    Hold,
    /// End with a TCP reset instead of a clean close.
    Reset,
    /// Wait until the test opens the gate.
    Wait(Gate),
}

/// A gate a script waits at until the test opens it: the test reads what the client made
/// of the bytes before, then lets the script go on. A fixed pause instead would race: a
/// reset that comes before the client read the data makes the kernel drop that data.
#[derive(Debug, Clone)]
pub struct Gate(Arc<tokio::sync::Semaphore>);

impl Gate {
    pub fn new() -> Gate {
        Gate(Arc::new(tokio::sync::Semaphore::new(0)))
    }

    /// Lets one waiting (or the next) script step through.
    pub fn open(&self) {
        self.0.add_permits(1);
    }

    async fn pass(&self) {
        if let Ok(permit) = self.0.acquire().await {
            permit.forget();
        }
    }
}

impl Default for Gate {
    fn default() -> Self {
        Gate::new()
    }
}

/// What the peer does on one connection, after reading the request. At the end of the
/// steps it closes cleanly (FIN), unless the script ends with `hold` or `reset`.
#[derive(Debug, Clone, Default)]
pub struct Script {
    steps: Vec<Step>,
}

impl Script {
    pub fn new() -> Script {
        Script::default()
    }

    /// An SSE answer: the usual 200 head, then `body`, then a clean close.
    pub fn sse(body: impl AsRef<[u8]>) -> Script {
        Script::new().write(sse_head(&[])).write(body)
    }

    /// A complete non-streaming answer with `Content-Length` and `Connection: close`.
    pub fn respond(status_line: &str, headers: &[(&str, &str)], body: &str) -> Script {
        let mut head = format!("HTTP/1.1 {status_line}\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ));
        Script::new().write(head).write(body)
    }

    /// A complete `text/plain` answer: what a server that is not an event stream (or
    /// not a WebSocket endpoint) sends instead.
    pub fn text(status_line: &str, body: &str) -> Script {
        Script::respond(status_line, &[("Content-Type", "text/plain")], body)
    }

    /// `204 No Content`: an SSE server's "stop reconnecting".
    pub fn no_content() -> Script {
        Script::new().write("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
    }

    /// A redirect to `location`.
    pub fn redirect(status_line: &str, location: &str) -> Script {
        Script::respond(status_line, &[("Location", location)], "")
    }

    /// Write bytes (flushed at once: a following `pause` makes them a separate TCP read).
    pub fn write(mut self, bytes: impl AsRef<[u8]>) -> Script {
        self.steps.push(Step::Write(bytes.as_ref().to_vec()));
        self
    }

    pub fn pause_ms(mut self, ms: u64) -> Script {
        self.steps.push(Step::Pause(Duration::from_millis(ms)));
        self
    }

    /// Write each piece separately with a pause between: forces split reads.
    pub fn trickle<I, B>(mut self, pieces: I, ms: u64) -> Script
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        for piece in pieces {
            self = self.write(piece).pause_ms(ms);
        }
        self
    }

    /// Complete a WebSocket handshake (optionally selecting a subprotocol) so the rest of the
    /// script can write hand-made frames.
    pub fn ws_accept(mut self, subprotocol: Option<&str>) -> Script {
        self.steps
            .push(Step::WsAccept(subprotocol.map(str::to_string)));
        self
    }

    /// A 101 answer as [`Script::ws_accept`] writes it, but without the headers named in
    /// `omit` (case-insensitive) and with `extra` added: a broken handshake answer.
    pub fn ws_accept_edited(mut self, omit: &[&str], extra: &[(&str, &str)]) -> Script {
        self.steps.push(Step::WsAcceptEdited {
            omit: omit.iter().map(|n| n.to_ascii_lowercase()).collect(),
            extra: extra
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        });
        self
    }

    pub fn await_close(mut self) -> Script {
        self.steps.push(Step::AwaitClose);
        self
    }

    pub fn hold(mut self) -> Script {
        self.steps.push(Step::Hold);
        self
    }

    pub fn reset(mut self) -> Script {
        self.steps.push(Step::Reset);
        self
    }

    /// Waits at `gate` until the test opens it.
    pub fn wait(mut self, gate: &Gate) -> Script {
        self.steps.push(Step::Wait(gate.clone()));
        self
    }
}

/// The head of a streaming SSE answer: 200, `text/event-stream`, body delimited by close.
pub fn sse_head(extra: &[(&str, &str)]) -> String {
    let mut head = String::from(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n",
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// The head of a chunked SSE answer; write the body with [`chunk`]. Cutting the body
/// before the final `0` chunk is a transport break, not a clean end.
pub fn sse_chunked_head() -> String {
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        .to_string()
}

/// One HTTP/1.1 chunk.
pub fn chunk(data: impl AsRef<[u8]>) -> Vec<u8> {
    let data = data.as_ref();
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// One unmasked (server-to-client) WebSocket frame. `opcode`: 0 continuation, 1 text,
/// 2 binary, 8 close, 9 ping, 10 pong.
pub fn ws_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | (opcode & 0x0f)];
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= 0xffff => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

#[derive(Default)]
struct Log {
    connections: usize,
    requests: Vec<RequestHead>,
}

/// The running peer; dropping it stops the listener and every connection.
/// Connections beyond the scripts get `204 No Content`, which ends an SSE client's
/// reconnection and refuses a WebSocket upgrade, so a runaway client cannot loop.
pub struct RawServer {
    port: u16,
    tls: bool,
    log: Arc<Mutex<Log>>,
    task: JoinHandle<()>,
}

impl RawServer {
    pub async fn start(scripts: Vec<Script>) -> RawServer {
        RawServer::start_inner(scripts, false).await
    }

    /// The same over TLS with the fixture certificate (`https://`, `wss://`).
    pub async fn start_tls(scripts: Vec<Script>) -> RawServer {
        RawServer::start_inner(scripts, true).await
    }

    async fn start_inner(scripts: Vec<Script>, tls: bool) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding a loopback port");
        let port = listener
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        let log = Arc::new(Mutex::new(Log::default()));
        let acceptor = tls.then(tls::acceptor);
        let task = tokio::spawn(accept_loop(listener, acceptor, scripts, log.clone()));
        RawServer {
            port,
            tls,
            log,
            task,
        }
    }

    /// `http://127.0.0.1:PORT{path}` (or `https://`).
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    /// `ws://127.0.0.1:PORT{path}` (or `wss://`).
    pub fn ws_url(&self, path: &str) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        lock(&self.log).connections
    }

    /// Requests received so far, one per connection that sent one.
    pub fn requests(&self) -> Vec<RequestHead> {
        lock(&self.log).requests.clone()
    }

    /// The single request; panics unless exactly one came.
    pub fn request(&self) -> RequestHead {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "expected one request, got {requests:?}");
        requests.into_iter().next().expect("one request")
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection.
        self.task.abort();
    }
}

fn lock(log: &Mutex<Log>) -> MutexGuard<'_, Log> {
    log.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    scripts: Vec<Script>,
    log: Arc<Mutex<Log>>,
) {
    let mut scripts = scripts.into_iter();
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                lock(&log).connections += 1;
                let script = scripts.next().unwrap_or_else(Script::no_content);
                let (acceptor, log) = (acceptor.clone(), log.clone());
                conns.spawn(async move {
                    let Some(conn) = Conn::accept(tcp, acceptor.as_ref()).await else { return };
                    serve(conn, script, &log).await;
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn serve(mut conn: Conn, script: Script, log: &Mutex<Log>) {
    let Some(request) = read_request(&mut conn).await else {
        return;
    };
    lock(log).requests.push(request.clone());
    for step in script.steps {
        match step {
            Step::Write(bytes) => {
                if conn.write_all(&bytes).await.is_err() || conn.flush().await.is_err() {
                    return;
                }
            }
            Step::Pause(d) => tokio::time::sleep(d).await,
            Step::WsAccept(subprotocol) => {
                let extra: Vec<(String, String)> = subprotocol
                    .map(|p| ("Sec-WebSocket-Protocol".to_string(), p))
                    .into_iter()
                    .collect();
                if !write_accept(&mut conn, &request, &[], &extra).await {
                    return;
                }
            }
            Step::WsAcceptEdited { omit, extra } => {
                if !write_accept(&mut conn, &request, &omit, &extra).await {
                    return;
                }
            }
            Step::AwaitClose => {
                let _ = tokio::time::timeout(DRAIN_LIMIT, read_until_close_frame(&mut conn)).await;
            }
            Step::Hold => std::future::pending().await,
            Step::Wait(gate) => gate.pass().await,
            Step::Reset => {
                let _ = conn.tcp().set_zero_linger();
                return;
            }
        }
    }
    // FIN, then read until the client closes too: closing with unread input would send a
    // reset, and the client would see a broken transport instead of a clean end.
    let _ = conn.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(DRAIN_LIMIT, async {
        while let Ok(n) = conn.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// Writes a 101 answer to `request`: the usual headers minus `omit` (lower-case names),
/// plus `extra`. False when the request had no key or the write failed.
async fn write_accept(
    conn: &mut Conn,
    request: &RequestHead,
    omit: &[String],
    extra: &[(String, String)],
) -> bool {
    let Some(key) = request.header("sec-websocket-key") else {
        return false;
    };
    let accept = derive_accept_key(key.trim().as_bytes());
    let ours = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept.as_str()),
    ];
    let mut head = String::from("HTTP/1.1 101 Switching Protocols\r\n");
    for (name, value) in ours {
        if !omit.contains(&name.to_ascii_lowercase()) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes()).await.is_ok() && conn.flush().await.is_ok()
}

/// Reads masked client frames until one with the close opcode, or EOF.
async fn read_until_close_frame(conn: &mut Conn) {
    loop {
        let mut head = [0u8; 2];
        if conn.read_exact(&mut head).await.is_err() {
            return;
        }
        let opcode = head[0] & 0x0f;
        let len = match head[1] & 0x7f {
            126 => {
                let mut ext = [0u8; 2];
                if conn.read_exact(&mut ext).await.is_err() {
                    return;
                }
                u64::from(u16::from_be_bytes(ext))
            }
            127 => {
                let mut ext = [0u8; 8];
                if conn.read_exact(&mut ext).await.is_err() {
                    return;
                }
                u64::from_be_bytes(ext)
            }
            n => u64::from(n),
        };
        let mask_len = if head[1] & 0x80 != 0 { 4 } else { 0 };
        let mut skip = (&mut *conn).take(len + mask_len);
        if tokio::io::copy(&mut skip, &mut tokio::io::sink())
            .await
            .is_err()
        {
            return;
        }
        if opcode == 8 {
            return;
        }
    }
}
