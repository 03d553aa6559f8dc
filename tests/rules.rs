//! Contract rules that no other file checks end to end: a wrong Content-Type on an SSE
//! reconnection, a certificate for another host name, and what a size limit leaves behind
//! (the records before it, a message that states the limit, advice that names the flag).
//! The WebSocket handshake's own failures are in `hostile.rs`.

use streamscope_e2e::tls::ca_path;
use streamscope_e2e::{Handshake, RawServer, Script, WsServer, WsStep, sscope};

fn ca() -> String {
    ca_path().to_string_lossy().into_owned()
}

/// The error record's message; panics when there is none.
fn error_message(run: &streamscope_e2e::Run) -> String {
    run.one("error")
        .message
        .clone()
        .unwrap_or_else(|| panic!("an error record carries a message\n{run}"))
}

#[tokio::test]
async fn sse_wrong_content_type_on_a_reconnection_stops_reconnecting() {
    // The third script is a proper stream: a client that reconnected after the text/plain
    // answer would read its event, so the test sees the reconnection, not just a 204.
    let server = RawServer::start(vec![
        Script::sse("retry: 50\nid: 1\ndata: a\n\n"),
        Script::text("200 OK", "data: not an event stream\n\n"),
        Script::sse("data: must not be read\n\n"),
    ])
    .await;
    let run = sscope(["sse", &server.url("/events")]).await;
    run.expect_refused_reconnection();
    assert_eq!(run.cause(), "not_event_stream", "{run}");
    let error = run.one("error");
    assert_eq!(error.status, Some(200), "{run}");
    assert_eq!(error.header("content-type"), Some("text/plain"), "{run}");
    assert_eq!(run.one("reconnect").last_event_id.as_deref(), Some("1"));
    assert_eq!(
        server.connections(),
        2,
        "a wrong content type on a reconnection stops reconnection"
    );
}

/// The fixture certificate names `IP:127.0.0.1` and `DNS:localhost`. `0.0.0.0` reaches
/// the same loopback listener on Linux but is not in the certificate.
const NAME_NOT_IN_THE_CERTIFICATE: &str = "0.0.0.0";

#[tokio::test]
async fn wss_certificate_for_another_host_name_is_refused_even_with_the_ca() {
    let server = WsServer::start_with(
        Handshake::default().tls(),
        vec![WsStep::Text("secure".into())],
    )
    .await;
    // The same server by a name the certificate has: the CA alone is enough there, so
    // the refusal below is the name's doing.
    sscope(["ws", &server.url("/"), "--ca", &ca(), "--count", "1"])
        .await
        .expect_success();

    let url = format!("wss://{NAME_NOT_IN_THE_CERTIFICATE}:{}/", server.port());
    let run = sscope(["ws", &url, "--ca", &ca(), "--count", "1"]).await;
    run.expect_failure();
    assert_eq!(run.kinds(), ["meta error"], "{run}");
    assert_eq!(run.cause(), "tls_untrusted", "{run}");
    assert_eq!(
        server.connections(),
        2,
        "the refusal came from TLS, not TCP"
    );
}

#[tokio::test]
async fn https_sse_certificate_for_another_host_name_is_refused_even_with_the_ca() {
    let server = RawServer::start_tls(vec![Script::sse("data: secure\n\n")]).await;
    let url = server
        .url("/events")
        .replace("127.0.0.1", NAME_NOT_IN_THE_CERTIFICATE);
    let run = sscope(["sse", &url, "--ca", &ca(), "--retry", "50"]).await;
    run.expect_failure();
    assert_eq!(run.kinds(), ["meta error"], "{run}");
    assert_eq!(run.cause(), "tls_untrusted", "{run}");
    assert_eq!(server.connections(), 1, "an untrusted peer is not retried");
}

#[tokio::test]
async fn ws_message_over_the_limit_keeps_every_record_before_it_and_names_the_limit() {
    let server = WsServer::start(vec![
        WsStep::Text("one".into()),
        WsStep::Binary(vec![2; 999]),
        WsStep::Text("three".into()),
        WsStep::Text("x".repeat(1001)),
        WsStep::Text("after".into()),
    ])
    .await;
    let run = sscope(["ws", &server.url("/"), "--max-message", "1000"]).await;
    run.expect_failure().expect_single_conn().expect_kinds(&[
        "meta open",
        "in text",
        "in binary",
        "in text",
        "meta error",
        "out close",
    ]);
    // RFC 6455 7.4.1: 1009 tells the peer why we stop; it goes over the wire, so it is a record.
    assert_eq!(run.all_dir("out", "close")[0].code, Some(1009), "{run}");
    let texts: Vec<&str> = run.all_dir("in", "text").iter().map(|r| r.text()).collect();
    assert_eq!(texts, ["one", "three"], "{run}");
    assert_eq!(run.all_dir("in", "binary")[0].size, Some(999), "{run}");
    assert_eq!(run.cause(), "too_big", "{run}");
    // The record states the limit; only the command line names its flag.
    let message = error_message(&run);
    assert!(
        message.contains("1000"),
        "the message states the limit: {message}"
    );
    assert!(!message.contains("--"), "{message}");
    assert!(run.stderr().contains("--max-message"), "{run}");
}

#[tokio::test]
async fn sse_line_over_the_limit_keeps_every_record_before_it_and_names_the_limit() {
    let body = format!(
        ": hello\nid: 7\ndata: a\n\nevent: tick\ndata: b\n\ndata: {}\n\ndata: after\n\n",
        "x".repeat(200)
    );
    let server = RawServer::start(vec![Script::sse(body).hold()]).await;
    let run = sscope(["sse", &server.url("/events"), "--max-line", "100"]).await;
    run.expect_failure().expect_single_conn().expect_kinds(&[
        "meta open",
        "in comment",
        "in event",
        "in event",
        "meta error",
    ]);
    assert_eq!(run.event_data(), ["a", "b"], "{run}");
    let events = run.all("event");
    assert_eq!(events[1].event.as_deref(), Some("tick"), "{run}");
    assert_eq!(events[1].id.as_deref(), Some("7"), "{run}");
    assert_eq!(run.cause(), "too_big", "{run}");
    let message = error_message(&run);
    assert!(
        message.contains("100"),
        "the message states the limit: {message}"
    );
    assert!(!message.contains("--"), "{message}");
    assert!(run.stderr().contains("--max-line"), "{run}");
}

#[tokio::test]
async fn sse_event_over_the_limit_keeps_every_record_before_it_and_names_the_limit() {
    let big: String = (0..20).map(|_| "data: 0123456789\n").collect();
    let body = format!("data: small\n\n{big}\ndata: after\n\n");
    let server = RawServer::start(vec![Script::sse(body).hold()]).await;
    let run = sscope(["sse", &server.url("/events"), "--max-event", "100"]).await;
    run.expect_failure()
        .expect_kinds(&["meta open", "in event", "meta error"]);
    assert_eq!(run.event_data(), ["small"], "{run}");
    assert_eq!(run.cause(), "too_big", "{run}");
    let message = error_message(&run);
    assert!(
        message.contains("100"),
        "the message states the limit: {message}"
    );
    assert!(run.stderr().contains("--max-event"), "{run}");
}
