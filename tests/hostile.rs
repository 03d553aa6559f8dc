//! Hostile peers: `sscope ws` against a raw TCP peer that breaks RFC 6455 on purpose, or
//! keeps to the letter of it in ways that used to hang a run. Each scenario states what
//! the records, the cause and the exit status must be; future changes keep them so.
//!
//! Covered here: a close handshake whose TCP is never closed (both orders), close codes
//! and reasons that may not be sent, broken `101` answers, frames no server may send
//! (reserved bits, masks, oversized or fragmented control frames, a stray continuation,
//! a one-byte close, data after the close), and heads that never end. Frame details a
//! well-meaning server produces live in `ws_frames.rs`.

use std::time::Duration;

use streamscope_e2e::raw::ws_frame;
use streamscope_e2e::{RawServer, Run, Script, sscope};

const CONTINUATION: u8 = 0;
const TEXT: u8 = 1;
const CLOSE: u8 = 8;
const PING: u8 = 9;

fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason);
    payload
}

/// The peer broke the protocol with one bad frame after `open`: an `error` with cause
/// `protocol_violation`, then our close with `code` (RFC 6455 §7.1.7: fail the
/// connection), nothing from the bad frame recorded, exit 1.
#[track_caller]
fn expect_failed_with_our_close(run: &Run, code: u16) {
    run.expect_failure();
    assert_eq!(
        run.kinds(),
        ["meta open", "meta error", "out close"],
        "{run}"
    );
    assert_eq!(run.cause(), "protocol_violation", "{run}");
    assert_eq!(run.one("close").code, Some(code), "{run}");
}

/// Runs `sscope ws` against a peer that accepts and then writes `frame`.
async fn after_open(frame: Vec<u8>) -> Run {
    let server = RawServer::start(vec![
        Script::new().ws_accept(None).write(frame).await_close(),
    ])
    .await;
    sscope(["ws", &server.ws_url("/")]).await
}

// The close handshake (RFC 6455 §7.1.1)

#[tokio::test]
async fn ws_peer_that_keeps_tcp_open_after_its_close_handshake_does_not_hang_the_run() {
    // The peer closes, reads our reply, then neither closes TCP nor sends anything.
    let server = RawServer::start(vec![
        Script::new()
            .ws_accept(None)
            .write(ws_frame(true, CLOSE, &close_payload(1000, b"bye")))
            .await_close()
            .hold(),
    ])
    .await;
    let run = sscope(["ws", &server.ws_url("/")]).await;
    run.expect_success();
    assert_eq!(run.kinds(), ["meta open", "in close", "out close"], "{run}");
    run.expect_peer_close(1000, "bye");
}

/// A peer that answers our close and then keeps TCP open must not hang the run (RFC 6455
/// §7.1.1: the client may close TCP after a reasonable time), and one that resets the
/// connection after the handshake completed has still closed properly.
#[tokio::test]
async fn ws_peer_that_answers_our_close_then_holds_or_resets_tcp_ends_the_run_cleanly() {
    type Ending = fn(Script) -> Script;
    let endings: [(&str, Ending); 2] =
        [("keeps TCP open", Script::hold), ("resets", Script::reset)];
    for (how, end) in endings {
        let answers_our_close = Script::new()
            .ws_accept(None)
            .write(ws_frame(true, TEXT, b"one"))
            .await_close()
            .write(ws_frame(true, CLOSE, &close_payload(1000, b"")));
        let server = RawServer::start(vec![end(answers_our_close)]).await;
        let run = sscope(["ws", &server.ws_url("/"), "--count", "1"]).await;
        run.expect_success();
        assert_eq!(
            run.kinds(),
            ["meta open", "in text", "out close", "in close"],
            "a peer that {how}: {run}"
        );
    }
}

#[tokio::test]
async fn ws_pong_owed_when_the_peer_closes_does_not_fail_a_completed_handshake() {
    // Our first ping (at 0.1 s) is never answered; the peer closes at about 0.3 s and
    // keeps TCP open. The pong deadline (1.0 s) falls inside the wait for the peer's TCP
    // close, and must not turn a completed handshake into a dead-peer failure.
    let server = RawServer::start(vec![
        Script::new()
            .ws_accept(None)
            .pause_ms(300)
            .write(ws_frame(true, CLOSE, &close_payload(1000, b"bye")))
            .await_close()
            .hold(),
    ])
    .await;
    let run = sscope([
        "ws",
        &server.ws_url("/"),
        "--ping-interval",
        "0.1",
        "--pong-timeout",
        "0.9",
    ])
    .await;
    run.expect_success();
    run.expect_peer_close(1000, "bye");
    run.expect_last("out close");
}

// Close codes and reasons (RFC 6455 §7.4, §5.5.1)

/// `sscope ws` against a peer that opens, closes with `code` and reason "bye", and reads
/// our answer.
async fn peer_closes_with(code: u16) -> Run {
    let server = RawServer::start(vec![
        Script::new()
            .ws_accept(None)
            .write(ws_frame(true, CLOSE, &close_payload(code, b"bye")))
            .await_close(),
    ])
    .await;
    sscope(["ws", &server.ws_url("/")]).await
}

#[tokio::test]
async fn ws_close_codes_that_may_not_be_sent_are_recorded_as_sent_and_fail_the_run() {
    for code in [0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65535] {
        let run = peer_closes_with(code).await;
        run.expect_failure();
        assert_eq!(
            run.kinds(),
            ["meta open", "in close", "out close", "meta error"],
            "code {code}\n{run}"
        );
        run.expect_peer_close(code, "bye");
        let ours = run.all_dir("out", "close")[0];
        assert_eq!(
            (ours.code, ours.reason.as_deref()),
            (Some(1002), Some("Protocol violation")),
            "code {code}\n{run}"
        );
        assert_eq!(run.cause(), "protocol_violation", "code {code}\n{run}");
        let message = run.one("error").message.clone().unwrap_or_default();
        assert!(
            message.contains(&format!("close code {code}")),
            "code {code}\n{run}"
        );
    }
}

#[tokio::test]
async fn ws_close_codes_that_may_be_sent_complete_the_handshake() {
    for code in [1000, 1001, 1003, 1011, 3000, 4999] {
        let run = peer_closes_with(code).await;
        run.expect_success();
        run.expect_peer_close(code, "bye");
        let ours = run.all_dir("out", "close")[0];
        assert_eq!(ours.code, Some(code), "code {code}\n{run}");
    }
}

#[tokio::test]
async fn ws_reply_to_our_close_with_a_code_that_may_not_be_sent_fails_the_run() {
    let server = RawServer::start(vec![
        Script::new()
            .ws_accept(None)
            .write(ws_frame(true, TEXT, b"one"))
            .await_close()
            .write(ws_frame(true, CLOSE, &close_payload(1005, b"bye"))),
    ])
    .await;
    let run = sscope(["ws", &server.ws_url("/"), "--count", "1"]).await;
    run.expect_failure();
    assert_eq!(
        run.kinds(),
        [
            "meta open",
            "in text",
            "out close",
            "in close",
            "meta error"
        ],
        "{run}"
    );
    assert_eq!(run.all_dir("in", "close")[0].code, Some(1005), "{run}");
    assert_eq!(run.cause(), "protocol_violation", "{run}");
}

#[tokio::test]
async fn ws_close_reason_that_is_not_utf8_is_named_as_such() {
    let run = after_open(ws_frame(true, CLOSE, &close_payload(1000, b"by\xffe"))).await;
    expect_failed_with_our_close(&run, 1007);
    assert_eq!(
        run.error_message(),
        "the peer sent a close reason that is not valid UTF-8",
        "{run}"
    );
}

#[tokio::test]
async fn ws_text_that_is_not_utf8_before_a_close_is_still_named_a_text_message() {
    // The wire watch must not take the bad text for the close frame that follows it.
    let mut segment = ws_frame(true, TEXT, b"a\xffb");
    segment.extend(ws_frame(true, CLOSE, &close_payload(1000, b"x\xff")));
    let run = after_open(segment).await;
    expect_failed_with_our_close(&run, 1007);
    assert_eq!(
        run.error_message(),
        "the peer sent a text message that is not valid UTF-8",
        "{run}"
    );
}

#[tokio::test]
async fn ws_close_with_a_one_byte_payload_fails_with_1002() {
    // RFC 6455 §5.5.1: a close body is empty or starts with a two-byte code.
    let run = after_open(ws_frame(true, CLOSE, &[3])).await;
    expect_failed_with_our_close(&run, 1002);
}

#[tokio::test]
async fn ws_data_frame_after_the_peers_close_is_a_protocol_error() {
    let mut segment = ws_frame(true, CLOSE, &close_payload(1000, b""));
    segment.extend(ws_frame(true, TEXT, b"late"));
    let run = after_open(segment).await;
    run.expect_failure();
    assert_eq!(
        run.kinds(),
        ["meta open", "in close", "out close", "meta error"],
        "{run}"
    );
    assert!(run.all_dir("in", "text").is_empty(), "{run}");
    assert_eq!(run.cause(), "protocol_violation", "{run}");
    assert_eq!(
        run.error_message(),
        "the peer sent a frame after its close frame",
        "{run}"
    );
}

// Frames no server may send (RFC 6455 §5)

#[tokio::test]
async fn ws_reserved_bit_without_negotiation_fails_with_1002() {
    let mut frame = ws_frame(true, TEXT, b"hi");
    frame[0] |= 0x40; // RSV1: permessage-deflate was not offered
    expect_failed_with_our_close(&after_open(frame).await, 1002);
}

#[tokio::test]
async fn ws_masked_server_frame_fails_with_1002() {
    let key = [1u8, 2, 3, 4];
    let mut frame = vec![0x81, 0x80 | 2, key[0], key[1], key[2], key[3]];
    frame.extend(b"hi".iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    expect_failed_with_our_close(&after_open(frame).await, 1002);
}

#[tokio::test]
async fn ws_control_frame_over_125_bytes_fails_with_1002() {
    let run = after_open(ws_frame(true, PING, &[b'p'; 126])).await;
    expect_failed_with_our_close(&run, 1002);
    assert!(run.all("ping").is_empty(), "{run}");
}

#[tokio::test]
async fn ws_fragmented_control_frame_fails_with_1002() {
    let mut frames = ws_frame(false, PING, b"pi");
    frames.extend(ws_frame(true, CONTINUATION, b"ng"));
    expect_failed_with_our_close(&after_open(frames).await, 1002);
}

#[tokio::test]
async fn ws_continuation_without_a_start_fails_with_1002() {
    let run = after_open(ws_frame(true, CONTINUATION, b"orphan")).await;
    expect_failed_with_our_close(&run, 1002);
}

// Broken `101` answers (RFC 6455 §4.1): one error with status and headers, no open

/// Runs `sscope ws` against a 101 answer edited as `omit` and `extra` say.
async fn broken_accept(omit: &[&str], extra: &[(&str, &str)]) -> Run {
    let server = RawServer::start(vec![Script::new().ws_accept_edited(omit, extra).hold()]).await;
    sscope(["ws", &server.ws_url("/")]).await
}

#[track_caller]
fn expect_refused_101(run: &Run, names: &str) {
    run.expect_failure();
    assert_eq!(run.kinds(), ["meta error"], "{run}");
    assert_eq!(run.cause(), "protocol_violation", "{run}");
    let error = run.one("error");
    assert_eq!(error.status, Some(101), "{run}");
    assert!(error.headers.is_some(), "{run}");
    let message = error.message.as_deref().unwrap_or_default();
    assert!(message.contains(names), "{names:?}\n{run}");
}

#[tokio::test]
async fn ws_101_with_a_wrong_accept_key_is_refused() {
    let run = broken_accept(
        &["sec-websocket-accept"],
        &[("Sec-WebSocket-Accept", "dGhlIHNhbXBsZSBub25jZQ==")],
    )
    .await;
    expect_refused_101(&run, "Sec-WebSocket-Accept \"dGhlIHNhbXBsZSBub25jZQ==\"");
    assert_eq!(
        run.one("error").header("sec-websocket-accept"),
        Some("dGhlIHNhbXBsZSBub25jZQ=="),
        "{run}"
    );
}

#[tokio::test]
async fn ws_101_without_an_accept_key_is_refused() {
    let run = broken_accept(&["sec-websocket-accept"], &[]).await;
    expect_refused_101(&run, "without Sec-WebSocket-Accept");
}

#[tokio::test]
async fn ws_101_without_upgrade_is_refused() {
    let run = broken_accept(&["upgrade"], &[("X-Served-By", "raw")]).await;
    expect_refused_101(&run, "without `Upgrade: websocket`");
    assert_eq!(run.one("error").header("x-served-by"), Some("raw"), "{run}");
}

#[tokio::test]
async fn ws_101_without_connection_upgrade_is_refused() {
    let run = broken_accept(&["connection"], &[]).await;
    expect_refused_101(&run, "without `Connection: Upgrade`");
}

#[tokio::test]
async fn ws_101_with_an_extension_we_did_not_offer_is_refused() {
    let run = broken_accept(
        &[],
        &[("Sec-WebSocket-Extensions", "x-webkit-deflate-frame")],
    )
    .await;
    expect_refused_101(&run, "x-webkit-deflate-frame");
}

#[tokio::test]
async fn ws_101_with_permessage_deflate_when_we_did_not_offer_it_is_refused() {
    let server = RawServer::start(vec![
        Script::new()
            .ws_accept_edited(&[], &[("Sec-WebSocket-Extensions", "permessage-deflate")])
            .hold(),
    ])
    .await;
    let run = sscope(["ws", &server.ws_url("/"), "--no-deflate"]).await;
    expect_refused_101(&run, "permessage-deflate");
    assert_eq!(
        server.request().header("sec-websocket-extensions"),
        None,
        "--no-deflate offers nothing"
    );
}

#[tokio::test]
async fn ws_101_with_permessage_deflate_parameters_rfc_7692_forbids_is_refused() {
    for (answer, names) in [
        // We offered client_max_window_bits without a value; the answer must give one.
        (
            "permessage-deflate; client_max_window_bits",
            "client_max_window_bits",
        ),
        (
            "permessage-deflate; server_max_window_bits=16",
            "server_max_window_bits",
        ),
        ("permessage-deflate; mystery=1", "mystery"),
        (
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "twice",
        ),
        ("permessage-deflate, permessage-deflate", "only one"),
    ] {
        let run = broken_accept(&[], &[("Sec-WebSocket-Extensions", answer)]).await;
        expect_refused_101(&run, names);
    }
}

#[tokio::test]
async fn ws_101_with_a_subprotocol_we_did_not_offer_is_refused() {
    let run = broken_accept(&[], &[("Sec-WebSocket-Protocol", "chat")]).await;
    expect_refused_101(&run, "chose subprotocol \"chat\"");
}

// Heads that never end

#[tokio::test]
async fn ws_head_trickling_forever_ends_at_the_connect_timeout() {
    // A slowloris answer: a header line every 100 ms, never the blank line that ends the
    // head. Progress must not extend the time allowed for the handshake.
    let pieces = (0..400).map(|i| format!("X-Slow-{i}: a\r\n"));
    let server = RawServer::start(vec![
        Script::new()
            .write("HTTP/1.1 101 Switching Protocols\r\n")
            .trickle(pieces, 100)
            .hold(),
    ])
    .await;
    let run = sscope(["ws", &server.ws_url("/"), "--connect-timeout", "1"]).await;
    run.expect_failure();
    assert_eq!(run.kinds(), ["meta error"], "{run}");
    assert_eq!(run.cause(), "connect_timeout", "{run}");
}

#[tokio::test]
async fn ws_endless_header_line_is_refused_at_a_bound() {
    // 16 MiB of one header line, far past any real head: the client stops reading at its
    // bound and says so, instead of buffering what the peer sends.
    let mut script = Script::new().write("HTTP/1.1 101 Switching Protocols\r\nX-Long: ");
    for _ in 0..256 {
        script = script.write(vec![b'a'; 64 << 10]);
    }
    let server = RawServer::start(vec![script.hold()]).await;
    let run = streamscope_e2e::Sscope::new(["ws", &server.ws_url("/")])
        .deadline(Duration::from_secs(20))
        .run()
        .await;
    run.expect_failure();
    assert_eq!(run.kinds(), ["meta error"], "{run}");
    assert_eq!(run.cause(), "too_big", "{run}");
}
