//! `sscope ws` against hand-made frames with permessage-deflate (RFC 7692) and the wire
//! figures every record carries: fragments with pings between them, a compressed message
//! in fragments, RSV1 where nothing was agreed, and a decompression bomb. The peers'
//! compressed bytes are made here with flate2, not by the engine's own code.

use flate2::{Compress, Compression, FlushCompress};

use streamscope_e2e::raw::ws_frame;
use streamscope_e2e::record::frame_header_len;
use streamscope_e2e::{RawServer, Run, Script, sscope};

const CONTINUATION: u8 = 0;
const TEXT: u8 = 1;
const BINARY: u8 = 2;
const CLOSE: u8 = 8;
const PING: u8 = 9;

const AGREED: (&str, &str) = ("Sec-WebSocket-Extensions", "permessage-deflate");

/// RFC 7692 §7.2.1: raw DEFLATE, flushed with an empty stored block whose last four
/// bytes (00 00 ff ff) are removed.
fn deflate(payload: &[u8]) -> Vec<u8> {
    let mut c = Compress::new(Compression::default(), false);
    let mut out = Vec::with_capacity(payload.len() + 64);
    loop {
        let done = usize::try_from(c.total_in()).expect("fits");
        c.compress_vec(&payload[done..], &mut out, FlushCompress::Sync)
            .expect("compresses");
        if c.total_in() as usize == payload.len() && out.len() < out.capacity() {
            break;
        }
        out.reserve(out.capacity());
    }
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

fn with_rsv1(mut frame: Vec<u8>) -> Vec<u8> {
    frame[0] |= 0x40;
    frame
}

fn close_1000() -> Vec<u8> {
    ws_frame(true, CLOSE, &1000u16.to_be_bytes())
}

/// Runs `sscope ws` with `args` against a peer that accepts (agreeing to deflate when
/// `agree`), writes `frames` in one go, then closes with 1000 and reads our reply.
async fn peer_writes(agree: bool, frames: Vec<Vec<u8>>, args: &[&str]) -> Run {
    let extra: &[(&str, &str)] = if agree { &[AGREED] } else { &[] };
    let mut script = Script::new().ws_accept_edited(&[], extra);
    for frame in frames {
        script = script.write(frame);
    }
    let server = RawServer::start(vec![script.write(close_1000()).await_close()]).await;
    let url = server.ws_url("/");
    sscope(["ws", url.as_str()].iter().chain(args).copied()).await
}

#[tokio::test]
async fn ws_fragments_with_pings_between_them_are_one_message_listing_its_frames() {
    let run = peer_writes(
        false,
        vec![
            ws_frame(false, BINARY, &[1; 200]),
            ws_frame(true, PING, b"a"),
            ws_frame(false, CONTINUATION, &[2; 100]),
            ws_frame(true, PING, b"b"),
            ws_frame(true, CONTINUATION, &[3; 5]),
        ],
        &[],
    )
    .await;
    run.expect_success();
    run.expect_kinds(&[
        "meta open",
        "in ping",
        "out pong",
        "in ping",
        "out pong",
        "in binary",
        "in close",
        "out close",
    ]);
    let message = run.one("binary");
    assert_eq!(message.size, Some(305), "{run}");
    assert_eq!(message.frames, Some(3), "{run}");
    let list = message.frame_list.as_ref().expect("frame_list");
    let shape: Vec<(bool, u8, u64)> = list.iter().map(|f| (f.fin, f.opcode, f.len)).collect();
    assert_eq!(
        shape,
        [(false, 2, 200), (false, 0, 100), (true, 0, 5)],
        "{run}"
    );
    // 200 bytes need the 16-bit length: 4 + 2 + 2 header bytes.
    assert_eq!(message.wire_bytes, Some(4 + 200 + 2 + 100 + 2 + 5), "{run}");
    assert_eq!(message.compressed_size, None, "{run}");
    // Our pongs are masked: 2 + 4 + 1.
    for pong in run.all_dir("out", "pong") {
        assert_eq!((pong.wire_bytes, pong.frames), (Some(7), Some(1)), "{run}");
    }
}

#[tokio::test]
async fn ws_compressed_message_in_fragments_is_inflated_and_its_frames_listed() {
    let text = "compressed and fragmented, compressed and fragmented, compressed!";
    let packed = deflate(text.as_bytes());
    let (a, rest) = packed.split_at(packed.len() / 3);
    let (b, c) = rest.split_at(rest.len() / 2);
    let run = peer_writes(
        true,
        vec![
            // RFC 7692 §6.1: RSV1 on the first frame only.
            with_rsv1(ws_frame(false, TEXT, a)),
            ws_frame(true, PING, b"mid"),
            ws_frame(false, CONTINUATION, b),
            ws_frame(true, CONTINUATION, c),
            // And one unfragmented compressed message after it, on the same window
            // rules (ours starts afresh, which any inflater reads).
            with_rsv1(ws_frame(true, TEXT, &deflate(b"again"))),
        ],
        &[],
    )
    .await;
    run.expect_success();
    run.expect_kinds(&[
        "meta open",
        "in ping",
        "out pong",
        "in text",
        "in text",
        "in close",
        "out close",
    ]);
    assert_eq!(
        run.one("open").extensions.as_deref(),
        Some("permessage-deflate"),
        "{run}"
    );
    let texts = run.all_dir("in", "text");
    assert_eq!(texts[0].text(), text, "{run}");
    assert_eq!(texts[0].compressed_size, Some(packed.len() as u64), "{run}");
    let list = texts[0].frame_list.as_ref().expect("frame_list");
    let rsv1: Vec<bool> = list.iter().map(|f| f.rsv1).collect();
    assert_eq!(rsv1, [true, false, false], "{run}");
    assert_eq!(texts[1].text(), "again", "{run}");
    assert_eq!(texts[1].frames, Some(1), "{run}");
}

#[tokio::test]
async fn ws_rsv1_without_an_agreed_extension_fails_with_1002() {
    // We offer permessage-deflate; this peer does not agree, then sets RSV1 anyway.
    let run = peer_writes(
        false,
        vec![with_rsv1(ws_frame(true, TEXT, &deflate(b"hi")))],
        &[],
    )
    .await;
    run.expect_failure();
    assert_eq!(
        run.kinds(),
        ["meta open", "meta error", "out close"],
        "{run}"
    );
    assert_eq!(run.cause(), "protocol_violation", "{run}");
    assert!(run.error_message().contains("RSV1"), "{run}");
    assert_eq!(run.one("close").code, Some(1002), "{run}");
}

#[tokio::test]
async fn ws_rsv1_on_a_continuation_fails_with_1002() {
    let run = peer_writes(
        true,
        vec![
            with_rsv1(ws_frame(false, TEXT, &deflate(b"a"))),
            with_rsv1(ws_frame(true, CONTINUATION, b"")),
        ],
        &[],
    )
    .await;
    run.expect_failure();
    assert_eq!(run.cause(), "protocol_violation", "{run}");
    assert_eq!(run.one("close").code, Some(1002), "{run}");
}

#[tokio::test]
async fn ws_compression_bomb_stops_at_the_message_limit_as_too_big() {
    // 64 MiB of zeros in about 64 KiB on the wire, against a 1 MB limit.
    let bomb = deflate(&vec![0u8; 64 << 20]);
    assert!(bomb.len() < 1 << 20, "{}", bomb.len());
    let run = peer_writes(
        true,
        vec![with_rsv1(ws_frame(true, BINARY, &bomb))],
        &["--max-message", "1000000", "--max-frame", "2000000"],
    )
    .await;
    run.expect_failure();
    assert_eq!(
        run.kinds(),
        ["meta open", "meta error", "out close"],
        "{run}"
    );
    assert_eq!(run.cause(), "too_big", "{run}");
    assert!(run.error_message().contains("1000000"), "{run}");
    assert_eq!(run.one("close").code, Some(1009), "{run}");
}

#[tokio::test]
async fn ws_sent_messages_are_compressed_once_agreed_and_plain_when_not() {
    let long = "abc".repeat(100);
    for (agree, args) in [(true, vec![]), (false, vec!["--no-deflate"])] {
        let mut all = vec!["--send", long.as_str(), "--timeout", "0.3"];
        all.extend(args);
        let server = RawServer::start(vec![
            Script::new()
                .ws_accept_edited(&[], if agree { &[AGREED] } else { &[] })
                .await_close(),
        ])
        .await;
        let url = server.ws_url("/");
        let run = sscope(["ws", url.as_str()].iter().chain(&all).copied()).await;
        let sent = run.all_dir("out", "text")[0];
        assert_eq!(sent.text(), long, "{run}");
        match sent.compressed_size {
            Some(c) => {
                assert!(agree, "{run}");
                assert!(c < 30, "300 repeated bytes deflate to a few: {c}\n{run}");
                assert_eq!(
                    sent.wire_bytes,
                    Some(frame_header_len(c, true) + c),
                    "{run}"
                );
            }
            None => {
                assert!(!agree, "{run}");
                assert_eq!(sent.wire_bytes, Some(4 + 4 + 300), "{run}");
            }
        }
        let offered = server
            .request()
            .header("sec-websocket-extensions")
            .map(str::to_owned);
        assert_eq!(
            offered.as_deref(),
            (!args_no_deflate(&all)).then_some("permessage-deflate; client_max_window_bits"),
        );
    }
}

fn args_no_deflate(args: &[&str]) -> bool {
    args.contains(&"--no-deflate")
}

#[tokio::test]
async fn ws_open_record_carries_the_handshake_sizes() {
    let run = peer_writes(false, vec![], &[]).await;
    run.expect_success();
    let open = run.one("open");
    let request = open.request_size.expect("request_size");
    let response = open.response_size.expect("response_size");
    // Our request head names the path, the key and the offer; the raw peer's 101 head
    // holds three headers.
    assert!((150..400).contains(&request), "{run}");
    assert!((90..200).contains(&response), "{run}");
    assert_eq!(open.extensions, None, "{run}");
}

#[tokio::test]
async fn ws_message_in_more_frames_than_are_listed_counts_them_all() {
    // 300 one-byte fragments: all counted, the first 256 listed.
    let mut frames = vec![ws_frame(false, BINARY, b"x")];
    frames.extend((0..298).map(|_| ws_frame(false, CONTINUATION, b"x")));
    frames.push(ws_frame(true, CONTINUATION, b"x"));
    let run = peer_writes(false, vec![frames.concat()], &[]).await;
    run.expect_success();
    let message = run.one("binary");
    assert_eq!(
        (message.size, message.frames),
        (Some(300), Some(300)),
        "{run}"
    );
    assert_eq!(message.wire_bytes, Some(300 * 3), "{run}");
    assert_eq!(
        message.frame_list.as_ref().map(Vec::len),
        Some(256),
        "{run}"
    );
}
