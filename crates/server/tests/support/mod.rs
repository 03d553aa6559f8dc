//! What the server's integration tests share: a whole server on 127.0.0.1:0 with a known
//! token, an HTTP client that speaks to `/api`, and a client for `/api/live`. Records are
//! decoded as plain JSON here, not with the engine's types, so the contract is checked
//! from outside.

// Each test file uses its own part of this module.
#![allow(dead_code)]

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use streamscope_server::{Server, ServerConfig};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, timeout};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// No test may take longer than this, whatever the server does.
pub(crate) const DEADLINE: Duration = Duration::from_secs(60);

/// How long a test waits for something that should happen in well under a second.
pub(crate) const PATIENCE: Duration = Duration::from_secs(20);

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub(crate) async fn within<F: Future>(test: F) -> F::Output {
    timeout(DEADLINE, test)
        .await
        .expect("test ran past its deadline")
}

/// A directory that holds no built UI, so `/` serves the not-built page whatever the
/// checkout holds.
/// A loopback port nothing listens on, for "connection refused": bound, then released.
/// Another process could take it in between, which on loopback within a test is unlikely;
/// assuming a fixed port (1, 9) is closed is not safe on every machine.
pub(crate) fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("its address").port()
}

pub(crate) fn no_ui_dir() -> PathBuf {
    std::env::temp_dir().join("streamscope-tests-no-ui-here")
}

/// The whole server on a free loopback port with a fresh token.
pub(crate) async fn start() -> Server {
    start_with(ServerConfig::default()).await
}

/// The whole server on a free loopback port with a fresh token and no built UI, with the
/// rest of `config` as given.
pub(crate) async fn start_with(config: ServerConfig) -> Server {
    Server::start(ServerConfig {
        port: 0,
        token: None,
        ui_dir: Some(no_ui_dir()),
        ..config
    })
    .await
    .expect("start the server on 127.0.0.1:0")
}

/// Stops a server as the app does: connections closed properly, then the listener.
pub(crate) async fn stop(server: Server) {
    server.shutdown(Duration::from_secs(3)).await;
}

/// Runs `test` against a fresh server and its control API within the deadline, then stops
/// the server as the app does. The server is shared so a test can hand it to helpers that
/// borrow it; the test must not keep it past its end.
pub(crate) async fn with_server<F, Fut>(test: F)
where
    F: FnOnce(Arc<Server>, Api) -> Fut,
    Fut: Future<Output = ()>,
{
    within(async {
        let server = Arc::new(start().await);
        let api = Api::of(&server);
        test(Arc::clone(&server), api).await;
        let server = Arc::into_inner(server).expect("the test let go of its server");
        stop(server).await;
    })
    .await;
}

/// [`with_server`] for a test that speaks only to the control API.
pub(crate) async fn with_api<F, Fut>(test: F)
where
    F: FnOnce(Api) -> Fut,
    Fut: Future<Output = ()>,
{
    with_server(|_, api| test(api)).await;
}

pub(crate) fn http() -> reqwest::Client {
    // reqwest is built without a crypto provider; plain HTTP never uses it, but building a
    // client needs one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client")
}

/// A response read to the end: status, headers and body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub(crate) async fn read(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("response body").to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("utf-8 body")
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an API error: this status, this `code`, a non-empty `message`, JSON.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, code: &str) -> String {
        let body = self.json();
        assert_eq!(
            (self.status, body["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "an error is JSON: {:?}",
            self.header("content-type")
        );
        let message = body["message"].as_str().expect("message").to_owned();
        assert!(!message.is_empty(), "{body}");
        message
    }
}

/// The control API of one server, with its token.
#[derive(Clone)]
pub(crate) struct Api {
    pub base: String,
    pub token: String,
    pub client: reqwest::Client,
}

impl Api {
    pub(crate) fn of(server: &Server) -> Api {
        Api {
            base: server.base_url(),
            token: server.token.clone(),
            client: http(),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with the token as `Authorization: Bearer`.
    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(&self.token)
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.bodiless(reqwest::Method::GET, path).await
    }

    pub(crate) async fn delete(&self, path: &str) -> Reply {
        self.bodiless(reqwest::Method::DELETE, path).await
    }

    async fn bodiless(&self, method: reqwest::Method, path: &str) -> Reply {
        let response = self.request(method.clone(), path).send().await;
        Reply::read(response.unwrap_or_else(|e| panic!("{method} {path}: {e}"))).await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> Reply {
        self.post_raw(path, serde_json::to_vec(body).expect("json"))
            .await
    }

    pub(crate) async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Reply {
        Reply::read(
            self.request(reqwest::Method::POST, path)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    pub(crate) async fn patch(&self, path: &str, body: &Value) -> Reply {
        Reply::read(
            self.request(reqwest::Method::PATCH, path)
                .header("content-type", "application/json")
                .body(serde_json::to_vec(body).expect("json"))
                .send()
                .await
                .expect("PATCH"),
        )
        .await
    }

    /// Opens a connection; panics unless the API answers 201. Returns its id.
    pub(crate) async fn open(&self, body: Value) -> String {
        let reply = self.post("/api/connections", &body).await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        let view = reply.json();
        view["id"].as_str().expect("id").to_owned()
    }

    /// Opens a WebSocket connection to a demo path of this server.
    pub(crate) async fn open_demo_ws(&self, path: &str) -> String {
        let url = format!("{}{path}", self.base.replacen("http://", "ws://", 1));
        self.open(json!({ "url": url })).await
    }

    /// Opens an SSE connection to a demo path of this server.
    pub(crate) async fn open_demo_sse(&self, path: &str, extra: Value) -> String {
        let mut body = json!({ "url": self.url(path) });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        self.open(body).await
    }

    pub(crate) async fn view(&self, id: &str) -> Value {
        let reply = self.get(&format!("/api/connections/{id}")).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()
    }

    pub(crate) async fn send(&self, id: &str, body: Value) -> Reply {
        self.post(&format!("/api/connections/{id}/send"), &body)
            .await
    }

    /// Every record of `id`, paged through `/records`.
    pub(crate) async fn records(&self, id: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut from = 1;
        loop {
            let page = self
                .get(&format!(
                    "/api/connections/{id}/records?from={from}&limit=5000"
                ))
                .await;
            assert_eq!(page.status, 200, "{}", page.text());
            let page = page.json();
            let records = page["records"].as_array().expect("records").clone();
            if records.is_empty() {
                return out;
            }
            from = page["next"].as_u64().expect("next");
            out.extend(records);
        }
    }

    /// Waits until the records of `id` satisfy `done`, and returns them.
    pub(crate) async fn wait_records(
        &self,
        id: &str,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let records = self.records(id).await;
            if done(&records) {
                return records;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "records of {id} never got there: {}",
                summary(&records)
            );
            sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the connection's `state` is `state`.
    pub(crate) async fn wait_state(&self, id: &str, state: &str) -> Value {
        let start = Instant::now();
        loop {
            let view = self.view(id).await;
            if view["state"] == state {
                return view;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "{id} never became {state}: {view}"
            );
            sleep(Duration::from_millis(20)).await;
        }
    }
}

/// One page of `/search`: matches (newest first), next, scanned.
pub(crate) async fn search(api: &Api, id: &str, query: &str) -> (Vec<u64>, Option<u64>, u64) {
    let reply = api
        .get(&format!("/api/connections/{id}/search?{query}"))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let v = reply.json();
    let matches = v["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .map(|m| m.as_u64().expect("a seq"))
        .collect();
    (
        matches,
        v["next"].as_u64(),
        v["scanned"].as_u64().expect("scanned"),
    )
}

/// `dir kind` of each record, for assertion messages.
pub(crate) fn summary(records: &[Value]) -> String {
    let shown: Vec<String> = records
        .iter()
        .take(60)
        .map(|r| format!("{}:{} {}", r["seq"], r["dir"], r["kind"]))
        .collect();
    format!("{} records: {}", records.len(), shown.join(", "))
}

/// The first record of this `dir` and `kind`.
pub(crate) fn find<'a>(records: &'a [Value], dir: &str, kind: &str) -> Option<&'a Value> {
    records
        .iter()
        .find(|r| r["dir"] == dir && r["kind"] == kind)
}

pub(crate) fn has(records: &[Value], dir: &str, kind: &str) -> bool {
    find(records, dir, kind).is_some()
}

/// Asserts that the records' seqs run 1, 2, 3 … without gaps or repeats.
#[track_caller]
pub(crate) fn assert_seqs_from_one(records: &[Value]) {
    for (i, r) in records.iter().enumerate() {
        assert_eq!(
            r["seq"].as_u64(),
            Some(i as u64 + 1),
            "{}",
            summary(records)
        );
    }
}

/// `ws://127.0.0.1:PORT/api/live?…` with the token in the query.
pub(crate) fn live_url(server: &Server, query: &str) -> String {
    let sep = if query.is_empty() { "" } else { "&" };
    format!(
        "ws://{}/api/live?token={}{sep}{query}",
        server.addr, server.token
    )
}

/// Connects to `/api/live` with extra request headers; the handshake's result as is.
pub(crate) async fn live_with(
    url: &str,
    headers: &[(&'static str, &str)],
) -> Result<Ws, tungstenite::Error> {
    let mut request = url.into_client_request().expect("request");
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(*name, HeaderValue::from_str(value).expect("header value"));
    }
    connect_async(request).await.map(|(ws, _)| ws)
}

pub(crate) async fn live(server: &Server, query: &str) -> Ws {
    live_with(&live_url(server, query), &[])
        .await
        .expect("/api/live handshake")
}

/// The next `/api/live` message, parsed; `None` when the socket closed.
pub(crate) async fn next_batch(ws: &mut Ws) -> Option<Value> {
    loop {
        match ws.next().await? {
            Ok(Message::Text(text)) => {
                let batch: Value = serde_json::from_str(text.as_str()).expect("batch is JSON");
                assert_eq!(batch["type"], "batch", "{batch}");
                return Some(batch);
            }
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(Message::Close(_)) => return None,
            Ok(other) => panic!("unexpected live message {other:?}"),
            Err(e) => panic!("live socket failed: {e}"),
        }
    }
}

/// Reads `/api/live` until `conn` has delivered records up to `seq`; returns that conn's
/// records in arrival order.
pub(crate) async fn live_until(ws: &mut Ws, conn: &str, seq: u64) -> Vec<Value> {
    let mut got = Vec::new();
    let start = Instant::now();
    while got
        .last()
        .and_then(|r: &Value| r["seq"].as_u64())
        .is_none_or(|s| s < seq)
    {
        assert!(
            start.elapsed() < PATIENCE,
            "live never delivered {conn} up to {seq}: {}",
            summary(&got)
        );
        let batch = timeout(PATIENCE, next_batch(ws))
            .await
            .expect("a batch in time")
            .expect("live socket open");
        for r in batch["records"].as_array().expect("records") {
            if r["conn"] == conn {
                got.push(r.clone());
            }
        }
    }
    got
}

/// The `sscope` to run: `$SSCOPE_BIN`, else the one beside this test's target directory
/// (`target/<profile>/deps/<test>` → `target/<profile>/sscope`).
pub(crate) fn sscope_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("SSCOPE_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test's own path");
    let profile = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("tests live in target/<profile>/deps/");
    let path = profile.join(format!("sscope{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} not found: run `cargo build -p sscope` first (same CARGO_TARGET_DIR), or set SSCOPE_BIN",
        path.display()
    );
    path
}
