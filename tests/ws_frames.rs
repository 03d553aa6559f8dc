//! `sscope ws` against hand-made frames from the raw peer: what a library peer would not
//! produce but real servers do (fragments, a ping between fragments, a close in the same
//! segment as data, an unsolicited pong), and what breaks the protocol (bad UTF-8, masked
//! or reserved-bit frames, a cut frame, a reset, a non-101 answer).

use std::time::Duration;

use streamscope_e2e::raw::ws_frame;
use streamscope_e2e::{Gate, RawServer, Run, Script, Sscope, sscope};

const CONTINUATION: u8 = 0;
const TEXT: u8 = 1;
const BINARY: u8 = 2;
const CLOSE: u8 = 8;
const PING: u8 = 9;
const PONG: u8 = 10;

fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason.as_bytes());
    payload
}

/// After the accept, `frames`, then a normal close 1000 that waits for the client's reply.
fn accepted_then(frames: Vec<Vec<u8>>) -> Script {
    let mut script = Script::new().ws_accept(None);
    for frame in frames {
        script = script.write(frame).pause_ms(20);
    }
    script
        .write(ws_frame(true, CLOSE, &close_payload(1000, "done")))
        .await_close()
}

#[tokio::test]
async fn ws_fragmented_message_is_one_record() {
    let server = RawServer::start(vec![accepted_then(vec![
        ws_frame(false, TEXT, b"hel"),
        ws_frame(true, CONTINUATION, b"lo"),
    ])])
    .await;
    let run = sscope(["ws", &server.ws_url("/")]).await;
    run.expect_success();
    run.expect_kinds(&["meta open", "in text", "in close", "out close"]);
    let text = run.one("text");
    assert_eq!((text.text(), text.size), ("hello", Some(5)), "{run}");
    run.expect_peer_close(1000, "done");
}

#[tokio::test]
async fn ws_ping_between_fragments_is_answered_and_recorded_in_wire_order() {
    let server = RawServer::start(vec![accepted_then(vec![
        ws_frame(false, BINARY, b"ab"),
        ws_frame(true, PING, b"p"),
        ws_frame(true, CONTINUATION, b"cd"),
    ])])
    .await;
    let run = sscope(["ws", &server.ws_url("/")]).await;
    run.expect_success();
    run.expect_kinds(&[
        "meta open",
        "in ping",
        "out pong",
        "in binary",
        "in close",
        "out close",
    ]);
    assert_eq!(run.one("binary").bytes(), b"abcd", "{run}");
    assert_eq!(run.one("pong").bytes(), b"p", "{run}");
}

#[tokio::test]
async fn ws_data_and_close_in_one_segment_lose_nothing() {
    let mut segment = ws_frame(true, TEXT, b"last");
    segment.extend(ws_frame(true, CLOSE, &close_payload(1000, "")));
    let server = RawServer::start(vec![
        Script::new().ws_accept(None).write(segment).await_close(),
    ])
    .await;
    let run = sscope(["ws", &server.ws_url("/")]).await;
    run.expect_success();
    run.expect_kinds(&["meta open", "in text", "in close", "out close"]);
    assert_eq!(run.one("text").text(), "last", "{run}");
}

#[tokio::test]
async fn ws_unsolicited_pong_is_an_in_record_and_gets_no_answer() {
    let server = RawServer::start(vec![accepted_then(vec![
        ws_frame(true, PONG, b"hb"),
        ws_frame(true, TEXT, b"x"),
    ])])
    .await;
    let run = sscope(["ws", &server.ws_url("/")]).await;
    run.expect_success();
    run.expect_kinds(&["meta open", "in pong", "in text", "in close", "out close"]);
}

#[tokio::test]
async fn ws_open_from_a_raw_server_without_subprotocol_has_lowercase_headers() {
    let server = RawServer::start(vec![accepted_then(vec![ws_frame(true, TEXT, b"x")])]).await;
    let run = sscope(["ws", &server.ws_url("/")]).await;
    run.expect_success();
    let open = run.one("open");
    assert_eq!(open.subprotocol, None, "{run}");
    // The raw server spells them `Upgrade`, `Sec-WebSocket-Accept`.
    assert_eq!(open.header("upgrade"), Some("websocket"), "{run}");
    assert!(open.header("sec-websocket-accept").is_some(), "{run}");
}

#[tokio::test]
async fn ws_invalid_utf8_in_a_text_message_is_a_protocol_error() {
    let server = RawServer::start(vec![accepted_then(vec![ws_frame(true, TEXT, b"a\xffb")])]).await;
    let run = sscope(["ws", &server.ws_url("/")]).await;
    run.expect_failure();
    assert_eq!(run.cause(), "protocol_violation", "{run}");
    assert!(run.all_dir("in", "text").is_empty(), "{run}");
}

#[tokio::test]
async fn ws_masked_frame_from_the_server_is_a_protocol_error() {
    // RFC 6455 5.1: a client closes the connection on a masked frame.
    let key = [1u8, 2, 3, 4];
    let mut frame = vec![0x81, 0x80 | 2, key[0], key[1], key[2], key[3]];
    frame.extend(b"hi".iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    let server = RawServer::start(vec![accepted_then(vec![frame])]).await;
    let run = sscope(["ws", &server.ws_url("/")]).await;
    run.expect_failure();
    assert!(run.all_dir("in", "text").is_empty(), "{run}");
}

#[tokio::test]
async fn ws_reserved_bit_without_an_extension_is_a_protocol_error() {
    let mut frame = ws_frame(true, TEXT, b"hi");
    frame[0] |= 0x40; // RSV1, with no extension negotiated
    let server = RawServer::start(vec![accepted_then(vec![frame])]).await;
    let run = sscope(["ws", &server.ws_url("/")]).await;
    run.expect_failure();
    assert!(run.all_dir("in", "text").is_empty(), "{run}");
}

#[tokio::test]
async fn ws_unknown_opcode_is_a_protocol_error() {
    let server = RawServer::start(vec![accepted_then(vec![ws_frame(true, 3, b"?")])]).await;
    let run = sscope(["ws", &server.ws_url("/")]).await;
    run.expect_failure();
}

#[tokio::test]
async fn ws_close_with_a_one_byte_payload_is_a_protocol_error() {
    // RFC 6455 5.5.1: a close body is empty or starts with a two-byte code.
    let server = RawServer::start(vec![
        Script::new()
            .ws_accept(None)
            .write(ws_frame(true, CLOSE, &[3]))
            .await_close(),
    ])
    .await;
    let run = sscope(["ws", &server.ws_url("/")]).await;
    run.expect_failure();
}

#[tokio::test]
async fn ws_frame_cut_by_end_of_stream_is_an_error() {
    // A header announcing 10 bytes, 3 bytes, then FIN.
    let server = RawServer::start(vec![
        Script::new()
            .ws_accept(None)
            .write([0x81, 10, b'a', b'b', b'c']),
    ])
    .await;
    let run = sscope(["ws", &server.ws_url("/")]).await;
    run.expect_failure();
    assert!(run.all_dir("in", "text").is_empty(), "{run}");
}

#[tokio::test]
async fn ws_connection_reset_after_open_is_an_error() {
    // The reset waits until sscope has printed the frame before it (see `Gate`).
    let gate = Gate::new();
    let server = RawServer::start(vec![
        Script::new()
            .ws_accept(None)
            .write(ws_frame(true, TEXT, b"before"))
            .wait(&gate)
            .reset(),
    ])
    .await;
    let mut live = Sscope::new(["ws", &server.ws_url("/")])
        .deadline(Duration::from_secs(10))
        .spawn();
    live.expect("meta open").await;
    assert_eq!(live.expect("in text").await.text(), "before");
    gate.open();
    live.expect("meta error").await;
    assert_eq!(live.wait().await, 1);
}

/// `sscope ws` with `args` against a peer that sends one 1,200-byte binary message in
/// three fragments of 400 bytes.
async fn three_fragments_with(args: &[&str]) -> Run {
    let fragments = vec![
        ws_frame(false, BINARY, &[1; 400]),
        ws_frame(false, CONTINUATION, &[2; 400]),
        ws_frame(true, CONTINUATION, &[3; 400]),
    ];
    let server = RawServer::start(vec![accepted_then(fragments)]).await;
    let url = server.ws_url("/");
    sscope(["ws", url.as_str()].iter().chain(args).copied()).await
}

#[tokio::test]
async fn ws_fragments_adding_up_past_max_message_are_an_error() {
    let run = three_fragments_with(&["--max-message", "1000", "--max-frame", "600"]).await;
    run.expect_failure();
    assert!(run.all_dir("in", "binary").is_empty(), "{run}");
}

#[tokio::test]
async fn ws_fragments_under_the_limits_make_one_message_bigger_than_max_frame() {
    let run = three_fragments_with(&["--max-frame", "600", "--count", "1"]).await;
    run.expect_success();
    assert_eq!(run.one("binary").size, Some(1200), "{run}");
}

#[tokio::test]
async fn ws_plain_http_answer_is_one_error_with_status_and_headers() {
    let server = RawServer::start(vec![Script::respond(
        "200 OK",
        &[("Content-Type", "text/plain"), ("X-Served-By", "raw")],
        "not a websocket",
    )])
    .await;
    let run = sscope(["ws", &server.ws_url("/")]).await;
    run.expect_failure();
    run.expect_kinds(&["meta error"]);
    let error = run.one("error");
    assert_eq!(error.status, Some(200), "{run}");
    assert_eq!(error.header("x-served-by"), Some("raw"), "{run}");
    assert_eq!(error.header("content-type"), Some("text/plain"), "{run}");
}

#[tokio::test]
async fn ws_repeated_response_headers_are_joined_with_comma_space() {
    let server = RawServer::start(vec![Script::respond(
        "404 Not Found",
        &[("X-Dup", "a"), ("X-Dup", "b")],
        "",
    )])
    .await;
    let run = sscope(["ws", &server.ws_url("/")]).await;
    run.expect_failure();
    assert_eq!(run.one("error").header("x-dup"), Some("a, b"), "{run}");
}

#[tokio::test]
async fn ws_rejected_handshake_with_a_chunked_body_quotes_its_first_body_line() {
    // A plain HTTP server answering an upgrade with a chunked 200: the chunk-size line
    // ("22") is framing, not text.
    let server = RawServer::start(vec![Script::new().write(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n\
         22\r\n\r\nnot a websocket endpoint, sorry\n\r\n0\r\n\r\n",
    )])
    .await;
    let url = server.ws_url("/events");
    let run = sscope(["ws", &url]).await;
    run.expect_failure();
    run.expect_kinds(&["meta error"]);
    assert_eq!(run.cause(), "handshake_rejected", "{run}");
    let error = run.one("error");
    assert_eq!(error.status, Some(200), "{run}");
    assert_eq!(
        error.message.as_deref(),
        Some(
            format!("handshake rejected: 200 OK from {url}: not a websocket endpoint, sorry")
                .as_str()
        ),
        "{run}"
    );
    assert!(
        run.stderr().contains("not a websocket endpoint, sorry"),
        "{run}"
    );
}
