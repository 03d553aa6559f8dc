//! `wss://` and `https://` against loopback servers with the fixture certificate: TLS is
//! verified by default, `--ca` adds a trusted CA, `--insecure` skips verification, and a
//! failed verification is an initial connection failure (one error, exit 1, no retry).

use streamscope_e2e::tls::ca_path;
use streamscope_e2e::{Handshake, RawServer, Script, WsServer, WsStep, sscope};

fn ca() -> String {
    ca_path().to_string_lossy().into_owned()
}

#[tokio::test]
async fn wss_with_the_ca_given_opens_and_reads() {
    let server = WsServer::start_with(
        Handshake::default().tls(),
        vec![WsStep::Text("secure".into())],
    )
    .await;
    let run = sscope(["ws", &server.url("/"), "--ca", &ca(), "--count", "1"]).await;
    run.expect_success();
    assert_eq!(run.all_dir("in", "text")[0].text(), "secure", "{run}");
}

#[tokio::test]
async fn wss_with_an_unknown_issuer_fails_verification_by_default() {
    let server = WsServer::start_with(
        Handshake::default().tls(),
        vec![WsStep::Text("secure".into())],
    )
    .await;
    let run = sscope(["ws", &server.url("/"), "--count", "1"]).await;
    run.expect_failure();
    run.expect_kinds(&["meta error"]);
    assert_eq!(run.cause(), "tls_untrusted", "{run}");
    // The record states what happened; the advice in flags is the command line's own.
    let message = run.one("error").message.clone().unwrap_or_default();
    assert!(!message.contains("--"), "{message}");
    assert!(
        run.stderr().contains("--ca FILE") && run.stderr().contains("--insecure"),
        "{run}"
    );
}

#[tokio::test]
async fn wss_insecure_skips_verification() {
    let server = WsServer::start_with(
        Handshake::default().tls(),
        vec![WsStep::Text("secure".into())],
    )
    .await;
    let run = sscope(["ws", &server.url("/"), "--insecure", "--count", "1"]).await;
    run.expect_success();
    assert_eq!(run.all_dir("in", "text").len(), 1, "{run}");
}

#[tokio::test]
async fn https_sse_with_the_ca_given_opens_and_reads() {
    let server = RawServer::start_tls(vec![Script::sse("data: secure\n\n")]).await;
    let run = sscope([
        "sse",
        &server.url("/events"),
        "--ca",
        &ca(),
        "--no-reconnect",
    ])
    .await;
    run.expect_success();
    assert_eq!(run.event_data(), ["secure"], "{run}");
}

#[tokio::test]
async fn https_sse_with_an_unknown_issuer_is_one_error_without_retry() {
    let server = RawServer::start_tls(vec![Script::sse("retry: 50\ndata: secure\n\n")]).await;
    let run = sscope(["sse", &server.url("/events"), "--retry", "50"]).await;
    run.expect_failure();
    run.expect_kinds(&["meta error"]);
    assert_eq!(run.cause(), "tls_untrusted", "{run}");
    assert_eq!(
        server.connections(),
        1,
        "a connection that never opened is not retried"
    );
}

#[tokio::test]
async fn https_sse_insecure_skips_verification() {
    let server = RawServer::start_tls(vec![Script::sse("data: secure\n\n")]).await;
    let run = sscope([
        "sse",
        &server.url("/events"),
        "--insecure",
        "--no-reconnect",
    ])
    .await;
    run.expect_success();
    assert_eq!(run.event_data(), ["secure"], "{run}");
}

/// A FIFO would hang the reader and a device flood it: `--ca` names a regular file or the
/// run stops before connecting, as a usage error that names the flag.
#[tokio::test]
async fn ca_that_is_not_a_regular_file_is_a_usage_error() {
    let dir = std::env::temp_dir().join(format!("sscope-ca-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let fifo = dir.join("ca.pem");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    for ca in [fifo.to_string_lossy().into_owned(), "/dev/zero".to_owned()] {
        let out = streamscope_e2e::Sscope::new(["ws", "wss://127.0.0.1:9/", "--ca", &ca])
            .output()
            .await;
        let usage = out.expect_usage_error();
        let stderr = usage.stderr_text();
        assert!(
            stderr.contains("--ca") && stderr.contains("not a regular file"),
            "{stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
