//! The reverse tap between real peers on 127.0.0.1: scripted raw-TCP endpoints and apps
//! (to hold the relay to the exact bytes), Node's `ws` with permessage-deflate (a
//! third-party endpoint), and the engine's own client as the app. Every server listens on
//! port 0 and stops with its test.

mod support;
use support::{DEADLINE, accept_for, next, read_head};

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use streamscope_engine::session::Session;
use streamscope_engine::{Body, Cause, Command, Dir, Proto, Record, TlsOptions};
use streamscope_tap::{Printed, Tap, TapError, TapSpec, parse_upstream};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_util::sync::CancellationToken;

async fn tap_to(upstream: &str) -> (Tap, mpsc::Receiver<Record>, CancellationToken) {
    let (tx, rx) = mpsc::channel(1024);
    let cancel = CancellationToken::new();
    let conns = Arc::new(Printed::new(tx, cancel.clone()));
    let spec = TapSpec {
        listen: "127.0.0.1:0".parse().expect("addr"),
        upstream: parse_upstream(upstream).expect("upstream"),
        tls: TlsOptions::default(),
    };
    let tap = streamscope_tap::start(spec, conns, cancel.clone())
        .await
        .expect("tap starts");
    (tap, rx, cancel)
}

/// One WebSocket frame as it goes on the wire.
fn frame(fin: bool, opcode: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | opcode];
    let m = if mask.is_some() { 0x80 } else { 0 };
    assert!(payload.len() < 126);
    out.push(m | payload.len() as u8);
    match mask {
        Some(k) => {
            out.extend_from_slice(&k);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

async fn read_exact(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    s.read_exact(&mut buf).await.expect("reads the bytes");
    buf
}

/// A scripted WebSocket endpoint: answers the handshake (echoing back the app's
/// subprotocol offer), sends `script` right behind its 101, and hands what the app sent
/// (its head, then `expect` bytes) to the test.
async fn scripted_endpoint(
    script: Vec<u8>,
    expect: usize,
) -> (u16, oneshot::Receiver<(String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.expect("accept");
        let head = read_head(&mut s).await;
        let answer = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
            accept_for(&head)
        );
        let mut first = answer.into_bytes();
        first.extend_from_slice(&script);
        s.write_all(&first).await.expect("writes");
        let got = read_exact(&mut s, expect).await;
        let _ = tx.send((head, got));
        // Closes TCP after the close handshake, as RFC 6455 §7.1.1 has the server do.
        tokio::time::sleep(Duration::from_millis(50)).await;
    });
    (port, rx)
}

#[tokio::test]
async fn ws_bytes_pass_unchanged_both_ways_and_every_frame_is_recorded_in_order() {
    tokio::time::timeout(DEADLINE, async {
        // The endpoint: a text message in three fragments with a ping between two of
        // them, then a binary message, then close 1000.
        let mut script = frame(false, 1, None, b"hel");
        script.extend(frame(true, 0x9, None, b"p"));
        script.extend(frame(false, 0, None, b"lo "));
        script.extend(frame(true, 0, None, b"world"));
        script.extend(frame(true, 2, None, &[0, 1, 2]));
        script.extend(frame(true, 8, None, &[0x03, 0xe8, b'b', b'y', b'e']));
        // The app: a masked text in two fragments, a pong, then its close reply.
        let mut app = frame(false, 1, Some([1, 2, 3, 4]), b"up");
        app.extend(frame(true, 0, Some([5, 6, 7, 8]), b"stream"));
        app.extend(frame(true, 0xA, Some([9, 9, 9, 9]), b"p"));
        app.extend(frame(true, 8, Some([4, 3, 2, 1]), &[0x03, 0xe8]));
        let (port, endpoint) = scripted_endpoint(script.clone(), app.len()).await;
        let (tap, mut rx, _cancel) = tap_to(&format!("ws://127.0.0.1:{port}/feed")).await;

        let mut s = TcpStream::connect(tap.addr()).await.expect("connect to the tap");
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let req = format!(
            "GET /?room=1 HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\nCookie: session=abc\r\n\r\n",
            tap.addr()
        );
        s.write_all(req.as_bytes()).await.expect("writes");
        let head = read_head(&mut s).await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let lower = head.to_ascii_lowercase();
        assert!(
            lower.contains(&format!("sec-websocket-accept: {}", derive_accept_key(key.as_bytes())).to_ascii_lowercase()),
            "the accept fits the app's own key: {head}"
        );
        assert!(lower.contains("sec-websocket-protocol: chat"), "{head}");
        let from_endpoint = read_exact(&mut s, script.len()).await;
        assert_eq!(from_endpoint, script, "the endpoint's bytes reach the app unchanged");
        s.write_all(&app).await.expect("writes");

        let (sent_head, at_endpoint) = endpoint.await.expect("the endpoint saw the app");
        assert_eq!(at_endpoint, app, "the app's bytes reach the endpoint unchanged");
        assert!(sent_head.starts_with("GET /feed?room=1 HTTP/1.1\r\n"), "{sent_head}");
        assert!(sent_head.contains(&format!("\r\nHost: 127.0.0.1:{port}\r\n")), "{sent_head}");
        assert!(sent_head.contains("cookie: session=abc"), "{sent_head}");
        assert!(sent_head.contains("sec-websocket-protocol: chat, superchat"), "{sent_head}");

        let open = next(&mut rx).await;
        assert_eq!((open.proto, open.seq, open.kind()), (Proto::Ws, 1, "open"));
        match &open.body {
            Body::Open { status, subprotocol, .. } => {
                assert_eq!(*status, 101);
                assert_eq!(subprotocol.as_deref(), Some("chat"));
            }
            other => panic!("{other:?}"),
        }
        // The endpoint's frames are read as one stream and the app's as another; each
        // direction is in order, and the app answers only after it has everything.
        let mut got = Vec::new();
        for _ in 0..7 {
            let r = next(&mut rx).await;
            got.push((r.dir, r.body.clone(), r.wire.as_ref().map(|w| (w.frames, w.bytes))));
        }
        let ins: Vec<_> = got.iter().filter(|g| g.0 == Dir::In).cloned().collect();
        let outs: Vec<_> = got.iter().filter(|g| g.0 == Dir::Out).cloned().collect();
        assert_eq!(
            ins,
            vec![
                (Dir::In, Body::Ping(bytes::Bytes::from_static(b"p")), Some((1, 3))),
                (Dir::In, Body::Text("hello world".into()), Some((3, 5 + 5 + 7))),
                (Dir::In, Body::Binary(bytes::Bytes::from_static(&[0, 1, 2])), Some((1, 5))),
                (Dir::In, Body::Close { code: Some(1000), reason: "bye".into() }, Some((1, 7))),
            ]
        );
        assert_eq!(
            outs,
            vec![
                (Dir::Out, Body::Text("upstream".into()), Some((2, 8 + 12))),
                (Dir::Out, Body::Pong(bytes::Bytes::from_static(b"p")), Some((1, 7))),
                (Dir::Out, Body::Close { code: Some(1000), reason: String::new() }, Some((1, 8))),
            ]
        );
        // Both sides closed properly: no error follows.
        drop(s);
        if let Ok(Some(r)) = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
            panic!("nothing after a completed close handshake, got {r:?}");
        }
        tap.stop().await;
    })
    .await
    .expect("within the deadline");
}

/// Node's `ws` with perMessageDeflate, from tests/interop/ws_server.mjs; killed by pid
/// on drop.
struct NodeWs {
    child: tokio::process::Child,
    ports: serde_json::Value,
}

impl Drop for NodeWs {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn node_ws() -> NodeWs {
    // Found at run time, as tests/interop.rs does: a test binary built in another
    // checkout must run this checkout's script.
    let script = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned())
        + "/../../tests/interop/ws_server.mjs";
    let mut child = tokio::process::Command::new("node")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs (install Node 20 and `npm ci` in tests/interop)");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .await
        .expect("the ports line");
    let ports = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("bad ports line {line:?} ({e}); run `npm ci` in tests/interop"));
    NodeWs { child, ports }
}

/// The engine's client as the app, through the tap, to Node's `ws`: both compress
/// (permessage-deflate agreed end to end), and the tap records each direction inflated
/// with its own context: what the client sent and what it got.
async fn deflate_through_the_tap(config: &str) {
    let node = node_ws().await;
    let port = node.ports[config].as_u64().expect("port");
    let (tap, mut rx, _cancel) = tap_to(&format!("ws://127.0.0.1:{port}/")).await;
    let mut opts = streamscope_engine::WsOptions::new(
        format!("ws://{}/fragments", tap.addr())
            .parse()
            .expect("url"),
    );
    let echo = "a message the app sends, twice: a message the app sends";
    opts.send = vec![Command::Text(echo.into()), Command::Text(echo.into())];
    let (ctx, mut crx) = mpsc::channel(256);
    let client = streamscope_engine::open_ws(
        streamscope_engine::ConnId(99),
        opts,
        ctx,
        CancellationToken::new(),
    );
    // What the client saw: its own open, then the endpoint's three-fragment message
    // and the echoes.
    let mut client_in = Vec::new();
    while client_in.len() < 3 {
        let r = next(&mut crx).await;
        if r.dir == Dir::In {
            client_in.push(r.body.clone());
        }
    }
    client
        .send(Command::Close {
            code: 1000,
            reason: String::new(),
        })
        .await
        .expect("close");
    let _ = client.wait().await;

    let open = next(&mut rx).await;
    let Some(hs) = open.wire.as_ref().and_then(|w| w.handshake.clone()) else {
        panic!("open carries the handshake: {open:?}")
    };
    assert!(
        hs.extensions
            .as_deref()
            .is_some_and(|e| e.starts_with("permessage-deflate")),
        "{hs:?}"
    );
    let mut tap_in = Vec::new();
    let mut tap_out = Vec::new();
    let mut fragmented = None;
    while tap_in.len() < 3 || tap_out.len() < 2 {
        let r = next(&mut rx).await;
        match (r.dir, &r.body) {
            (Dir::In, Body::Text(_)) => {
                if tap_in.is_empty() {
                    fragmented = r.wire.clone();
                }
                tap_in.push(r.body.clone());
            }
            (Dir::Out, Body::Text(t)) => {
                assert_eq!(t, echo);
                let w = r.wire.as_ref().expect("wire");
                assert!(w.compressed_size.is_some(), "the client compressed: {w:?}");
                assert!(w.frame_list.is_empty() || w.frame_list.iter().all(|f| f.masked));
                tap_out.push(r.body.clone());
            }
            _ => {}
        }
    }
    assert_eq!(tap_in, client_in, "the tap read what the client read");
    assert_eq!(
        tap_in[0],
        Body::Text("one two three one two three one two three".into())
    );
    let w = fragmented.expect("wire of the fragmented message");
    assert_eq!(w.frames, 3);
    assert_eq!(w.frame_list.len(), 3);
    assert!(w.frame_list[0].rsv1 && !w.frame_list[1].rsv1, "{w:?}");
    assert!(w.compressed_size.is_some_and(|c| c > 0), "{w:?}");
    tap.stop().await;
}

#[tokio::test]
async fn deflate_with_context_takeover_is_recorded_inflated_both_ways() {
    tokio::time::timeout(DEADLINE, deflate_through_the_tap("takeover"))
        .await
        .expect("within the deadline");
}

#[tokio::test]
async fn deflate_without_context_takeover_is_recorded_inflated_both_ways() {
    tokio::time::timeout(DEADLINE, deflate_through_the_tap("no_takeover"))
        .await
        .expect("within the deadline");
}

/// An SSE endpoint that sends one event, then waits for the test's gate before the
/// second and the end: a record of the first can only come before the stream ended.
async fn slow_sse(gate: oneshot::Receiver<()>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.expect("accept");
        // One stream only: later requests find nobody listening.
        drop(listener);
        let head = read_head(&mut s).await;
        assert!(head.starts_with("GET /events?x=1 HTTP/1.1"), "{head}");
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n: hi\n\nid: 1\nevent: tick\ndata: one\n\n")
            .await
            .expect("writes");
        let _ = gate.await;
        let _ = s.write_all(b"retry: 500\ndata: two\n\n").await;
    });
    port
}

#[tokio::test]
async fn sse_events_are_recorded_and_passed_on_before_the_stream_ends() {
    tokio::time::timeout(DEADLINE, async {
        let (gate, gate_rx) = oneshot::channel();
        let port = slow_sse(gate_rx).await;
        let (tap, mut rx, _cancel) = tap_to(&format!("http://127.0.0.1:{port}")).await;
        let mut s = TcpStream::connect(tap.addr()).await.expect("connect");
        // `Connection: close`: the app's connection ends with the stream, so reading to
        // its end is reading the whole stream.
        s.write_all(b"GET /events?x=1 HTTP/1.1\r\nHost: app\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n")
            .await
            .expect("writes");
        let head = read_head(&mut s).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        // The app has the first event while the endpoint still holds the stream open.
        let mut seen = Vec::new();
        while !String::from_utf8_lossy(&seen).contains("data: one\n\n") {
            let mut chunk = [0u8; 1024];
            let n = s.read(&mut chunk).await.expect("reads");
            assert!(n > 0, "the stream ended early");
            seen.extend_from_slice(&chunk[..n]);
        }
        let kinds: Vec<(String, Dir)> = {
            let mut k = Vec::new();
            for _ in 0..3 {
                let r = next(&mut rx).await;
                assert_eq!(r.proto, Proto::Sse);
                k.push((r.kind().to_owned(), r.dir));
                if let Body::Event { event, data, id } = &r.body {
                    assert_eq!((event.as_str(), data.as_str(), id.as_deref()), ("tick", "one", Some("1")));
                }
            }
            k
        };
        assert_eq!(
            kinds,
            vec![
                ("open".to_owned(), Dir::Meta),
                ("comment".to_owned(), Dir::In),
                ("event".to_owned(), Dir::In),
            ]
        );
        gate.send(()).expect("the endpoint waits");
        let rest: Vec<String> = {
            let mut k = Vec::new();
            for _ in 0..3 {
                k.push(next(&mut rx).await.kind().to_owned());
            }
            k
        };
        assert_eq!(rest, ["retry", "event", "end"]);
        let mut tail = Vec::new();
        let _ = s.read_to_end(&mut tail).await;
        seen.extend_from_slice(&tail);
        let text = String::from_utf8_lossy(&seen);
        assert!(text.contains("retry: 500\ndata: two\n\n"), "{text}");
        tap.stop().await;
    })
    .await
    .expect("within the deadline");
}

#[tokio::test]
async fn an_app_that_leaves_an_event_stream_gives_an_error_record_and_the_tap_goes_on() {
    tokio::time::timeout(DEADLINE, async {
        let (_gate, gate_rx) = oneshot::channel::<()>();
        let port = slow_sse(gate_rx).await;
        let (tap, mut rx, _cancel) = tap_to(&format!("http://127.0.0.1:{port}")).await;
        let mut s = TcpStream::connect(tap.addr()).await.expect("connect");
        s.write_all(b"GET /events?x=1 HTTP/1.1\r\nHost: app\r\nAccept: text/event-stream\r\n\r\n")
            .await
            .expect("writes");
        for kind in ["open", "comment", "event"] {
            assert_eq!(next(&mut rx).await.kind(), kind);
        }
        drop(s);
        let r = next(&mut rx).await;
        match &r.body {
            Body::Error { message, cause, .. } => {
                assert_eq!(*cause, Some(Cause::TransportLost));
                assert!(message.contains("the app closed the stream"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        // Still serving: the next app connection is answered (502, nobody listens now).
        let mut again = TcpStream::connect(tap.addr())
            .await
            .expect("the tap still accepts");
        again
            .write_all(b"GET /x HTTP/1.1\r\nHost: app\r\n\r\n")
            .await
            .expect("writes");
        let head = read_head(&mut again).await;
        assert!(head.starts_with("HTTP/1.1 502"), "{head}");
        tap.stop().await;
    })
    .await
    .expect("within the deadline");
}

#[tokio::test]
async fn an_app_that_drops_a_websocket_gives_an_error_record() {
    tokio::time::timeout(DEADLINE, async {
        let (port, _endpoint) = scripted_endpoint(frame(true, 1, None, b"hi"), 1 << 20).await;
        let (tap, mut rx, _cancel) = tap_to(&format!("ws://127.0.0.1:{port}")).await;
        let mut s = TcpStream::connect(tap.addr()).await.expect("connect");
        s.write_all(b"GET / HTTP/1.1\r\nHost: app\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            .await
            .expect("writes");
        let _ = read_head(&mut s).await;
        assert_eq!(next(&mut rx).await.kind(), "open");
        assert_eq!(next(&mut rx).await.body, Body::Text("hi".into()));
        drop(s);
        match next(&mut rx).await.body {
            Body::Error { message, cause, .. } => {
                assert_eq!(cause, Some(Cause::TransportLost));
                assert!(message.contains("the app closed the connection without a close frame"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        tap.stop().await;
    })
    .await
    .expect("within the deadline");
}

/// A port where nobody listens: bound but not listening, so a connection is refused, and
/// kept bound while the test runs, so the tap cannot be given the same port (and then
/// relay to itself).
fn dead_port() -> (tokio::net::TcpSocket, u16) {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let port = socket.local_addr().expect("addr").port();
    (socket, port)
}

#[tokio::test]
async fn an_upstream_that_refuses_gives_error_records_and_502s_without_stopping_the_tap() {
    tokio::time::timeout(DEADLINE, async {
        let (_held, port) = dead_port();
        let (tap, mut rx, _cancel) = tap_to(&format!("http://127.0.0.1:{port}")).await;
        for request in [
            "GET /ws HTTP/1.1\r\nHost: app\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            "GET /events HTTP/1.1\r\nHost: app\r\nAccept: text/event-stream\r\n\r\n",
        ] {
            let mut s = TcpStream::connect(tap.addr()).await.expect("connect");
            s.write_all(request.as_bytes()).await.expect("writes");
            let head = read_head(&mut s).await;
            assert!(head.starts_with("HTTP/1.1 502"), "{head}");
            let r = next(&mut rx).await;
            assert_eq!(r.seq, 1);
            match &r.body {
                Body::Error { message, cause, .. } => {
                    assert_eq!(*cause, Some(Cause::Refused), "{message}");
                    assert!(message.contains(&port.to_string()), "{message}");
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(tap.counts().failed, 2);
        tap.stop().await;
    })
    .await
    .expect("within the deadline");
}

#[tokio::test]
async fn a_refused_handshake_reaches_the_app_as_it_came_and_is_recorded_with_its_status() {
    tokio::time::timeout(DEADLINE, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let _ = read_head(&mut s).await;
            let _ = s
                .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\nX-Why: token\r\n\r\nno token\n")
                .await;
        });
        let (tap, mut rx, _cancel) = tap_to(&format!("ws://127.0.0.1:{port}")).await;
        let mut s = TcpStream::connect(tap.addr()).await.expect("connect");
        s.write_all(b"GET / HTTP/1.1\r\nHost: app\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            .await
            .expect("writes");
        let head = read_head(&mut s).await;
        assert!(head.starts_with("HTTP/1.1 403"), "{head}");
        assert!(head.to_ascii_lowercase().contains("x-why: token"), "{head}");
        let body = read_exact(&mut s, 9).await;
        assert_eq!(body, b"no token\n");
        match next(&mut rx).await.body {
            Body::Error { message, cause, status, .. } => {
                assert_eq!((cause, status), (Some(Cause::HandshakeRejected), Some(403)));
                assert!(message.contains("403 Forbidden") && message.ends_with("no token"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        tap.stop().await;
    })
    .await
    .expect("within the deadline");
}

#[tokio::test]
async fn a_tap_listens_on_loopback_only() {
    let (tx, _rx) = mpsc::channel(1);
    let spec = TapSpec {
        listen: "0.0.0.0:0".parse().expect("addr"),
        upstream: parse_upstream("ws://127.0.0.1:1/").expect("url"),
        tls: TlsOptions::default(),
    };
    let err = streamscope_tap::start(
        spec,
        Arc::new(Printed::new(tx, CancellationToken::new())),
        CancellationToken::new(),
    )
    .await
    .err()
    .expect("refused");
    assert!(matches!(err, TapError::NotLoopback(_)), "{err}");
    assert!(err.to_string().contains("127.0.0.1:PORT"), "{err}");
}

#[tokio::test]
async fn a_tapped_connection_is_a_session_connection_that_refuses_to_send_and_closes_both_sides() {
    tokio::time::timeout(DEADLINE, async {
        let (port, _endpoint) = scripted_endpoint(frame(true, 1, None, b"hi"), 1 << 20).await;
        let session = Session::default();
        let spec = TapSpec {
            listen: "127.0.0.1:0".parse().expect("addr"),
            upstream: parse_upstream(&format!("ws://127.0.0.1:{port}")).expect("url"),
            tls: TlsOptions::default(),
        };
        let tap = streamscope_tap::start(spec, Arc::new(session.clone()), CancellationToken::new())
            .await
            .expect("starts");
        let mut s = TcpStream::connect(tap.addr()).await.expect("connect");
        s.write_all(b"GET / HTTP/1.1\r\nHost: app\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            .await
            .expect("writes");
        let _ = read_head(&mut s).await;
        let _ = read_exact(&mut s, 4).await;
        let (_, listing) = session.listing();
        assert_eq!(listing.len(), 1);
        let id = listing[0].id;
        assert!(listing[0].name.starts_with("tap 127.0.0.1:"), "{}", listing[0].name);
        let refused = session.send(id, Command::Text("x".into())).await.expect_err("refused");
        assert!(refused.to_string().contains("cannot send"), "{refused}");
        session.close(id).await.expect("close is allowed");
        // The app's side is closed by the tap.
        let mut rest = Vec::new();
        let n = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest))
            .await
            .expect("the app's side closes")
            .unwrap_or(0);
        assert_eq!(n, 0);
        let mut records = Vec::new();
        for _ in 0..50 {
            records.clear();
            session.records(id, 1, 100, &mut records).expect("records");
            if records.len() >= 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let kinds: Vec<&str> = records.iter().map(Record::kind).collect();
        assert_eq!(kinds, ["open", "text", "error"]);
        tap.stop().await;
    })
    .await
    .expect("within the deadline");
}

#[tokio::test]
async fn a_posted_stream_keeps_the_apps_headers_and_body_and_records_the_body_as_out() {
    tokio::time::timeout(DEADLINE, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (seen_tx, seen_rx) = oneshot::channel();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let head = read_head(&mut s).await;
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|v| v.trim().parse().ok())
                .expect("the body's length is sent");
            let body = read_exact(&mut s, length).await;
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\ndata: {\"token\":\"hi\"}\n\ndata: [DONE]\n\n")
                .await
                .expect("writes");
            let _ = seen_tx.send((head, body));
        });
        let (tap, mut rx, _cancel) = tap_to(&format!("http://127.0.0.1:{port}/api")).await;
        let mut s = TcpStream::connect(tap.addr()).await.expect("connect");
        let body = r#"{"prompt":"hello","stream":true}"#;
        s.write_all(
            format!(
                "POST /v1/stream HTTP/1.1\r\nHost: app\r\nAuthorization: Bearer sekrit\r\nAccept: text/event-stream\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .expect("writes");
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).await.expect("reads");
        assert!(String::from_utf8_lossy(&answer).contains("[DONE]"));
        let (head, got) = seen_rx.await.expect("the endpoint saw the request");
        assert!(head.starts_with("POST /api/v1/stream HTTP/1.1\r\n"), "{head}");
        assert!(head.contains("authorization: Bearer sekrit"), "{head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        assert_eq!(got, body.as_bytes());
        let records = [next(&mut rx).await, next(&mut rx).await, next(&mut rx).await, next(&mut rx).await, next(&mut rx).await];
        let kinds: Vec<(&str, Dir)> = records.iter().map(|r| (r.kind(), r.dir)).collect();
        assert_eq!(
            kinds,
            [("text", Dir::Out), ("open", Dir::Meta), ("event", Dir::In), ("event", Dir::In), ("end", Dir::Meta)]
        );
        assert_eq!(records[0].body, Body::Text(body.into()));
        tap.stop().await;
    })
    .await
    .expect("within the deadline");
}

#[tokio::test]
async fn a_compressed_event_stream_is_relayed_as_it_came_and_says_why_it_is_not_read() {
    tokio::time::timeout(DEADLINE, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        // Not real gzip: the tap must not touch the bytes either way.
        let coded: &[u8] = &[0x1f, 0x8b, 8, 0, 1, 2, 3];
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let head = read_head(&mut s).await;
            assert!(!head.to_ascii_lowercase().contains("accept-encoding"), "{head}");
            let mut answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n".to_vec();
            answer.extend_from_slice(coded);
            s.write_all(&answer).await.expect("writes");
        });
        let (tap, mut rx, _cancel) = tap_to(&format!("http://127.0.0.1:{port}")).await;
        let mut s = TcpStream::connect(tap.addr()).await.expect("connect");
        s.write_all(b"GET /e HTTP/1.1\r\nHost: app\r\nAccept: text/event-stream\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n")
            .await
            .expect("writes");
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).await.expect("reads");
        assert!(answer.windows(coded.len()).any(|w| w == coded), "the coded bytes pass unchanged");
        assert_eq!(next(&mut rx).await.kind(), "open");
        match next(&mut rx).await.body {
            Body::Error { message, .. } => assert!(message.contains("Content-Encoding: gzip"), "{message}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(next(&mut rx).await.kind(), "end");
        tap.stop().await;
    })
    .await
    .expect("within the deadline");
}

#[tokio::test]
async fn a_tap_whose_upstream_is_itself_is_refused_before_it_relays() {
    // A free port, named as both the tap's address and its upstream (by name, too).
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        l.local_addr().expect("addr").port()
    };
    for upstream in [
        format!("http://127.0.0.1:{port}/events"),
        format!("ws://localhost:{port}/"),
    ] {
        let spec = TapSpec {
            listen: format!("127.0.0.1:{port}").parse().expect("addr"),
            upstream: parse_upstream(&upstream).expect("upstream"),
            tls: TlsOptions::default(),
        };
        let (tx, _rx) = mpsc::channel(16);
        let cancel = CancellationToken::new();
        let conns = Arc::new(Printed::new(tx, cancel.clone()));
        let refused = streamscope_tap::start(spec, conns, cancel).await;
        let Err(e) = refused else {
            panic!("a tap relaying to itself started ({upstream})");
        };
        assert!(e.to_string().contains("is the tap itself"), "{e}");
    }
}
