//! `sscope` against third-party servers: Python `websockets` and `aiohttp` (WebSocket and
//! SSE), started from tests/interop/servers.py, and Node's `ws` with perMessageDeflate in
//! three configurations, from tests/interop/ws_server.mjs. Our scripted peers could share
//! our own misreading of an RFC; these cannot. Missing Python, Node or modules fail these
//! tests with what to install (`pip install websockets aiohttp brotli`; `npm ci` in
//! tests/interop): they never pass silently.

use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

use streamscope_e2e::sscope;

/// The Python servers of one test; dropping this kills the process by pid.
struct Peers {
    child: Child,
    websockets: u16,
    aiohttp: u16,
}

#[derive(Deserialize)]
struct Ports {
    websockets: u16,
    aiohttp: u16,
}

impl Drop for Peers {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl Peers {
    fn websockets(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.websockets)
    }

    fn aiohttp_ws(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.aiohttp)
    }

    fn aiohttp(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.aiohttp)
    }
}

const INSTALL: &str = "interop tests need Python 3 with websockets, aiohttp and brotli: \
     `pip install websockets aiohttp brotli`";

const INSTALL_NODE: &str =
    "interop tests need Node with ws: `cd tests/interop && npm ci` (or `make interop-deps`)";

/// Node `ws` servers, one per perMessageDeflate configuration; dropping this kills them.
struct NodePeers {
    child: Child,
    ports: NodePorts,
}

#[derive(Deserialize)]
struct NodePorts {
    /// Context takeover both ways (ws's default).
    takeover: u16,
    /// server_no_context_takeover and client_no_context_takeover.
    no_takeover: u16,
    /// 512-byte windows both ways (window bits 9).
    small_window: u16,
}

impl Drop for NodePeers {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn node_peers() -> NodePeers {
    let script = script_path("ws_server.mjs");
    let (child, line) = start("node", &script, INSTALL_NODE).await;
    let ports: NodePorts =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad ports line {line:?}: {e}"));
    NodePeers { child, ports }
}

fn ws(port: u16, path: &str) -> String {
    format!("ws://127.0.0.1:{port}{path}")
}

async fn peers() -> Peers {
    let script = script_path("servers.py");
    let (child, line) = start("python3", &script, INSTALL).await;
    let ports: Ports =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad ports line {line:?}: {e}"));
    Peers {
        child,
        websockets: ports.websockets,
        aiohttp: ports.aiohttp,
    }
}

/// A script of tests/interop/, found at run time: a binary built in another checkout must
/// run this checkout's scripts.
fn script_path(name: &str) -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned())
        + "/interop/"
        + name
}

/// Starts `program script` and returns it with the first line it printed (its ports).
async fn start(program: &str, script: &str, install: &str) -> (Child, String) {
    let mut child = Command::new(program)
        .arg(script)
        // Our end of stdin closes when this process dies, which ends the servers too.
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{install}: starting {program} failed ({e})"));
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    // Generous: every test starts its own pair of servers, and on a loaded machine a dozen
    // Pythons importing aiohttp at once take their time. A bound, not a speed check.
    let first = tokio::time::timeout(Duration::from_secs(90), lines.next_line()).await;
    let line = match first {
        Ok(Ok(Some(line))) => line,
        other => {
            let _ = child.start_kill();
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ =
                    tokio::time::timeout(Duration::from_secs(2), pipe.read_to_string(&mut stderr))
                        .await;
            }
            panic!("{install}: {script} printed no ports ({other:?})\n{stderr}");
        }
    };
    (child, line)
}

#[tokio::test]
async fn interop_websockets_echo_round_trips_text_and_binary() {
    let peers = peers().await;
    let run = sscope([
        "ws",
        &peers.websockets("/echo"),
        "--send",
        "hello",
        "--send-binary",
        "0001ff",
        "--count",
        "2",
    ])
    .await;
    run.expect_success();
    assert_eq!(run.all_dir("in", "text")[0].text(), "hello", "{run}");
    assert_eq!(run.all_dir("in", "binary")[0].bytes(), [0, 1, 255], "{run}");
    assert_eq!(run.all_dir("out", "close")[0].code, Some(1000), "{run}");
    assert_eq!(
        run.kinds().last().map(String::as_str),
        Some("in close"),
        "the peer's close reply\n{run}"
    );
}

#[tokio::test]
async fn interop_websockets_close_with_code_and_reason_exits_zero() {
    let peers = peers().await;
    let run = sscope(["ws", &peers.websockets("/close")]).await;
    run.expect_success();
    run.expect_kinds(&["meta open", "in text", "in close", "out close"]);
    run.expect_peer_close(4000, "done here");
}

#[tokio::test]
async fn interop_websockets_policy_close_still_completes_the_handshake() {
    let peers = peers().await;
    let run = sscope(["ws", &peers.websockets("/nowhere")]).await;
    run.expect_success();
    assert_eq!(run.all_dir("in", "close")[0].code, Some(1008), "{run}");
}

#[tokio::test]
async fn interop_websockets_ping_gets_our_pong() {
    let peers = peers().await;
    let run = sscope(["ws", &peers.websockets("/ping"), "--count", "1"]).await;
    run.expect_success();
    assert_eq!(
        &run.kinds()[..4],
        ["meta open", "in ping", "out pong", "in text"],
        "{run}"
    );
    assert_eq!(run.one("pong").bytes(), b"py", "{run}");
}

#[tokio::test]
async fn interop_websockets_answers_our_pings() {
    let peers = peers().await;
    let run = sscope([
        "ws",
        &peers.websockets("/echo"),
        "--ping-interval",
        "0.1",
        "--timeout",
        "0.8",
    ])
    .await;
    run.expect_success();
    assert!(!run.all_dir("in", "pong").is_empty(), "{run}");
}

#[tokio::test]
async fn interop_websockets_negotiates_a_subprotocol() {
    let peers = peers().await;
    let run = sscope([
        "ws",
        &peers.websockets("/subprotocol"),
        "--subprotocol",
        "superchat",
        "--count",
        "1",
    ])
    .await;
    run.expect_success();
    assert_eq!(
        run.one("open").subprotocol.as_deref(),
        Some("superchat"),
        "{run}"
    );
    assert_eq!(run.all_dir("in", "text")[0].text(), "superchat", "{run}");
}

#[tokio::test]
async fn interop_websockets_sees_our_custom_header() {
    let peers = peers().await;
    let run = sscope([
        "ws",
        &peers.websockets("/headers"),
        "-H",
        "X-Api-Key: k1",
        "--count",
        "1",
    ])
    .await;
    run.expect_success();
    assert_eq!(run.all_dir("in", "text")[0].text(), "k1", "{run}");
}

#[tokio::test]
async fn interop_aiohttp_websocket_echoes_and_closes_with_its_code() {
    let peers = peers().await;
    let run = sscope([
        "ws",
        &peers.aiohttp_ws("/ws"),
        "--subprotocol",
        "chat",
        "--send",
        "one",
        "--send-binary",
        "ff00",
        "--send",
        "close please",
    ])
    .await;
    run.expect_success();
    assert_eq!(
        run.one("open").subprotocol.as_deref(),
        Some("chat"),
        "{run}"
    );
    assert_eq!(run.all_dir("in", "text")[0].text(), "one", "{run}");
    assert_eq!(run.all_dir("in", "binary")[0].bytes(), [0xff, 0], "{run}");
    run.expect_peer_close(4001, "as asked");
    run.expect_last("out close");
}

#[tokio::test]
async fn interop_aiohttp_sse_reconnects_with_last_event_id() {
    let peers = peers().await;
    let run = sscope(["sse", &peers.aiohttp("/sse"), "--count", "4"]).await;
    run.expect_success().expect_single_conn();
    assert_eq!(
        run.event_data(),
        ["n=1\nlast=", "n=2\nlast=", "n=3\nlast=2", "n=4\nlast=2"],
        "{run}"
    );
    let ids = run.event_ids();
    assert_eq!(ids, [Some("1"), Some("2"), Some("3"), Some("4")], "{run}");
    assert!(
        run.all("event")
            .iter()
            .all(|r| r.event.as_deref() == Some("tick")),
        "{run}"
    );
    assert_eq!(run.all("comment")[0].text(), " hello from aiohttp", "{run}");
    assert_eq!(run.all("retry")[0].retry_ms, Some(50), "{run}");
    let reconnect = run.one("reconnect");
    assert_eq!(
        (
            reconnect.attempt,
            reconnect.last_event_id.as_deref(),
            reconnect.retry_ms
        ),
        (Some(1), Some("2"), Some(50)),
        "{run}"
    );
    assert!(
        run.position("meta end") < run.position("meta reconnect"),
        "{run}"
    );
    // aiohttp streams chunked, one chunk per write: the comment and the retry came in
    // one 32-byte chunk ("20\r\n" before it), each event in its own (the CRLF after the
    // chunk before, and "28\r\n" or "29\r\n").
    let framing: Vec<(&str, Option<u64>)> = run
        .records
        .iter()
        .filter(|r| r.dir == "in")
        .map(|r| (r.kind.as_str(), r.framing_bytes))
        .collect();
    let first = [("comment", Some(4)), ("retry", Some(0))];
    let event = ("event", Some(2 + 4));
    let want = [
        first[0], first[1], event, event, first[0], first[1], event, event,
    ];
    assert_eq!(framing, want, "{run}");
}

#[tokio::test]
async fn interop_aiohttp_gzip_sse_is_decoded() {
    let peers = peers().await;
    let run = sscope(["sse", &peers.aiohttp("/sse?gzip=1"), "--no-reconnect"]).await;
    run.expect_success();
    assert_eq!(run.event_data(), ["n=1\nlast=", "n=2\nlast="], "{run}");
    run.expect_last("meta end");
}

#[tokio::test]
async fn interop_gzip_sse_gives_each_event_the_compressed_bytes_of_its_flush() {
    coded_sse_shares("gzip").await;
}

#[tokio::test]
async fn interop_brotli_sse_is_decoded_with_each_event_given_its_flush() {
    coded_sse_shares("br").await;
}

/// A stream in `coding` that flushes each event: every event's `compressed_size` is the
/// size of its flush, as the server counted it.
async fn coded_sse_shares(coding: &str) {
    let peers = peers().await;
    let url = peers.aiohttp(&format!("/sse-coded-flushed?coding={coding}"));
    let run = sscope(["sse", &url, "--no-reconnect"]).await;
    run.expect_success();
    let events: Vec<_> = run.records.iter().filter(|r| r.kind == "event").collect();
    assert_eq!(events.len(), 4, "{run}");
    let told = events[3]
        .data
        .as_deref()
        .and_then(|d| d.strip_prefix("sizes="))
        .expect("the last event lists the sizes");
    let sizes: Vec<u64> = told.split(',').filter_map(|s| s.parse().ok()).collect();
    let shares: Vec<u64> = events[..3]
        .iter()
        .map(|e| e.compressed_size.expect("compressed_size on a gzip event"))
        .collect();
    assert_eq!(shares, sizes, "{run}");
    for e in &events[..3] {
        // The event stream's own bytes: `data: ` + 200 + 1 + the blank line.
        assert_eq!(e.wire_bytes, Some(6 + 201 + 2), "{run}");
        assert!(
            e.compressed_size < e.wire_bytes,
            "a repetitive event compresses"
        );
        // Chunked too: each flush was one chunk, whose size line came before the event.
        assert!(e.framing_bytes.is_some_and(|f| f > 0), "{run}");
    }
}

#[tokio::test]
async fn interop_aiohttp_sse_post_carries_the_body() {
    let peers = peers().await;
    let run = sscope([
        "sse",
        &peers.aiohttp("/sse-post"),
        "--body",
        "q=1",
        "--no-reconnect",
    ])
    .await;
    run.expect_success();
    assert_eq!(run.event_data(), ["POST q=1"], "{run}");
}

#[tokio::test]
async fn interop_aiohttp_sse_403_is_one_error_with_status_and_headers() {
    let peers = peers().await;
    let run = sscope(["sse", &peers.aiohttp("/sse-forbidden")]).await;
    run.expect_failure();
    run.expect_kinds(&["meta error"]);
    let error = run.one("error");
    assert_eq!(error.status, Some(403), "{run}");
    assert_eq!(error.header("x-why"), Some("test"), "{run}");
}

#[tokio::test]
async fn interop_aiohttp_sse_204_is_an_end() {
    let peers = peers().await;
    let run = sscope(["sse", &peers.aiohttp("/sse-204")]).await;
    run.expect_success();
    run.expect_kinds(&["meta end"]);
}

// permessage-deflate (RFC 7692) against third-party peers

/// A text that compresses well, and better still with the previous message's window.
const REPETITIVE: &str = "streamscope streamscope streamscope streamscope streamscope";

#[tokio::test]
async fn interop_websockets_agrees_to_deflate_and_both_ways_are_compressed() {
    let peers = peers().await;
    let url = peers.websockets("/echo");
    let run = sscope(["ws", &url, "--send", REPETITIVE, "--count", "1"]).await;
    run.expect_success();
    let open = run.one("open");
    assert!(
        open.extensions
            .as_deref()
            .is_some_and(|e| e.starts_with("permessage-deflate")),
        "{run}"
    );
    assert!(
        open.request_size.is_some() && open.response_size.is_some(),
        "{run}"
    );
    for dir in ["out", "in"] {
        let text = run.all_dir(dir, "text")[0];
        assert_eq!(text.text(), REPETITIVE, "{run}");
        let compressed = text.compressed_size.expect("compressed");
        assert!(compressed < REPETITIVE.len() as u64 / 2, "{dir}: {run}");
    }
}

#[tokio::test]
async fn interop_websockets_without_deflate_sends_and_gets_plain_frames() {
    let peers = peers().await;
    let url = peers.websockets("/echo");
    let run = sscope([
        "ws",
        &url,
        "--no-deflate",
        "--send",
        REPETITIVE,
        "--count",
        "1",
    ])
    .await;
    run.expect_success();
    assert_eq!(run.one("open").extensions, None, "{run}");
    assert!(
        run.all("text").iter().all(|r| r.compressed_size.is_none()),
        "{run}"
    );
}

#[tokio::test]
async fn interop_websockets_fragmented_compressed_message_lists_its_frames() {
    let peers = peers().await;
    let run = sscope(["ws", &peers.websockets("/fragments"), "--count", "1"]).await;
    run.expect_success();
    let text = run.all_dir("in", "text")[0];
    assert_eq!(
        text.text(),
        "one two three one two three one two three",
        "{run}"
    );
    // websockets ends a fragmented send with a final continuation of no text (one byte
    // of DEFLATE): four frames.
    assert_eq!(text.frames, Some(4), "{run}");
    let list = text.frame_list.as_ref().expect("frame_list");
    assert!(list[3].fin && list[3].len <= 1, "{run}");
    assert!(list[0].rsv1 && text.compressed_size.is_some(), "{run}");
}

/// Sends REPETITIVE three times to a Node `ws` echo server and returns the run.
async fn node_echo(port: u16) -> streamscope_e2e::Run {
    let url = ws(port, "/");
    let mut args = vec!["ws", url.as_str()];
    for _ in 0..3 {
        args.extend(["--send", REPETITIVE]);
    }
    args.extend(["--count", "3"]);
    let run = sscope(args).await;
    run.expect_success();
    let echoed: Vec<&str> = run.all_dir("in", "text").iter().map(|r| r.text()).collect();
    assert_eq!(echoed, [REPETITIVE; 3], "{run}");
    run
}

fn compressed_sizes(run: &streamscope_e2e::Run, dir: &str) -> Vec<u64> {
    run.all_dir(dir, "text")
        .iter()
        .map(|r| r.compressed_size.expect("every message compressed"))
        .collect()
}

#[tokio::test]
async fn interop_node_ws_with_context_takeover_compresses_repeats_smaller() {
    let peers = node_peers().await;
    let run = node_echo(peers.ports.takeover).await;
    // The second copy refers back to the first through the kept window, both ways.
    for dir in ["out", "in"] {
        let sizes = compressed_sizes(&run, dir);
        assert!(sizes[1] < sizes[0], "{dir} {sizes:?}\n{run}");
    }
}

#[tokio::test]
async fn interop_node_ws_without_context_takeover_compresses_each_message_afresh() {
    let peers = node_peers().await;
    let run = node_echo(peers.ports.no_takeover).await;
    let ext = run.one("open").extensions.clone().unwrap_or_default();
    assert!(ext.contains("client_no_context_takeover"), "{run}");
    assert!(ext.contains("server_no_context_takeover"), "{run}");
    // With no window kept, every copy costs the same: ours too, as the server asked.
    for dir in ["out", "in"] {
        let sizes = compressed_sizes(&run, dir);
        assert!(
            sizes.iter().all(|&s| s == sizes[0]),
            "{dir} {sizes:?}\n{run}"
        );
    }
}

#[tokio::test]
async fn interop_node_ws_with_small_windows_round_trips_and_lists_fragments() {
    let peers = node_peers().await;
    let run = node_echo(peers.ports.small_window).await;
    let ext = run.one("open").extensions.clone().unwrap_or_default();
    assert!(ext.contains("client_max_window_bits=9"), "{run}");
    let url = ws(peers.ports.small_window, "/fragments");
    let run = sscope(["ws", &url, "--count", "1"]).await;
    run.expect_success();
    let text = run.all_dir("in", "text")[0];
    assert_eq!(
        text.text(),
        "one two three one two three one two three",
        "{run}"
    );
    assert_eq!(text.frames, Some(3), "{run}");
}
