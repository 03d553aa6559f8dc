//! The demo endpoints over real loopback sockets: each test serves the demo router on
//! 127.0.0.1:0 and talks to it with tokio-tungstenite, reqwest or raw TCP, and checks that the
//! endpoint does what its description in `GET /demo` promises. Every test has a deadline.

use std::{
    collections::BTreeSet,
    future::Future,
    net::SocketAddr,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use streamscope_server::demo::Demo;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
    time::timeout,
};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{self, Message, protocol::frame::coding::CloseCode},
};

/// No test may take longer than this, whatever the server does.
const DEADLINE: Duration = Duration::from_secs(30);

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The demo router on a loopback port; stops serving when dropped.
struct Server {
    addr: SocketAddr,
    demo: Demo,
    task: JoinHandle<()>,
}

impl Server {
    async fn start() -> Self {
        let demo = Demo::new();
        let app = streamscope_server::demo_app(&demo);
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, demo, task }
    }

    fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn ws(&self, path: &str) -> Ws {
        let (ws, response) = connect_async(self.ws_url(path))
            .await
            .expect("websocket handshake");
        assert_eq!(response.status(), 101);
        ws
    }

    /// Waits until exactly `n` demo sockets and streams are running.
    async fn wait_live(&self, n: usize) {
        while self.demo.live() != n {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.demo.shutdown();
        self.task.abort();
    }
}

async fn within<F: Future>(test: F) -> F::Output {
    timeout(DEADLINE, test)
        .await
        .expect("test ran past its deadline")
}

fn http() -> reqwest::Client {
    // reqwest is built without a crypto provider; plain HTTP never uses it, but building a
    // client needs one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client")
}

fn now_us() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(since.as_micros()).expect("fits")
}

/// The next data message, skipping control frames.
async fn next_data(ws: &mut Ws) -> Message {
    loop {
        match ws.next().await {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(message)) => return message,
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

async fn next_json(ws: &mut Ws) -> Value {
    match next_data(ws).await {
        Message::Text(text) => serde_json::from_str(text.as_str()).expect("json text message"),
        other => panic!("expected a text message, got {other:?}"),
    }
}

fn assert_send_time(v: &Value, before_us: i64) {
    let sent_at_us = v["sent_at_us"].as_i64().expect("sent_at_us");
    assert!(
        sent_at_us >= before_us - 1_000_000 && sent_at_us <= now_us() + 1_000_000,
        "sent_at_us {sent_at_us} is not around now"
    );
    let sent_at = v["sent_at"].as_str().expect("sent_at");
    // RFC 3339 UTC with microseconds: 2023-11-14T22:13:20.123456Z
    assert_eq!(sent_at.len(), 27, "{sent_at}");
    assert!(
        sent_at.ends_with('Z') && &sent_at[19..20] == ".",
        "{sent_at}"
    );
}

/// One block of an event stream, as a test-local parser sees it.
#[derive(Debug, Default, Clone, PartialEq)]
struct Block {
    event: Option<String>,
    id: Option<String>,
    retry: Option<String>,
    data: Vec<String>,
    comments: Vec<String>,
}

impl Block {
    fn data(&self) -> String {
        self.data.join("\n")
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.data()).expect("json data")
    }
}

/// How an event stream ended.
#[derive(Debug, PartialEq)]
enum End {
    Clean,
    Broken,
}

/// Reads an SSE response block by block (the demos end lines with LF only).
struct SseReader {
    response: reqwest::Response,
    buf: Vec<u8>,
}

impl SseReader {
    fn new(response: reqwest::Response) -> Self {
        assert_eq!(response.status(), 200);
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(header("content-type").as_deref(), Some("text/event-stream"));
        assert_eq!(header("cache-control").as_deref(), Some("no-store"));
        Self {
            response,
            buf: Vec::new(),
        }
    }

    async fn next(&mut self) -> Result<Block, End> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let raw: Vec<u8> = self.buf.drain(..i + 2).collect();
                let text = String::from_utf8(raw).expect("utf-8 event stream");
                return Ok(parse_block(&text[..i]));
            }
            match self.response.chunk().await {
                Ok(Some(chunk)) => self.buf.extend_from_slice(&chunk),
                Ok(None) => return Err(End::Clean),
                Err(_) => return Err(End::Broken),
            }
        }
    }

    async fn next_event(&mut self) -> Result<Block, End> {
        loop {
            let block = self.next().await?;
            if !block.data.is_empty() {
                return Ok(block);
            }
        }
    }
}

fn parse_block(text: &str) -> Block {
    let mut block = Block::default();
    for line in text.split('\n') {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
        match field {
            "" => block.comments.push(value),
            "event" => block.event = Some(value),
            "id" => block.id = Some(value),
            "retry" => block.retry = Some(value),
            "data" => block.data.push(value),
            other => panic!("unexpected field {other:?} in {text:?}"),
        }
    }
    block
}

async fn sse(server: &Server, path: &str, last_event_id: Option<&str>) -> SseReader {
    let mut request = http().get(server.url(path));
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    SseReader::new(request.send().await.expect("sse request"))
}

async fn error_json(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: Value = response.json_body().await;
    let code = body["code"].as_str().expect("error code").to_owned();
    let message = body["message"].as_str().expect("error message").to_owned();
    (status, code, message)
}

trait JsonBody {
    async fn json_body(self) -> Value;
}

impl JsonBody for reqwest::Response {
    async fn json_body(self) -> Value {
        let bytes = self.bytes().await.expect("response body");
        serde_json::from_slice(&bytes).expect("json body")
    }
}

#[tokio::test]
async fn listing_names_every_demo_and_each_one_answers() {
    within(async {
        let server = Server::start().await;
        let response = http()
            .get(server.url("/demo"))
            .send()
            .await
            .expect("GET /demo");
        assert_eq!(response.status(), 200);
        let listing = response.json_body().await;
        let entries = listing.as_array().expect("a JSON array");
        let paths: BTreeSet<&str> = entries.iter().filter_map(|e| e["path"].as_str()).collect();
        let expected: BTreeSet<&str> = [
            "/demo/ws/echo",
            "/demo/ws/ticker",
            "/demo/ws/binary",
            "/demo/ws/scripted",
            "/demo/ws/silent",
            "/demo/ws/chat",
            "/demo/sse/ticker",
            "/demo/sse/flaky",
            "/demo/sse/heartbeat",
            "/demo/sse/retry",
            "/demo/sse/silent",
            "/demo/sse/chat",
            "/demo/sse/binary",
            "/demo/ws/room",
            "/demo/ws/flaky",
            "/demo/sse/room",
        ]
        .into();
        assert_eq!(paths, expected);
        assert_eq!(entries.len(), expected.len(), "a path is listed twice");

        for entry in entries {
            let path = entry["path"].as_str().expect("path");
            assert!(
                entry["title"].as_str().is_some_and(|t| !t.is_empty()),
                "{path}"
            );
            let description = entry["description"].as_str().expect("description");
            assert!(
                !description.is_empty() && !description.contains('\n'),
                "{path}"
            );
            for param in entry["params"].as_array().expect("params") {
                assert!(param["name"].is_string(), "{path}: {param}");
                assert!(param["description"].is_string(), "{path}: {param}");
                assert!(param.get("default").is_some(), "{path}: {param}");
            }
            match (entry["proto"].as_str(), entry["method"].as_str()) {
                (Some("ws"), Some("GET")) => {
                    let mut ws = server.ws(path).await;
                    let _ = ws.close(None).await;
                }
                (Some("sse"), Some("GET")) => {
                    let response = http().get(server.url(path)).send().await.expect("GET");
                    drop(SseReader::new(response));
                }
                (Some("sse"), Some("POST")) => {
                    let response = http()
                        .post(server.url(path))
                        .body(r#"{"prompt": "hi"}"#)
                        .send()
                        .await
                        .expect("POST");
                    drop(SseReader::new(response));
                }
                other => panic!("{path}: unexpected proto and method {other:?}"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn ws_echo_sends_back_text_and_binary() {
    within(async {
        let server = Server::start().await;
        let mut ws = server.ws("/demo/ws/echo").await;
        ws.send(Message::text("hello, echo"))
            .await
            .expect("send text");
        assert_eq!(next_data(&mut ws).await, Message::text("hello, echo"));
        let bytes = vec![0_u8, 1, 2, 255, 254];
        ws.send(Message::binary(bytes.clone()))
            .await
            .expect("send binary");
        assert_eq!(next_data(&mut ws).await, Message::binary(bytes));
        ws.close(None).await.expect("close");
        assert!(matches!(
            ws.next().await,
            Some(Ok(Message::Close(_))) | None
        ));
    })
    .await;
}

#[tokio::test]
async fn ws_echo_agrees_to_the_first_subprotocol_offered() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    within(async {
        let server = Server::start().await;
        let mut request = server
            .ws_url("/demo/ws/echo")
            .into_client_request()
            .expect("request");
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "chat.v2, json".parse().expect("header"),
        );
        let (mut ws, response) = connect_async(request).await.expect("handshake");
        assert_eq!(
            response
                .headers()
                .get("sec-websocket-protocol")
                .map(|v| v.as_bytes()),
            Some(&b"chat.v2"[..])
        );
        ws.send(Message::text("still echoes")).await.expect("send");
        assert_eq!(next_data(&mut ws).await, Message::text("still echoes"));
    })
    .await;
}

/// The ticker's wiring: numbered messages with the server's send times. Its rate is the
/// pacer's, tested on a controlled clock (`demo::feed`): a wall-clock count here would
/// only measure how busy the machine is.
#[tokio::test]
async fn ws_ticker_numbers_its_messages_and_carries_send_times() {
    within(async {
        let server = Server::start().await;
        let before = now_us();
        let mut ws = server.ws("/demo/ws/ticker?rate=200").await;
        for expected_n in 1..=25 {
            let v = next_json(&mut ws).await;
            assert_eq!(v["n"], expected_n);
            assert!(v["price"].is_number());
            assert_send_time(&v, before);
        }
    })
    .await;
}

#[tokio::test]
async fn ws_ticker_sends_count_messages_in_bursts_then_closes_normally() {
    within(async {
        let server = Server::start().await;
        let mut ws = server.ws("/demo/ws/ticker?rate=20000&count=1000").await;
        for n in 1..=1000 {
            assert_eq!(next_json(&mut ws).await["n"], n);
        }
        match ws.next().await {
            Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Normal),
            other => panic!("expected a close frame after count, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn ws_ticker_pads_each_message_to_the_asked_size() {
    within(async {
        let server = Server::start().await;
        let mut ws = server.ws("/demo/ws/ticker?rate=100&count=3&size=500").await;
        for _ in 0..3 {
            match next_data(&mut ws).await {
                Message::Text(text) => {
                    assert_eq!(text.len(), 500);
                    serde_json::from_str::<Value>(text.as_str()).expect("padded json");
                }
                other => panic!("expected text, got {other:?}"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn ws_and_sse_tickers_carry_the_same_feed() {
    within(async {
        let server = Server::start().await;
        let mut ws = server.ws("/demo/ws/ticker?rate=100&count=5").await;
        let mut events = sse(&server, "/demo/sse/ticker?rate=100&count=5", None).await;
        for n in 1..=5 {
            let over_ws = next_json(&mut ws).await;
            let over_sse = events.next_event().await.expect("sse event").json();
            assert_eq!(over_ws["n"], n);
            assert_eq!(over_sse["n"], n);
            assert_eq!(over_ws["price"], over_sse["price"], "n = {n}");
        }
    })
    .await;
}

#[tokio::test]
async fn ws_binary_and_sse_binary_send_the_same_payloads() {
    within(async {
        let server = Server::start().await;
        let mut ws = server.ws("/demo/ws/binary?rate=100&count=3&size=100").await;
        let mut events = sse(&server, "/demo/sse/binary?rate=100&count=3&size=100", None).await;
        for n in 1..=3_u64 {
            let Message::Binary(over_ws) = next_data(&mut ws).await else {
                panic!("expected a binary message");
            };
            let block = events.next_event().await.expect("sse event");
            assert_eq!(block.id.as_deref(), Some(n.to_string().as_str()));
            let over_sse = base64::engine::general_purpose::STANDARD
                .decode(block.data())
                .expect("base64 data");
            assert_eq!(over_ws.len(), 100);
            assert_eq!(over_sse.len(), 100);
            assert_eq!(over_ws[..8], n.to_be_bytes());
            assert_eq!(over_sse[..8], n.to_be_bytes());
            // Bytes 8..16 are each side's own send time; the rest is the shared feed.
            assert_eq!(over_ws[16..], over_sse[16..]);
        }
        assert_eq!(events.next().await, Err(End::Clean));
    })
    .await;
}

#[tokio::test]
async fn ws_scripted_peer_pings_sends_fragments_and_closes_with_the_chosen_code() {
    within(async {
        let server = Server::start().await;
        let mut ws = server
            .ws("/demo/ws/scripted?step_ms=20&code=4321&reason=bye%20now&ping=hello%3F&text=a%20fragmented%20hello")
            .await;
        match ws.next().await {
            Some(Ok(Message::Text(plan))) => assert!(plan.starts_with("script:"), "{plan}"),
            other => panic!("expected the script announcement, got {other:?}"),
        }
        match ws.next().await {
            Some(Ok(Message::Ping(payload))) => assert_eq!(&payload[..], b"hello?"),
            other => panic!("expected a ping, got {other:?}"),
        }
        match ws.next().await {
            Some(Ok(Message::Text(text))) => assert_eq!(text.as_str(), "a fragmented hello"),
            other => panic!("expected the reassembled message, got {other:?}"),
        }
        match ws.next().await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), 4321);
                assert_eq!(frame.reason.as_str(), "bye now");
            }
            other => panic!("expected the close frame, got {other:?}"),
        }
        // tungstenite answers the close; then the stream ends.
        assert!(matches!(ws.next().await, None | Some(Err(tungstenite::Error::ConnectionClosed))));
    })
    .await;
}

/// A WebSocket frame as it crossed the wire (server frames are never masked).
#[derive(Debug)]
struct RawFrame {
    fin: bool,
    opcode: u8,
    payload: Vec<u8>,
}

async fn read_raw_frame(tcp: &mut TcpStream) -> RawFrame {
    let mut head = [0_u8; 2];
    tcp.read_exact(&mut head).await.expect("frame header");
    assert_eq!(head[1] & 0x80, 0, "server frames must not be masked");
    let len = match head[1] & 0x7f {
        126 => u64::from(tcp.read_u16().await.expect("16-bit length")),
        127 => tcp.read_u64().await.expect("64-bit length"),
        n => u64::from(n),
    };
    let mut payload = vec![0_u8; usize::try_from(len).expect("length")];
    tcp.read_exact(&mut payload).await.expect("payload");
    RawFrame {
        fin: head[0] & 0x80 != 0,
        opcode: head[0] & 0x0f,
        payload,
    }
}

#[tokio::test]
async fn ws_scripted_fragments_cross_the_wire_as_separate_frames() {
    within(async {
        let server = Server::start().await;
        let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
        let request = "GET /demo/ws/scripted?step_ms=0&fragments=3&text=abcdefghi&code=3001&reason=done HTTP/1.1\r\n\
                       Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                       Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        tcp.write_all(request.as_bytes()).await.expect("handshake");
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(tcp.read_u8().await.expect("handshake response"));
        }
        let head = String::from_utf8(head).expect("ascii head").to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 101"), "{head}");
        // RFC 6455 §1.3's example key and its accept value.
        assert!(head.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="), "{head}");

        let announce = read_raw_frame(&mut tcp).await;
        assert_eq!((announce.fin, announce.opcode), (true, 0x1));
        let ping = read_raw_frame(&mut tcp).await;
        assert_eq!((ping.fin, ping.opcode), (true, 0x9));
        assert_eq!(ping.payload, b"are you there?");
        let fragments: Vec<(bool, u8, Vec<u8>)> = [
            read_raw_frame(&mut tcp).await,
            read_raw_frame(&mut tcp).await,
            read_raw_frame(&mut tcp).await,
        ]
        .into_iter()
        .map(|f| (f.fin, f.opcode, f.payload))
        .collect();
        assert_eq!(
            fragments,
            vec![
                (false, 0x1, b"abc".to_vec()),
                (false, 0x0, b"def".to_vec()),
                (true, 0x0, b"ghi".to_vec()),
            ]
        );
        let close = read_raw_frame(&mut tcp).await;
        assert_eq!(close.opcode, 0x8);
        assert_eq!(close.payload[..2], 3001_u16.to_be_bytes());
        assert_eq!(&close.payload[2..], b"done");
    })
    .await;
}

#[tokio::test]
async fn ws_silent_peer_never_answers_a_ping() {
    within(async {
        let server = Server::start().await;
        let mut ws = server.ws("/demo/ws/silent?messages=2").await;
        for _ in 0..2 {
            assert!(matches!(next_data(&mut ws).await, Message::Text(_)));
        }
        ws.send(Message::Ping(b"still there?".to_vec().into()))
            .await
            .expect("send ping");
        let answer = timeout(Duration::from_secs(1), ws.next()).await;
        assert!(answer.is_err(), "the silent peer answered: {answer:?}");
        // Still connected: the peer went silent, it did not close.
        assert_eq!(server.demo.live(), 1);
    })
    .await;
}

#[tokio::test]
async fn ws_silent_peer_drops_the_connection_when_its_hold_runs_out() {
    within(async {
        let server = Server::start().await;
        let mut ws = server.ws("/demo/ws/silent?messages=0&hold_s=1").await;
        // No close frame: the connection just ends.
        match ws.next().await {
            None | Some(Err(_)) => {}
            other => panic!("expected the connection to drop, got {other:?}"),
        }
        server.wait_live(0).await;
    })
    .await;
}

#[tokio::test]
async fn ws_chat_relays_each_message_to_every_client() {
    within(async {
        let server = Server::start().await;
        let mut ada = server.ws("/demo/ws/chat?name=ada").await;
        assert_eq!(next_json(&mut ada).await["type"], "welcome");
        let mut bob = server.ws("/demo/ws/chat").await;
        let welcome = next_json(&mut bob).await;
        assert_eq!(welcome["type"], "welcome");
        assert!(
            welcome["you"]
                .as_str()
                .is_some_and(|n| n.starts_with("guest-"))
        );
        assert_eq!(welcome["online"], 2);

        ada.send(Message::text("hello, room")).await.expect("send");
        for client in [&mut ada, &mut bob] {
            loop {
                let event = next_json(client).await;
                if event["type"] == "message" {
                    assert_eq!(event["from"], "ada");
                    assert_eq!(event["text"], "hello, room");
                    assert!(event["sent_at"].is_string());
                    break;
                }
            }
        }
    })
    .await;
}

#[tokio::test]
async fn ws_chat_tells_a_client_that_fell_behind_how_much_it_missed() {
    // Enough chat to fill the silent client's TCP buffers and then the room's 256 slots.
    const FLOOD: usize = 6000;
    within(async {
        let server = Server::start().await;
        let mut slow = server.ws("/demo/ws/chat?name=slow").await;
        assert_eq!(next_json(&mut slow).await["type"], "welcome");
        let (mut fast_tx, mut fast_rx) = server.ws("/demo/ws/chat?name=fast").await.split();
        // `fast` reads everything relayed to it, so only `slow` falls behind.
        let reader = tokio::spawn(async move { while let Some(Ok(_)) = fast_rx.next().await {} });
        let text = "x".repeat(4000);
        for _ in 0..FLOOD {
            fast_tx
                .send(Message::text(text.clone()))
                .await
                .expect("send");
        }
        let mut relayed = 0;
        loop {
            let event = next_json(&mut slow).await;
            match event["type"].as_str() {
                Some("lagged") => {
                    assert!(event["missed"].as_u64().is_some_and(|m| m > 0), "{event}");
                    break;
                }
                Some("message") => relayed += 1,
                _ => {}
            }
            assert!(
                relayed < FLOOD,
                "every message arrived; the lag notice never came"
            );
        }
        reader.abort();
    })
    .await;
}

/// As for the WebSocket ticker: the wiring here, the rate on a controlled clock.
#[tokio::test]
async fn sse_ticker_sends_named_events_with_ids_and_send_times() {
    within(async {
        let server = Server::start().await;
        let before = now_us();
        let mut events = sse(&server, "/demo/sse/ticker?rate=200", None).await;
        for n in 1..=25_u64 {
            let block = events.next_event().await.expect("event");
            assert_eq!(block.event.as_deref(), Some("tick"));
            assert_eq!(block.id, Some(n.to_string()));
            let v = block.json();
            assert_eq!(v["n"], n);
            assert_send_time(&v, before);
        }
    })
    .await;
}

#[tokio::test]
async fn sse_ticker_resumes_after_last_event_id_and_ends_with_204() {
    within(async {
        let server = Server::start().await;
        let mut events = sse(&server, "/demo/sse/ticker?rate=100&count=5", Some("3")).await;
        for id in ["4", "5"] {
            assert_eq!(
                events.next_event().await.expect("event").id.as_deref(),
                Some(id)
            );
        }
        assert_eq!(events.next().await, Err(End::Clean));
        let done = http()
            .get(server.url("/demo/sse/ticker?rate=100&count=5"))
            .header("last-event-id", "5")
            .send()
            .await
            .expect("request");
        assert_eq!(done.status(), 204);
    })
    .await;
}

#[tokio::test]
async fn sse_flaky_drops_after_every_n_events_and_resumes_without_a_gap() {
    within(async {
        let server = Server::start().await;
        let path = "/demo/sse/flaky?every=3&rate=50&retry_ms=1234";
        let mut last: Option<String> = None;
        let mut ids = Vec::new();
        for _ in 0..3 {
            let mut events = sse(&server, path, last.as_deref()).await;
            let first = events.next().await.expect("retry block");
            assert_eq!(first.retry.as_deref(), Some("1234"));
            for _ in 0..3 {
                let block = events.next_event().await.expect("event");
                assert!(block.json()["sent_at_us"].is_i64());
                ids.push(block.id.clone().expect("id"));
                last = block.id;
            }
            // Not a clean end: the connection breaks mid-body.
            assert_eq!(events.next_event().await, Err(End::Broken));
        }
        let expected: Vec<String> = (1..=9).map(|i: u64| i.to_string()).collect();
        assert_eq!(ids, expected);
    })
    .await;
}

#[tokio::test]
async fn sse_flaky_ends_cleanly_at_count_and_then_answers_204() {
    within(async {
        let server = Server::start().await;
        let path = "/demo/sse/flaky?every=3&rate=100&count=4";
        let mut events = sse(&server, path, Some("3")).await;
        assert_eq!(
            events.next_event().await.expect("event").id.as_deref(),
            Some("4")
        );
        assert_eq!(events.next_event().await, Err(End::Clean));
        let done = http()
            .get(server.url(path))
            .header("last-event-id", "4")
            .send()
            .await
            .expect("request");
        assert_eq!(done.status(), 204);
    })
    .await;
}

#[tokio::test]
async fn sse_retry_announces_retry_ends_cleanly_and_stops_with_204() {
    within(async {
        let server = Server::start().await;
        let path = "/demo/sse/retry?retry_ms=1500&per_connection=2&total=3&rate=100";
        let mut events = sse(&server, path, None).await;
        assert_eq!(
            events.next().await.expect("retry").retry.as_deref(),
            Some("1500")
        );
        for id in ["1", "2"] {
            assert_eq!(
                events.next_event().await.expect("event").id.as_deref(),
                Some(id)
            );
        }
        assert_eq!(events.next().await, Err(End::Clean));

        let mut events = sse(&server, path, Some("2")).await;
        assert_eq!(
            events.next_event().await.expect("event").id.as_deref(),
            Some("3")
        );
        assert_eq!(events.next().await, Err(End::Clean));

        let done = http()
            .get(server.url(path))
            .header("last-event-id", "3")
            .send()
            .await
            .expect("request");
        assert_eq!(done.status(), 204);
    })
    .await;
}

#[tokio::test]
async fn sse_heartbeat_sends_comments_then_goes_silent_without_closing() {
    within(async {
        let server = Server::start().await;
        let mut events = sse(
            &server,
            "/demo/sse/heartbeat?interval_ms=50&count=2&hold_s=2",
            None,
        )
        .await;
        for n in 1..=2 {
            let block = events.next().await.expect("heartbeat");
            assert!(block.data.is_empty(), "heartbeats carry no data: {block:?}");
            let comment = block.comments.first().expect("a comment");
            assert!(comment.starts_with(&format!("heartbeat {n} ")), "{comment}");
        }
        let quiet = timeout(Duration::from_millis(700), events.next()).await;
        assert!(quiet.is_err(), "expected silence, got {quiet:?}");
        // The hold runs out and the stream ends.
        assert_eq!(events.next().await, Err(End::Clean));
    })
    .await;
}

#[tokio::test]
async fn sse_silent_sends_one_event_then_nothing() {
    within(async {
        let server = Server::start().await;
        let mut events = sse(&server, "/demo/sse/silent", None).await;
        assert!(events.next_event().await.is_ok());
        let quiet = timeout(Duration::from_secs(1), events.next()).await;
        assert!(quiet.is_err(), "expected silence, got {quiet:?}");
        assert_eq!(server.demo.live(), 1);
    })
    .await;
}

#[tokio::test]
async fn sse_silent_can_send_only_headers() {
    within(async {
        let server = Server::start().await;
        // The response (headers) arrives although not one byte of body follows.
        let mut events = sse(&server, "/demo/sse/silent?first=0", None).await;
        let quiet = timeout(Duration::from_secs(1), events.next()).await;
        assert!(quiet.is_err(), "expected silence, got {quiet:?}");
    })
    .await;
}

#[tokio::test]
async fn sse_chat_streams_an_answer_token_by_token_then_done() {
    within(async {
        let server = Server::start().await;
        let response = http()
            .post(server.url("/demo/sse/chat?rate=1000"))
            .header("content-type", "application/json")
            .body(r#"{"prompt": "why \"SSE\"?"}"#)
            .send()
            .await
            .expect("POST");
        let mut events = SseReader::new(response);
        let mut answer = String::new();
        let mut tokens = 0;
        loop {
            let block = events.next_event().await.expect("event");
            if block.data() == "[DONE]" {
                break;
            }
            answer.push_str(block.json()["token"].as_str().expect("token"));
            tokens += 1;
        }
        assert!(tokens > 20, "only {tokens} tokens");
        assert!(answer.starts_with(r#"You asked: "why "SSE"?""#), "{answer}");
        assert_eq!(events.next().await, Err(End::Clean));
    })
    .await;
}

#[tokio::test]
async fn sse_chat_refuses_bad_bodies_with_json_errors() {
    within(async {
        let server = Server::start().await;
        let url = server.url("/demo/sse/chat");
        let cases: [(&str, u16, &str, &str); 5] = [
            ("not json", 400, "bad_body", "json"),
            ("{}", 400, "bad_body", "prompt"),
            (r#"{"prompt": 5}"#, 400, "bad_body", "string"),
            (r#"{"prompt": "   "}"#, 400, "bad_body", "empty"),
            (&"x".repeat(70_000), 413, "body_too_large", "65536"),
        ];
        for (body, status, code, mentions) in cases {
            let response = http()
                .post(&url)
                .body(body.to_owned())
                .send()
                .await
                .expect("POST");
            let (got_status, got_code, message) = error_json(response).await;
            assert_eq!((got_status, got_code.as_str()), (status, code), "{message}");
            assert!(message.to_lowercase().contains(mentions), "{message}");
        }
        let response = http().get(&url).send().await.expect("GET");
        let (status, code, _) = error_json(response).await;
        assert_eq!((status, code.as_str()), (405, "method_not_allowed"));
    })
    .await;
}

#[tokio::test]
async fn bad_params_get_400_with_a_code_and_a_message() {
    within(async {
        let server = Server::start().await;
        let cases = [
            ("/demo/sse/ticker?rate=0", "bad_param", "rate"),
            ("/demo/sse/ticker?rate=fast", "bad_param", "rate"),
            ("/demo/sse/ticker?size=99999999", "bad_param", "size"),
            (
                "/demo/sse/ticker?rate=200000&size=1048576",
                "bad_param",
                "rate × size",
            ),
            (
                "/demo/sse/ticker?rate=1&rate=2",
                "bad_param",
                "more than once",
            ),
            ("/demo/sse/ticker?speed=5", "unknown_param", "speed"),
            ("/demo/sse/ticker?event=a%0Ab", "bad_param", "event"),
            ("/demo/sse/flaky?every=0", "bad_param", "every"),
            ("/demo/sse/binary?size=8", "bad_param", "size"),
            ("/demo/ws/echo?x=1", "unknown_param", "takes no parameters"),
            ("/demo/ws/scripted?code=1005", "bad_param", "code"),
            ("/demo/ws/chat?name=%3Cb%3E", "bad_param", "name"),
            ("/demo/ws/silent?hold_s=601", "bad_param", "hold_s"),
        ];
        for (path, code, mentions) in cases {
            let response = http().get(server.url(path)).send().await.expect("GET");
            let (status, got_code, message) = error_json(response).await;
            assert_eq!(
                (status, got_code.as_str()),
                (400, code),
                "{path}: {message}"
            );
            assert!(message.contains(mentions), "{path}: {message}");
        }

        // A real WebSocket handshake with a bad parameter is refused the same way.
        match connect_async(server.ws_url("/demo/ws/ticker?rate=0")).await {
            Err(tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 400);
                let body: Value =
                    serde_json::from_slice(response.body().as_deref().unwrap_or_default())
                        .expect("json error body");
                assert_eq!(body["code"], "bad_param");
            }
            other => panic!("expected the handshake to be refused, got {other:?}"),
        }

        let response = http()
            .get(server.url("/demo/sse/flaky"))
            .header("last-event-id", "not-a-number")
            .send()
            .await
            .expect("GET");
        let (status, code, _) = error_json(response).await;
        assert_eq!((status, code.as_str()), (400, "bad_last_event_id"));
    })
    .await;
}

#[tokio::test]
async fn plain_http_on_a_websocket_demo_and_unknown_paths_get_json_errors() {
    within(async {
        let server = Server::start().await;
        let response = http()
            .get(server.url("/demo/ws/echo"))
            .send()
            .await
            .expect("GET");
        let (status, code, message) = error_json(response).await;
        assert_eq!((status, code.as_str()), (426, "websocket_required"));
        assert!(message.contains("ws://"), "{message}");

        let response = http()
            .get(server.url("/demo/nope"))
            .send()
            .await
            .expect("GET");
        let (status, code, message) = error_json(response).await;
        assert_eq!((status, code.as_str()), (404, "not_found"));
        assert!(message.contains("/demo/nope"), "{message}");
    })
    .await;
}

#[tokio::test]
async fn demos_end_their_sockets_and_streams_when_clients_leave() {
    within(async {
        let server = Server::start().await;
        let ws_ticker = server.ws("/demo/ws/ticker").await;
        let ws_silent = server.ws("/demo/ws/silent").await;
        let ws_chat = server.ws("/demo/ws/chat").await;
        let sse_ticker = sse(&server, "/demo/sse/ticker", None).await;
        let sse_silent = sse(&server, "/demo/sse/silent?first=0", None).await;
        let sse_heartbeat = sse(&server, "/demo/sse/heartbeat?count=1", None).await;
        server.wait_live(6).await;
        // Gone without a goodbye: no close frame, no end of body, just the TCP connection.
        drop((ws_ticker, ws_silent, ws_chat));
        drop((sse_ticker, sse_silent, sse_heartbeat));
        server.wait_live(0).await;
    })
    .await;
}

#[tokio::test]
async fn shutdown_closes_websockets_with_1001_and_ends_streams() {
    within(async {
        let server = Server::start().await;
        let mut ws = server.ws("/demo/ws/ticker").await;
        let mut events = sse(&server, "/demo/sse/ticker", None).await;
        assert!(events.next_event().await.is_ok());
        server.wait_live(2).await;
        server.demo.shutdown();
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(Some(frame)))) => {
                    assert_eq!(frame.code, CloseCode::Away);
                    break;
                }
                Some(Ok(_)) => continue,
                other => panic!("expected a 1001 close, got {other:?}"),
            }
        }
        loop {
            match events.next().await {
                Ok(_) => continue,
                Err(end) => {
                    assert_eq!(end, End::Clean);
                    break;
                }
            }
        }
        server.demo.closed().await;
    })
    .await;
}
