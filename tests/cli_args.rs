//! The command line's own rules: bad arguments exit 2 with a message on stderr, print no
//! records and never connect; `--help` lists every flag of the CLI spec. What a valid
//! run does is tested in the protocol files.

use streamscope_e2e::{Output, RawServer, Script, Sscope};

async fn output(args: &[&str]) -> Output {
    Sscope::new(args.iter().copied()).output().await
}

/// Runs `args` with `{url}` replaced by a live server's URL, expects a usage error, and
/// checks the server was never contacted.
async fn expect_usage_error_without_connecting(args: &[&str]) {
    let server = RawServer::start(vec![Script::sse("data: a\n\n")]).await;
    let url = if args.first() == Some(&"ws") {
        server.ws_url("/x")
    } else {
        server.url("/x")
    };
    let args: Vec<String> = args.iter().map(|a| a.replace("{url}", &url)).collect();
    let out = Sscope::new(args).output().await;
    out.expect_usage_error();
    assert_eq!(
        server.connections(),
        0,
        "bad arguments must not connect\n{out}"
    );
}

#[tokio::test]
async fn no_subcommand_is_a_usage_error() {
    output(&[]).await.expect_usage_error();
}

#[tokio::test]
async fn unknown_subcommand_is_a_usage_error() {
    output(&["listen", "ws://127.0.0.1:1/"])
        .await
        .expect_usage_error();
}

#[tokio::test]
async fn missing_url_is_a_usage_error() {
    output(&["ws"]).await.expect_usage_error();
    output(&["sse"]).await.expect_usage_error();
}

/// `wss:/host` (one slash) would be read as `wss://host` and connect to port 443 of
/// whatever host that is; it is refused, naming what was likely meant, before any socket.
#[tokio::test]
async fn a_url_with_one_slash_after_the_scheme_is_refused_with_its_likely_meaning() {
    let server = RawServer::start(vec![Script::sse("data: a\n\n")]).await;
    let typo = server.url("/x").replacen("http://", "http:/", 1);
    let out = output(&["sse", &typo]).await;
    out.expect_usage_error();
    let meant = server.url("/x");
    assert!(
        out.stderr_text()
            .contains(&format!("did you mean {meant:?}")),
        "{out}"
    );
    assert_eq!(server.connections(), 0, "{out}");
    let out = output(&["ws", "wss:/127.0.0.1"]).await;
    out.expect_usage_error();
    assert!(out.stderr_text().contains("\"wss://127.0.0.1\""), "{out}");
}

#[tokio::test]
async fn malformed_url_is_a_usage_error() {
    for url in ["not a url", "ws://", "ws://[::1", "127.0.0.1:80/no-scheme"] {
        let out = output(&["ws", url]).await;
        assert_eq!(out.code, 2, "ws {url:?}\n{out}");
        out.expect_usage_error();
    }
    for url in ["not a url", "http://", "http://[::1"] {
        let out = output(&["sse", url]).await;
        assert_eq!(out.code, 2, "sse {url:?}\n{out}");
        out.expect_usage_error();
    }
}

#[tokio::test]
async fn unknown_scheme_is_a_usage_error() {
    output(&["ws", "ftp://127.0.0.1/x"])
        .await
        .expect_usage_error();
    output(&["sse", "ftp://127.0.0.1/x"])
        .await
        .expect_usage_error();
    output(&["ws", "mailto:someone@example.com"])
        .await
        .expect_usage_error();
}

#[tokio::test]
async fn header_without_colon_is_a_usage_error() {
    expect_usage_error_without_connecting(&["ws", "{url}", "-H", "X-Name value"]).await;
    expect_usage_error_without_connecting(&["sse", "{url}", "-H", "X-Name value"]).await;
}

#[tokio::test]
async fn header_with_empty_name_is_a_usage_error() {
    expect_usage_error_without_connecting(&["ws", "{url}", "-H", ": value"]).await;
    expect_usage_error_without_connecting(&["sse", "{url}", "--header", ": value"]).await;
}

#[tokio::test]
async fn header_with_invalid_name_characters_is_a_usage_error() {
    for header in ["Bad Name: v", "Bad(Name): v", "Bad\u{e9}: v"] {
        expect_usage_error_without_connecting(&["ws", "{url}", "-H", header]).await;
        expect_usage_error_without_connecting(&["sse", "{url}", "-H", header]).await;
    }
}

#[tokio::test]
async fn header_value_with_a_line_break_is_a_usage_error() {
    // A CR/LF in a value would smuggle a header into the request.
    expect_usage_error_without_connecting(&["ws", "{url}", "-H", "X-A: v\r\nX-B: w"]).await;
    expect_usage_error_without_connecting(&["sse", "{url}", "-H", "X-A: v\nX-B: w"]).await;
}

#[tokio::test]
async fn bad_hex_for_send_binary_is_a_usage_error() {
    for hex in ["zz", "abc", "12 3", "g1", "de:a"] {
        expect_usage_error_without_connecting(&["ws", "{url}", "--send-binary", hex]).await;
    }
}

#[tokio::test]
async fn bad_numbers_are_usage_errors() {
    for (flag, value) in [
        ("--count", "abc"),
        ("--count", "-1"),
        ("--timeout", "soon"),
        ("--ping-interval", "x"),
        ("--max-message", "big"),
        ("--connect-timeout", "x"),
    ] {
        expect_usage_error_without_connecting(&["ws", "{url}", flag, value]).await;
    }
    for (flag, value) in [
        ("--count", "abc"),
        ("--retry", "fast"),
        ("--max-attempts", "many"),
        ("--idle-timeout", "x"),
        ("--max-line", "-5"),
    ] {
        expect_usage_error_without_connecting(&["sse", "{url}", flag, value]).await;
    }
}

#[tokio::test]
async fn unknown_format_is_a_usage_error() {
    expect_usage_error_without_connecting(&["ws", "{url}", "--format", "xml"]).await;
    expect_usage_error_without_connecting(&["sse", "{url}", "--format", "xml"]).await;
}

#[tokio::test]
async fn unknown_method_is_a_usage_error() {
    expect_usage_error_without_connecting(&["sse", "{url}", "--method", "PUT"]).await;
}

#[tokio::test]
async fn flags_of_the_other_protocol_are_usage_errors() {
    expect_usage_error_without_connecting(&["sse", "{url}", "--send", "x"]).await;
    expect_usage_error_without_connecting(&["ws", "{url}", "--no-reconnect"]).await;
    expect_usage_error_without_connecting(&["ws", "{url}", "--last-event-id", "1"]).await;
}

fn assert_lists(help: &Output, flags: &[&str]) {
    assert_eq!(help.code, 0, "--help exits 0\n{help}");
    let text = help.stdout_text();
    let missing: Vec<&&str> = flags.iter().filter(|f| !text.contains(*f)).collect();
    assert!(
        missing.is_empty(),
        "--help does not mention {missing:?}\n{help}"
    );
}

#[tokio::test]
async fn ws_help_lists_every_flag_of_the_spec() {
    let help = output(&["ws", "--help"]).await;
    assert_lists(
        &help,
        &[
            "-H",
            "--header",
            "--subprotocol",
            "--send",
            "--send-binary",
            "--stdin",
            "--count",
            "--timeout",
            "--connect-timeout",
            "--ping-interval",
            "--pong-timeout",
            "--max-message",
            "--max-frame",
            "--auth-bearer",
            "--auth-basic",
            "--insecure",
            "--ca",
            "--format",
        ],
    );
}

#[tokio::test]
async fn sse_help_lists_every_flag_of_the_spec() {
    let help = output(&["sse", "--help"]).await;
    assert_lists(
        &help,
        &[
            "-H",
            "--header",
            "--auth-bearer",
            "--auth-basic",
            "--insecure",
            "--ca",
            "--connect-timeout",
            "--format",
            "--last-event-id",
            "--method",
            "--body",
            "--count",
            "--timeout",
            "--no-reconnect",
            "--retry",
            "--max-attempts",
            "--backoff",
            "--idle-timeout",
            "--max-line",
            "--max-event",
        ],
    );
}

#[tokio::test]
async fn serve_help_lists_the_port_flag() {
    let help = output(&["serve", "--help"]).await;
    assert_lists(&help, &["--port"]);
}

#[tokio::test]
async fn top_level_help_lists_the_subcommands() {
    let help = output(&["--help"]).await;
    assert_lists(&help, &["ws", "sse", "serve"]);
}

#[tokio::test]
async fn a_subprotocol_with_a_line_break_is_a_usage_error() {
    // It would reach the peer as a header of its own, or a second request.
    expect_usage_error_without_connecting(&[
        "ws",
        "{url}",
        "--subprotocol",
        "chat\r\nX-Injected: yes\r\n\r\nGET /smuggled HTTP/1.1",
    ])
    .await;
    expect_usage_error_without_connecting(&["sse", "{url}", "--last-event-id", "1\r\nX: y"]).await;
}

#[tokio::test]
async fn help_shows_the_engines_defaults() {
    let help = output(&["ws", "--help"]).await.stdout_text();
    assert!(help.contains("[default: 67108864]"), "{help}");
    assert!(help.contains("[default: 10]"), "{help}");
    let help = output(&["sse", "--help"]).await.stdout_text();
    assert!(help.contains("[default: 3000]"), "{help}");
    assert!(help.contains("[default: 1048576]"), "{help}");
}

#[tokio::test]
async fn a_tap_off_loopback_or_to_an_upstream_it_cannot_speak_is_a_usage_error() {
    for args in [
        &["tap", "--listen", "0.0.0.0:0", "--upstream", "{url}"][..],
        &["tap", "--proxy", "192.0.2.1:8888"][..],
        &[
            "tap",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            "ftp://127.0.0.1/",
        ][..],
        &["tap", "--listen", "here", "--upstream", "{url}"][..],
        &["tap", "--upstream", "{url}", "--decrypt", "example.com"][..],
        &["tap"][..],
    ] {
        expect_usage_error_without_connecting(args).await;
    }
    let out = output(&[
        "tap",
        "--listen",
        "0.0.0.0:0",
        "--upstream",
        "ws://127.0.0.1:1/",
    ])
    .await;
    assert!(out.stderr_text().contains("loopback only"), "{out}");
}
