//! `sscope ws` against a scripted tungstenite peer: the open record, data and control
//! frames, the close handshake, failures, and the flags of the CLI spec. Frames that only
//! a broken peer would send are in ws_frames.rs; argument errors in cli_args.rs.

use std::time::Duration;

use streamscope_e2e::{Handshake, Received, Sscope, WsServer, WsStep, closed_port, sscope};

fn text(s: &str) -> WsStep {
    WsStep::Text(s.to_string())
}

#[tokio::test]
async fn ws_open_record_has_status_101_lowercase_headers_and_the_chosen_subprotocol() {
    let server = WsServer::start_with(
        Handshake::default()
            .subprotocol("chat.v2")
            .header("X-Streamscope-Test", "Yes")
            .header("X-Dup", "a")
            .header("X-Dup", "b"),
        vec![text("hi")],
    )
    .await;
    let run = sscope([
        "ws",
        &server.url("/socket?x=1"),
        "--subprotocol",
        "chat.v1",
        "--subprotocol",
        "chat.v2",
        "--count",
        "1",
    ])
    .await;
    run.expect_success().expect_single_conn();
    assert_eq!(run.records[0].dir_kind(), "meta open", "{run}");
    let open = run.one("open");
    assert_eq!(
        (open.proto.as_str(), open.seq, open.status),
        ("ws", 1, Some(101)),
        "{run}"
    );
    assert_eq!(open.subprotocol.as_deref(), Some("chat.v2"), "{run}");
    assert_eq!(open.header("x-streamscope-test"), Some("Yes"), "{run}");
    assert_eq!(
        open.header("sec-websocket-protocol"),
        Some("chat.v2"),
        "{run}"
    );
    assert!(open.header("sec-websocket-accept").is_some(), "{run}");
    // CONTRACT.md: repeated response headers are joined with ", ".
    assert_eq!(open.header("x-dup"), Some("a, b"), "{run}");

    let request = server.request();
    assert_eq!(request.target, "/socket?x=1");
    let offered = request.header_all("sec-websocket-protocol");
    assert_eq!(
        offered.len(),
        1,
        "subprotocols go as one list header: {request:?}"
    );
    let list: Vec<&str> = offered[0].split(',').map(str::trim).collect();
    assert_eq!(
        list,
        ["chat.v1", "chat.v2"],
        "offered in command-line order"
    );
}

#[tokio::test]
async fn ws_open_without_a_negotiated_subprotocol_has_no_subprotocol_field() {
    let server = WsServer::start(vec![text("hi")]).await;
    let run = sscope(["ws", &server.url("/"), "--count", "1"]).await;
    run.expect_success();
    assert_eq!(run.one("open").subprotocol, None, "{run}");
    assert_eq!(server.request().header("sec-websocket-protocol"), None);
}

#[tokio::test]
async fn ws_text_records_carry_data_and_utf8_byte_size() {
    let server = WsServer::start(vec![text("héllo ☃"), text("")]).await;
    let run = sscope(["ws", &server.url("/"), "--count", "2"]).await;
    run.expect_success();
    let texts = run.all_dir("in", "text");
    assert_eq!(texts.len(), 2, "{run}");
    assert_eq!(
        (texts[0].text(), texts[0].size),
        ("héllo ☃", Some(10)),
        "{run}"
    );
    assert_eq!((texts[1].text(), texts[1].size), ("", Some(0)), "{run}");
    assert!(texts.iter().all(|r| r.data_b64.is_none()), "{run}");
}

#[tokio::test]
async fn ws_binary_records_carry_padded_base64_and_size() {
    let server = WsServer::start(vec![
        WsStep::Binary(vec![0, 1, 2, 255, 254]),
        WsStep::Binary(Vec::new()),
    ])
    .await;
    let run = sscope(["ws", &server.url("/"), "--count", "2"]).await;
    run.expect_success();
    let binaries = run.all_dir("in", "binary");
    assert_eq!(binaries.len(), 2, "{run}");
    assert_eq!(binaries[0].data_b64.as_deref(), Some("AAEC//4="), "{run}");
    assert_eq!(binaries[0].size, Some(5), "{run}");
    assert_eq!(binaries[1].data_b64.as_deref(), Some(""), "{run}");
    assert_eq!(binaries[1].size, Some(0), "{run}");
    assert!(binaries.iter().all(|r| r.data.is_none()), "{run}");
}

#[tokio::test]
async fn ws_many_messages_all_become_records_in_order() {
    let script: Vec<WsStep> = (0..2000).map(|i| WsStep::Text(format!("m{i}"))).collect();
    let server = WsServer::start(script).await;
    let run = sscope(["ws", &server.url("/"), "--count", "2000"]).await;
    run.expect_success();
    let got: Vec<&str> = run
        .all_dir("in", "text")
        .into_iter()
        .map(|r| r.text())
        .collect();
    let want: Vec<String> = (0..2000).map(|i| format!("m{i}")).collect();
    assert_eq!(got, want, "nothing dropped or reordered");
}

#[tokio::test]
async fn ws_server_ping_is_answered_by_an_out_pong_record_with_the_same_payload() {
    let server = WsServer::start(vec![WsStep::Ping(b"hb".to_vec()), text("after")]).await;
    let run = sscope(["ws", &server.url("/"), "--count", "1"]).await;
    run.expect_success();
    assert_eq!(
        run.kinds(),
        [
            "meta open",
            "in ping",
            "out pong",
            "in text",
            "out close",
            "in close"
        ],
        "the pong the library sends by itself is a record, right after the ping\n{run}"
    );
    let ping = run.one("ping");
    let pong = run.one("pong");
    assert_eq!(
        (ping.data_b64.as_deref(), ping.size),
        (Some("aGI="), Some(2)),
        "{run}"
    );
    assert_eq!(
        (pong.data_b64.as_deref(), pong.size),
        (Some("aGI="), Some(2)),
        "{run}"
    );
    assert!(
        server.received().contains(&Received::Pong(b"hb".to_vec())),
        "the pong went over the wire: {:?}",
        server.received()
    );
}

#[tokio::test]
async fn ws_empty_ping_gives_empty_base64_on_ping_and_pong() {
    let server = WsServer::start(vec![WsStep::Ping(Vec::new()), text("after")]).await;
    let run = sscope(["ws", &server.url("/"), "--count", "1"]).await;
    run.expect_success();
    for kind in ["ping", "pong"] {
        let r = run.one(kind);
        assert_eq!(
            (r.data_b64.as_deref(), r.size),
            (Some(""), Some(0)),
            "{kind}\n{run}"
        );
    }
}

#[tokio::test]
async fn ws_peer_close_is_recorded_in_then_answered_out_and_exits_zero() {
    let server = WsServer::start(vec![
        text("bye soon"),
        WsStep::Close(Some((1001, "going away".into()))),
    ])
    .await;
    let run = sscope(["ws", &server.url("/")]).await;
    run.expect_success();
    run.expect_kinds(&["meta open", "in text", "in close", "out close"]);
    run.expect_peer_close(1001, "going away");
    assert!(
        server
            .received()
            .iter()
            .any(|r| matches!(r, Received::Close(_))),
        "the close reply went over the wire: {:?}",
        server.received()
    );
}

#[tokio::test]
async fn ws_peer_close_with_an_application_code_still_exits_zero() {
    let server = WsServer::start(vec![WsStep::Close(Some((4000, "custom".into())))]).await;
    let run = sscope(["ws", &server.url("/")]).await;
    run.expect_success();
    run.expect_peer_close(4000, "custom");
    run.expect_last("out close");
}

#[tokio::test]
async fn ws_close_frame_without_payload_gives_a_close_record_without_code() {
    let server = WsServer::start(vec![WsStep::Close(None)]).await;
    let run = sscope(["ws", &server.url("/")]).await;
    run.expect_success();
    run.expect_kinds(&["meta open", "in close", "out close"]);
    let peer = run.all_dir("in", "close")[0];
    assert_eq!(peer.code, None, "{run}");
    assert!(peer.reason.as_deref().is_none_or(str::is_empty), "{run}");
}

#[tokio::test]
async fn ws_tcp_drop_without_close_frame_is_an_error_naming_1006_and_exits_one() {
    let server = WsServer::start(vec![text("last words"), WsStep::DropTcp]).await;
    let run = sscope(["ws", &server.url("/")]).await;
    run.expect_failure();
    run.expect_kinds(&["meta open", "in text", "meta error"]);
    let message = run.one("error").message.clone().unwrap_or_default();
    assert!(
        message.contains("1006"),
        "the error names the abnormal closure: {message:?}"
    );
}

#[tokio::test]
async fn ws_count_closes_with_1000_after_n_inbound_messages() {
    // The peer then waits: only --count can end this run.
    let server = WsServer::start(vec![text("a"), WsStep::Binary(vec![1])]).await;
    let run = sscope(["ws", &server.url("/"), "--count", "2"]).await;
    run.expect_success();
    run.expect_kinds(&["meta open", "in text", "in binary", "out close", "in close"]);
    assert_eq!(run.all_dir("out", "close")[0].code, Some(1000), "{run}");
    assert!(
        server
            .received()
            .iter()
            .any(|r| matches!(r, Received::Close(Some((1000, _))))),
        "the peer got close 1000: {:?}",
        server.received()
    );
}

#[tokio::test]
async fn ws_count_does_not_count_control_frames() {
    let server = WsServer::start(vec![
        WsStep::Ping(b"1".to_vec()),
        WsStep::Ping(b"2".to_vec()),
        text("only"),
    ])
    .await;
    let run = sscope(["ws", &server.url("/"), "--count", "1"]).await;
    run.expect_success();
    assert_eq!(run.all("ping").len(), 2, "{run}");
    assert_eq!(run.all_dir("in", "text").len(), 1, "{run}");
}

#[tokio::test]
async fn ws_send_and_send_binary_go_out_in_command_line_order_right_after_open() {
    let server = WsServer::start(vec![WsStep::Echo]).await;
    let run = sscope([
        "ws",
        &server.url("/"),
        "--send",
        "one",
        "--send-binary",
        "de ad:be ef",
        "--send",
        "two",
        "--count",
        "3",
    ])
    .await;
    run.expect_success();
    assert_eq!(
        &run.kinds()[..4],
        ["meta open", "out text", "out binary", "out text"],
        "{run}"
    );
    assert_eq!(run.records[1].text(), "one", "{run}");
    assert_eq!(
        run.records[2].data_b64.as_deref(),
        Some("3q2+7w=="),
        "{run}"
    );
    assert_eq!(run.records[2].size, Some(4), "{run}");
    assert_eq!(run.records[3].text(), "two", "{run}");
    assert_eq!(
        &server.received()[..3],
        [
            Received::Text("one".into()),
            Received::Binary(vec![0xde, 0xad, 0xbe, 0xef]),
            Received::Text("two".into()),
        ],
        "the peer got them in order"
    );
    let echoed: Vec<String> = run.records[4..]
        .iter()
        .filter(|r| r.dir == "in" && (r.kind == "text" || r.kind == "binary"))
        .map(|r| r.dir_kind())
        .collect();
    assert_eq!(echoed, ["in text", "in binary", "in text"], "{run}");
}

#[tokio::test]
async fn ws_send_binary_accepts_plain_and_upper_case_hex() {
    let server = WsServer::start(vec![WsStep::Echo]).await;
    let run = sscope([
        "ws",
        &server.url("/"),
        "--send-binary",
        "00FFa5",
        "--count",
        "1",
    ])
    .await;
    run.expect_success();
    assert_eq!(
        server.received()[0],
        Received::Binary(vec![0x00, 0xff, 0xa5])
    );
    assert_eq!(
        run.all_dir("out", "binary")[0].data_b64.as_deref(),
        Some("AP+l"),
        "{run}"
    );
}

#[tokio::test]
async fn ws_stdin_lines_are_sent_after_the_send_messages() {
    let server = WsServer::start(vec![WsStep::Echo]).await;
    let run = Sscope::new([
        "ws",
        &server.url("/"),
        "--send",
        "first",
        "--stdin",
        "--count",
        "3",
    ])
    .stdin("a\nb\n")
    .run()
    .await;
    run.expect_success();
    let sent: Vec<&str> = run
        .all_dir("out", "text")
        .into_iter()
        .map(|r| r.text())
        .collect();
    assert_eq!(sent, ["first", "a", "b"], "{run}");
    assert_eq!(
        &server.received()[..3],
        [
            Received::Text("first".into()),
            Received::Text("a".into()),
            Received::Text("b".into())
        ]
    );
}

#[tokio::test]
async fn ws_stdin_lines_are_sent_as_they_are_typed_and_eof_keeps_reading() {
    let server = WsServer::start(vec![WsStep::Echo]).await;
    let mut live = Sscope::new(["ws", &server.url("/"), "--stdin"])
        .deadline(Duration::from_secs(10))
        .spawn();
    live.expect("meta open").await;
    live.write_stdin(b"typed\n").await;
    assert_eq!(live.expect("out text").await.text(), "typed");
    assert_eq!(live.expect("in text").await.text(), "typed");
    live.close_stdin();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!live.has_exited(), "EOF on stdin keeps reading the peer");
}

/// SIGTERM (what `kill` and `timeout` send) and SIGHUP stop a run as Ctrl-C does: our close
/// with 1000, the peer's answer, exit 0; not a TCP drop the peer sees as 1006.
#[tokio::test]
async fn ws_stop_signals_close_properly_and_exit_zero() {
    for signal in ["INT", "TERM", "HUP"] {
        let server = WsServer::start(vec![WsStep::Echo]).await;
        let mut live = Sscope::new(["ws", &server.url("/")])
            .deadline(Duration::from_secs(10))
            .spawn();
        live.expect("meta open").await;
        live.signal(signal);
        assert_eq!(live.expect("out close").await.code, Some(1000), "{signal}");
        live.expect("in close").await;
        assert_eq!(live.wait().await, 0, "{signal}");
    }
}

#[tokio::test]
async fn ws_records_are_printed_as_they_arrive() {
    let server = WsServer::start(vec![text("early"), WsStep::Pause(Duration::from_secs(60))]).await;
    let mut live = Sscope::new(["ws", &server.url("/")])
        .deadline(Duration::from_secs(10))
        .spawn();
    live.expect("meta open").await;
    assert_eq!(live.expect("in text").await.text(), "early");
}

#[tokio::test]
async fn ws_closed_stdout_ends_the_run_with_exit_zero() {
    // `sscope ws URL | head -1`: a broken pipe is the reader's choice, not a failure
    // (STYLE.md: broken pipe exits 0), and it must not leave sscope running.
    let flood: Vec<WsStep> = (0..200_000)
        .map(|i| WsStep::Text(format!("flood {i}")))
        .collect();
    let server = WsServer::start(flood).await;
    let mut live = Sscope::new(["ws", &server.url("/")])
        .deadline(Duration::from_secs(15))
        .spawn();
    live.expect("meta open").await;
    live.close_stdout().await;
    assert_eq!(
        live.wait().await,
        0,
        "a closed stdout ends the run with exit 0"
    );
}

#[tokio::test]
async fn ws_ping_interval_against_a_silent_peer_reports_no_pong_and_exits_one() {
    let server = WsServer::start(vec![WsStep::Silent]).await;
    let run = sscope(["ws", &server.url("/"), "--ping-interval", "0.2"]).await;
    run.expect_failure();
    assert!(
        !run.all_dir("out", "ping").is_empty(),
        "pings are out records\n{run}"
    );
    assert!(run.all("pong").is_empty(), "{run}");
    let message = run.one("error").message.clone().unwrap_or_default();
    assert!(message.contains("no pong"), "{message:?}");
    assert!(
        run.all("open").len() == 1 && run.position("meta open") == Some(0),
        "{run}"
    );
}

#[tokio::test]
async fn ws_pong_timeout_bounds_the_wait_for_a_pong() {
    let server = WsServer::start(vec![WsStep::Silent]).await;
    let run = sscope([
        "ws",
        &server.url("/"),
        "--ping-interval",
        "0.2",
        "--pong-timeout",
        "0.3",
    ])
    .await;
    run.expect_failure();
    let message = run.one("error").message.clone().unwrap_or_default();
    assert!(message.contains("no pong"), "{message:?}");
}

#[tokio::test]
async fn ws_ping_interval_with_a_live_peer_records_pings_and_their_pongs() {
    let server = WsServer::start(vec![]).await;
    let run = sscope([
        "ws",
        &server.url("/"),
        "--ping-interval",
        "0.1",
        "--timeout",
        "1",
    ])
    .await;
    run.expect_success();
    let pings = run.all_dir("out", "ping");
    let pongs = run.all_dir("in", "pong");
    assert!(pings.len() >= 2, "a ping every 0.1 s for 1 s\n{run}");
    assert!(!pongs.is_empty(), "{run}");
    for pong in pongs {
        assert!(
            pings.iter().any(|p| p.data_b64 == pong.data_b64),
            "a pong answers one of our pings\n{run}"
        );
    }
    let sent_pings = server
        .received()
        .iter()
        .filter(|r| matches!(r, Received::Ping(_)))
        .count();
    assert!(sent_pings >= 2, "{:?}", server.received());
}

#[tokio::test]
async fn ws_message_over_max_message_is_an_error_and_exits_one() {
    let server = WsServer::start(vec![text(&"x".repeat(2000))]).await;
    let run = sscope(["ws", &server.url("/"), "--max-message", "1000"]).await;
    run.expect_failure();
    assert_eq!(run.cause(), "too_big", "{run}");
    assert!(run.stderr().contains("--max-message"), "{run}");
    assert!(run.all_dir("in", "text").is_empty(), "{run}");
}

#[tokio::test]
async fn ws_message_of_exactly_max_message_is_accepted() {
    let server = WsServer::start(vec![WsStep::Binary(vec![7; 1000])]).await;
    let run = sscope([
        "ws",
        &server.url("/"),
        "--max-message",
        "1000",
        "--count",
        "1",
    ])
    .await;
    run.expect_success();
    assert_eq!(run.all_dir("in", "binary")[0].size, Some(1000), "{run}");
}

#[tokio::test]
async fn ws_frame_over_max_frame_is_an_error_and_exits_one() {
    let server = WsServer::start(vec![WsStep::Binary(vec![1; 500])]).await;
    let run = sscope(["ws", &server.url("/"), "--max-frame", "100"]).await;
    run.expect_failure();
    assert!(run.all_dir("in", "binary").is_empty(), "{run}");
}

#[tokio::test]
async fn ws_refused_handshake_is_one_error_with_status_and_headers_and_no_open() {
    let server = WsServer::start_with(
        Handshake::default()
            .reject(403, "go away")
            .header("X-Reason", "nope"),
        vec![],
    )
    .await;
    let run = sscope(["ws", &server.url("/private")]).await;
    run.expect_failure();
    run.expect_kinds(&["meta error"]);
    assert_eq!(run.cause(), "handshake_rejected", "{run}");
    let error = run.one("error");
    assert_eq!(error.status, Some(403), "{run}");
    assert_eq!(error.header("x-reason"), Some("nope"), "{run}");
    assert_eq!(
        server.connections(),
        1,
        "a refused handshake is not retried"
    );
}

#[tokio::test]
async fn ws_server_choosing_an_unoffered_subprotocol_fails_the_connection() {
    // RFC 6455 4.1: the client fails the connection on a subprotocol it did not offer.
    let server = WsServer::start_with(
        Handshake::default().force_subprotocol("rogue"),
        vec![text("hi")],
    )
    .await;
    let run = sscope(["ws", &server.url("/"), "--subprotocol", "chat"]).await;
    run.expect_failure();
    assert_eq!(run.cause(), "protocol_violation", "{run}");
    assert!(run.all("open").is_empty(), "{run}");
    // A wrong response still came: the error carries it (CONTRACT.md).
    assert_eq!(run.one("error").status, Some(101), "{run}");
    assert_eq!(
        run.one("error").header("sec-websocket-protocol"),
        Some("rogue"),
        "{run}"
    );
    assert!(run.all("text").is_empty(), "{run}");
}

#[tokio::test]
async fn ws_server_accepting_none_of_the_offered_subprotocols_still_opens() {
    // RFC 6455 4.1 fails only an unoffered subprotocol; a server may accept none, and a
    // browser then opens with `protocol == ""`.
    let server =
        WsServer::start_with(Handshake::default().subprotocol("v9"), vec![text("hi")]).await;
    let run = sscope([
        "ws",
        &server.url("/"),
        "--subprotocol",
        "chat",
        "--count",
        "1",
    ])
    .await;
    run.expect_success();
    assert_eq!(run.one("open").subprotocol, None, "{run}");
    assert_eq!(run.all("text").len(), 1, "{run}");
}

#[tokio::test]
async fn ws_connection_refused_is_one_error_and_exits_one() {
    let url = format!("ws://127.0.0.1:{}/", closed_port());
    let run = sscope(["ws", &url, "--connect-timeout", "5"]).await;
    run.expect_failure();
    run.expect_kinds(&["meta error"]);
    assert_eq!(run.cause(), "refused", "{run}");
    assert_eq!(run.one("error").status, None, "no response came\n{run}");
}

#[tokio::test]
async fn ws_request_carries_custom_headers_and_bearer_auth() {
    let server = WsServer::start(vec![text("hi")]).await;
    let run = sscope([
        "ws",
        &server.url("/"),
        "-H",
        "X-Api-Key: k1",
        "--header",
        "X-Trace:  spaced value ",
        "--auth-bearer",
        "tok3n",
        "--count",
        "1",
    ])
    .await;
    run.expect_success();
    let request = server.request();
    assert_eq!(request.header("x-api-key"), Some("k1"), "{request:?}");
    assert_eq!(
        request.header("x-trace").map(str::trim),
        Some("spaced value"),
        "{request:?}"
    );
    assert_eq!(
        request.header("authorization"),
        Some("Bearer tok3n"),
        "{request:?}"
    );
}

#[tokio::test]
async fn ws_basic_auth_is_base64_of_user_colon_password() {
    let server = WsServer::start(vec![text("hi")]).await;
    let run = sscope([
        "ws",
        &server.url("/"),
        "--auth-basic",
        "Aladdin:open sesame",
        "--count",
        "1",
    ])
    .await;
    run.expect_success();
    // RFC 7617's own example.
    assert_eq!(
        server.request().header("authorization"),
        Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
    );
}

#[tokio::test]
async fn ws_timeout_closes_with_1000_and_exits_zero() {
    let server = WsServer::start(vec![text("only one")]).await;
    let run = sscope(["ws", &server.url("/"), "--timeout", "1"]).await;
    run.expect_success();
    run.expect_kinds(&["meta open", "in text", "out close", "in close"]);
    assert_eq!(run.all_dir("out", "close")[0].code, Some(1000), "{run}");
}

#[tokio::test]
async fn ws_timeout_before_count_is_reached_is_an_error_and_exits_one() {
    let server = WsServer::start(vec![text("only one")]).await;
    let run = sscope(["ws", &server.url("/"), "--count", "5", "--timeout", "1"]).await;
    run.expect_failure();
    assert_eq!(run.all_dir("in", "text").len(), 1, "{run}");
    let ours = run.all_dir("out", "close");
    assert_eq!(
        ours.len(),
        1,
        "the timeout still closes the connection\n{run}"
    );
    assert_eq!(ours[0].code, Some(1000), "{run}");
}

#[tokio::test]
async fn ws_pretty_format_prints_one_line_per_record_without_colour_off_a_tty() {
    let script = vec![text("hello pretty"), text("second")];
    let ndjson_server = WsServer::start(script.clone()).await;
    let records = sscope(["ws", &ndjson_server.url("/"), "--count", "2"]).await;
    records.expect_success();

    let server = WsServer::start(script).await;
    let output = Sscope::new(["ws", &server.url("/"), "--count", "2", "--format", "pretty"])
        .output()
        .await;
    assert_eq!(output.code, 0, "{output}");
    let stdout = output.stdout_text();
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        records.records.len(),
        "one line per record\n{output}"
    );
    assert!(
        !stdout.contains('\u{1b}'),
        "no colour codes when stdout is not a TTY\n{output}"
    );
    assert!(stdout.contains("hello pretty"), "{output}");
    assert!(
        lines
            .iter()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_err()),
        "pretty is not NDJSON\n{output}"
    );
}
