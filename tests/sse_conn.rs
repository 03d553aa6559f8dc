//! `sscope sse` as a connection: the request it sends, the open record, statuses and
//! content types that stop it, reconnection (`end`/`error`, then `reconnect`, with
//! `Last-Event-ID`), and the flags of the CLI spec. Stream parsing is in sse_parse.rs.
//!
//! Servers ask for `retry: 50` (or the run passes `--retry 50`) so reconnections are quick.

use std::io::Write as _;
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use streamscope_e2e::raw::{chunk, sse_chunked_head};
use streamscope_e2e::{Gate, RawServer, Script, Sscope, closed_port, sscope, sse_head};

/// A stream that set `retry`, sent one event and broke, then resumed and sent one more:
/// the break is an error record and a reconnection, on the same connection.
const BROKEN_THEN_RESUMED: [&str; 7] = [
    "meta open",
    "in retry",
    "in event",
    "meta error",
    "meta reconnect",
    "meta open",
    "in event",
];

#[tokio::test]
async fn sse_request_sends_accept_and_cache_control_no_store() {
    let server = RawServer::start(vec![Script::sse("data: a\n\n")]).await;
    let run = sscope(["sse", &server.url("/events?x=1"), "--no-reconnect"]).await;
    run.expect_success();
    let request = server.request();
    assert_eq!(
        (request.method.as_str(), request.target.as_str()),
        ("GET", "/events?x=1")
    );
    assert_eq!(
        request.header("accept"),
        Some("text/event-stream"),
        "{request:?}"
    );
    assert_eq!(
        request.header("cache-control"),
        Some("no-store"),
        "{request:?}"
    );
    assert_eq!(request.header("last-event-id"), None, "{request:?}");
}

#[tokio::test]
async fn sse_open_record_has_status_200_and_lowercase_headers() {
    let head = sse_head(&[("X-Custom", "A"), ("X-Dup", "a"), ("X-Dup", "b")]);
    let server = RawServer::start(vec![Script::new().write(head).write("data: a\n\n")]).await;
    let run = sscope(["sse", &server.url("/events"), "--no-reconnect"]).await;
    run.expect_success();
    let open = run.one("open");
    assert_eq!(
        (open.proto.as_str(), open.seq, open.status),
        ("sse", 1, Some(200)),
        "{run}"
    );
    assert_eq!(
        open.header("content-type"),
        Some("text/event-stream"),
        "{run}"
    );
    assert_eq!(open.header("x-custom"), Some("A"), "{run}");
    assert_eq!(
        open.header("x-dup"),
        Some("a, b"),
        "repeated headers are joined with \", \"\n{run}"
    );
}

#[tokio::test]
async fn sse_records_are_printed_as_they_arrive() {
    let server = RawServer::start(vec![Script::sse("data: early\n\n").hold()]).await;
    let mut live = Sscope::new(["sse", &server.url("/events")])
        .deadline(Duration::from_secs(10))
        .spawn();
    live.expect("meta open").await;
    assert_eq!(live.expect("in event").await.text(), "early");
}

#[tokio::test]
async fn sse_content_type_with_parameters_is_accepted() {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream; charset=utf-8\r\nConnection: close\r\n\r\n";
    let server = RawServer::start(vec![Script::new().write(head).write("data: a\n\n")]).await;
    let run = sscope(["sse", &server.url("/events"), "--no-reconnect"]).await;
    run.expect_success();
    assert_eq!(run.event_data(), ["a"], "{run}");
}

#[tokio::test]
async fn sse_wrong_content_type_is_one_error_with_status_and_no_open() {
    let server = RawServer::start(vec![Script::text(
        "200 OK",
        "data: not an event stream\n\n",
    )])
    .await;
    let run = sscope(["sse", &server.url("/events"), "--retry", "50"]).await;
    run.expect_failure().expect_single_conn();
    run.expect_kinds(&["meta error"]);
    assert_eq!(run.cause(), "not_event_stream", "{run}");
    let error = run.one("error");
    assert_eq!(error.status, Some(200), "{run}");
    assert_eq!(error.header("content-type"), Some("text/plain"), "{run}");
    assert_eq!(
        server.connections(),
        1,
        "a wrong content type stops reconnection"
    );
}

#[tokio::test]
async fn sse_missing_content_type_is_an_error() {
    let server = RawServer::start(vec![Script::respond("200 OK", &[], "data: a\n\n")]).await;
    let run = sscope(["sse", &server.url("/events"), "--retry", "50"]).await;
    run.expect_failure();
    run.expect_kinds(&["meta error"]);
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn sse_non_200_status_is_one_error_with_status_and_headers() {
    let server = RawServer::start(vec![Script::respond(
        "503 Service Unavailable",
        &[("Retry-After", "1"), ("Content-Type", "text/plain")],
        "busy",
    )])
    .await;
    let run = sscope(["sse", &server.url("/events"), "--retry", "50"]).await;
    run.expect_failure();
    run.expect_kinds(&["meta error"]);
    let error = run.one("error");
    assert_eq!(error.status, Some(503), "{run}");
    assert_eq!(error.header("retry-after"), Some("1"), "{run}");
    assert_eq!(
        server.connections(),
        1,
        "a non-200 status stops reconnection"
    );
}

#[tokio::test]
async fn sse_204_at_start_is_an_end_and_exits_zero() {
    let server = RawServer::start(vec![Script::no_content()]).await;
    let run = sscope(["sse", &server.url("/events"), "--retry", "50"]).await;
    run.expect_success();
    run.expect_kinds(&["meta end"]);
    assert_eq!(server.connections(), 1, "a 204 stops reconnection");
}

#[tokio::test]
async fn sse_reconnect_sends_last_event_id() {
    let server = RawServer::start(vec![
        Script::sse("retry: 50\nid: 5\ndata: a\n\n"),
        Script::sse("data: b\n\n").hold(),
    ])
    .await;
    let run = sscope(["sse", &server.url("/events"), "--count", "2"]).await;
    // One conn across reconnections, and no `end` after --count.
    run.expect_success().expect_single_conn().expect_kinds(&[
        "meta open",
        "in retry",
        "in event",
        "meta end",
        "meta reconnect",
        "meta open",
        "in event",
    ]);
    let reconnect = run.one("reconnect");
    assert_eq!(
        (
            reconnect.retry_ms,
            reconnect.attempt,
            reconnect.last_event_id.as_deref()
        ),
        (Some(50), Some(1), Some("5")),
        "{run}"
    );
    let ids = run.event_ids();
    assert_eq!(
        ids,
        [Some("5"), Some("5")],
        "the id carries over the reconnection\n{run}"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[1].header("last-event-id"),
        Some("5"),
        "{:?}",
        requests[1]
    );
    assert_eq!(requests[1].header("accept"), Some("text/event-stream"));
    assert_eq!(requests[1].header("cache-control"), Some("no-store"));
    assert_eq!(requests[1].target, "/events");
}

#[tokio::test]
async fn sse_reconnect_waits_the_retry_delay() {
    let server = RawServer::start(vec![
        Script::sse("retry: 300\ndata: a\n\n"),
        Script::sse("data: b\n\n").hold(),
    ])
    .await;
    let run = sscope(["sse", &server.url("/events"), "--count", "2"]).await;
    run.expect_success();
    let end = run.one("end").time();
    let reopened = run.all("open")[1].time();
    let waited = reopened.duration_since(end).unwrap_or_default();
    assert!(
        waited >= Duration::from_millis(290),
        "reconnected after {waited:?}, before the 300 ms asked\n{run}"
    );
    assert_eq!(run.one("reconnect").retry_ms, Some(300), "{run}");
}

#[tokio::test]
async fn sse_transport_break_gives_error_then_reconnect() {
    // A chunked body cut before its last chunk: the transport broke, the stream did not end.
    let broken = Script::new()
        .write(sse_chunked_head())
        .write(chunk("retry: 50\nid: 1\ndata: a\n\n"))
        .pause_ms(100)
        .write("40\r\npartial");
    let server = RawServer::start(vec![broken, Script::sse("data: b\n\n").hold()]).await;
    let run = sscope(["sse", &server.url("/events"), "--count", "2"]).await;
    // The broken transport is an error record; the run still ends as asked.
    run.expect_exit(0).expect_single_conn();
    run.expect_kinds(&BROKEN_THEN_RESUMED);
    assert_eq!(run.cause(), "transport_lost", "{run}");
    let reconnect = run.one("reconnect");
    assert_eq!(
        (
            reconnect.retry_ms,
            reconnect.attempt,
            reconnect.last_event_id.as_deref()
        ),
        (Some(50), Some(1), Some("1")),
        "{run}"
    );
    assert_eq!(server.requests()[1].header("last-event-id"), Some("1"));
}

#[tokio::test]
async fn sse_connection_reset_gives_error_then_reconnect() {
    // The reset waits until sscope has printed the event: a reset before the client read
    // the data would make the kernel drop it.
    let gate = Gate::new();
    let reset = Script::sse("retry: 50\ndata: a\n\n").wait(&gate).reset();
    let server = RawServer::start(vec![reset, Script::sse("data: b\n\n").hold()]).await;
    let mut live = Sscope::new(["sse", &server.url("/events"), "--count", "2"])
        .deadline(Duration::from_secs(10))
        .spawn();
    live.expect("meta open").await;
    live.expect("in retry").await;
    assert_eq!(live.expect("in event").await.text(), "a");
    gate.open();
    // The broken transport is an error record; the run still ends as asked.
    live.expect("meta error").await;
    live.expect("meta reconnect").await;
    live.expect("meta open").await;
    assert_eq!(live.expect("in event").await.text(), "b");
    assert_eq!(live.wait().await, 0);
}

#[tokio::test]
async fn sse_chunked_stream_that_ends_properly_is_an_end() {
    let script = Script::new()
        .write(sse_chunked_head())
        .write(chunk("data: a\n"))
        .pause_ms(50)
        .write(chunk("\n"))
        .write("0\r\n\r\n");
    let server = RawServer::start(vec![script]).await;
    let run = sscope(["sse", &server.url("/events"), "--no-reconnect"]).await;
    run.expect_success();
    run.expect_kinds(&["meta open", "in event", "meta end"]);
}

#[tokio::test]
async fn sse_retry_flag_sets_the_initial_delay() {
    let server = RawServer::start(vec![
        Script::sse("data: a\n\n"),
        Script::sse("data: b\n\n").hold(),
    ])
    .await;
    let run = sscope([
        "sse",
        &server.url("/events"),
        "--retry",
        "50",
        "--count",
        "2",
    ])
    .await;
    run.expect_success();
    assert_eq!(run.one("reconnect").retry_ms, Some(50), "{run}");
    assert_eq!(
        run.one("reconnect").last_event_id,
        None,
        "no id was ever set\n{run}"
    );
    assert_eq!(server.requests()[1].header("last-event-id"), None);
}

#[tokio::test]
async fn sse_server_retry_overrides_the_retry_flag() {
    let server = RawServer::start(vec![
        Script::sse("retry: 50\ndata: a\n\n"),
        Script::sse("data: b\n\n").hold(),
    ])
    .await;
    let run = sscope([
        "sse",
        &server.url("/events"),
        "--retry",
        "60000",
        "--count",
        "2",
    ])
    .await;
    run.expect_success();
    assert_eq!(run.one("reconnect").retry_ms, Some(50), "{run}");
}

#[tokio::test]
async fn sse_last_event_id_flag_sets_the_header_and_the_initial_id() {
    let server = RawServer::start(vec![
        Script::sse("retry: 50\ndata: a\n\nid: 9\ndata: b\n\n"),
        Script::sse("data: c\n\n").hold(),
    ])
    .await;
    let run = sscope([
        "sse",
        &server.url("/events"),
        "--last-event-id",
        "42",
        "--count",
        "3",
    ])
    .await;
    run.expect_success();
    let ids = run.event_ids();
    assert_eq!(ids, [Some("42"), Some("9"), Some("9")], "{run}");
    assert_eq!(
        run.one("reconnect").last_event_id.as_deref(),
        Some("9"),
        "{run}"
    );
    let requests = server.requests();
    assert_eq!(requests[0].header("last-event-id"), Some("42"));
    assert_eq!(requests[1].header("last-event-id"), Some("9"));
}

#[tokio::test]
async fn sse_id_reset_to_empty_sends_no_last_event_id_on_reconnect() {
    // WHATWG: `Last-Event-ID` is sent only when the last event ID string is not empty.
    let server = RawServer::start(vec![
        Script::sse("retry: 50\nid: 3\ndata: a\n\nid\ndata: b\n\n"),
        Script::sse("data: c\n\n").hold(),
    ])
    .await;
    let run = sscope(["sse", &server.url("/events"), "--count", "3"]).await;
    run.expect_success();
    assert_eq!(run.one("reconnect").last_event_id, None, "{run}");
    assert_eq!(server.requests()[1].header("last-event-id"), None);
    let ids = run.event_ids();
    assert_eq!(ids, [Some("3"), Some(""), Some("")], "{run}");
}

#[tokio::test]
async fn sse_204_on_reconnect_stops_reconnection() {
    let server = RawServer::start(vec![
        Script::sse("retry: 50\ndata: a\n\n"),
        Script::no_content(),
    ])
    .await;
    let run = sscope(["sse", &server.url("/events")]).await;
    run.expect_success();
    run.expect_kinds(&[
        "meta open",
        "in retry",
        "in event",
        "meta end",
        "meta reconnect",
        "meta end",
    ]);
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn sse_non_200_on_reconnect_stops_with_an_error() {
    let server = RawServer::start(vec![
        Script::sse("retry: 50\ndata: a\n\n"),
        Script::text("500 Internal Server Error", "oops"),
    ])
    .await;
    let run = sscope(["sse", &server.url("/events")]).await;
    run.expect_refused_reconnection();
    assert_eq!(run.one("error").status, Some(500), "{run}");
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn sse_no_reconnect_ends_on_a_clean_end_with_exit_zero() {
    let server = RawServer::start(vec![Script::sse("retry: 50\ndata: a\n\n")]).await;
    let run = sscope(["sse", &server.url("/events"), "--no-reconnect"]).await;
    run.expect_success();
    run.expect_kinds(&["meta open", "in retry", "in event", "meta end"]);
    assert_eq!(server.connections(), 1);
}

/// A POST stream that the server ends cleanly was answered: sending it again would be a new
/// request (an LLM completion billed again), so by default it is not re-sent.
#[tokio::test]
async fn sse_post_stream_is_not_sent_again_after_a_clean_end() {
    let server = RawServer::start(vec![
        Script::sse("retry: 50\ndata: answer\n\n"),
        Script::sse("data: a second answer\n\n"),
    ])
    .await;
    let run = sscope(["sse", &server.url("/chat"), "--body", r#"{"prompt":"hi"}"#]).await;
    run.expect_success();
    run.expect_kinds(&["meta open", "in retry", "in event", "meta end"]);
    assert_eq!(server.connections(), 1, "the POST was sent again\n{run}");
    assert_eq!(server.request().method, "POST");
}

/// Only the clean end is exempt: a POST stream whose transport breaks is resumed.
#[tokio::test]
async fn sse_post_stream_still_reconnects_after_a_break() {
    let broken = Script::new()
        .write(sse_chunked_head())
        .write(chunk("retry: 50\nid: 1\ndata: a\n\n"))
        .pause_ms(100)
        .write("40\r\npartial");
    let server = RawServer::start(vec![broken, Script::sse("data: b\n\n").hold()]).await;
    let run = sscope(["sse", &server.url("/chat"), "--body", "x", "--count", "2"]).await;
    run.expect_exit(0).expect_single_conn();
    run.expect_kinds(&BROKEN_THEN_RESUMED);
    let requests = server.requests();
    assert_eq!(requests[1].method, "POST");
    assert_eq!(requests[1].body, b"x");
}

#[tokio::test]
async fn sse_reconnect_on_end_flag_sends_a_post_again() {
    let server = RawServer::start(vec![
        Script::sse("retry: 50\ndata: a\n\n"),
        Script::sse("data: b\n\n").hold(),
    ])
    .await;
    let run = sscope([
        "sse",
        &server.url("/chat"),
        "--body",
        "x",
        "--reconnect-on-end",
        "--count",
        "2",
    ])
    .await;
    run.expect_success().expect_kinds(&[
        "meta open",
        "in retry",
        "in event",
        "meta end",
        "meta reconnect",
        "meta open",
        "in event",
    ]);
    assert_eq!(server.connections(), 2);
}

/// A GET stream still reconnects after a clean end, as EventSource does; the flag stops
/// that alone.
#[tokio::test]
async fn sse_get_stream_reconnects_after_a_clean_end_unless_told_not_to() {
    let scripts = || {
        vec![
            Script::sse("retry: 50\ndata: a\n\n"),
            Script::sse("data: b\n\n").hold(),
        ]
    };
    let server = RawServer::start(scripts()).await;
    let run = sscope(["sse", &server.url("/events"), "--count", "2"]).await;
    run.expect_success();
    assert_eq!(server.connections(), 2, "{run}");

    let server = RawServer::start(scripts()).await;
    let run = sscope(["sse", &server.url("/events"), "--no-reconnect-on-end"]).await;
    run.expect_success();
    run.expect_kinds(&["meta open", "in retry", "in event", "meta end"]);
    assert_eq!(server.connections(), 1, "{run}");
}

#[tokio::test]
async fn sse_no_reconnect_ends_on_a_transport_error_with_exit_one() {
    let broken = Script::new()
        .write(sse_chunked_head())
        .write(chunk("retry: 50\ndata: a\n\n"))
        .pause_ms(100)
        .write("40\r\npartial");
    let server = RawServer::start(vec![broken]).await;
    let run = sscope(["sse", &server.url("/events"), "--no-reconnect"]).await;
    run.expect_failure();
    run.expect_kinds(&["meta open", "in retry", "in event", "meta error"]);
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn sse_count_stops_the_stream_without_an_end_record() {
    let server = RawServer::start(vec![
        Script::sse("data: 1\n\ndata: 2\n\ndata: 3\n\n").hold(),
    ])
    .await;
    let run = sscope(["sse", &server.url("/events"), "--count", "2"]).await;
    run.expect_success();
    run.expect_kinds(&["meta open", "in event", "in event"]);
}

#[tokio::test]
async fn sse_count_reached_just_before_the_server_closes_has_no_end() {
    let server = RawServer::start(vec![Script::sse("data: 1\n\ndata: 2\n\n")]).await;
    let run = sscope(["sse", &server.url("/events"), "--count", "2"]).await;
    run.expect_success();
    run.expect_kinds(&["meta open", "in event", "in event"]);
}

#[tokio::test]
async fn sse_count_does_not_count_comments_or_retry() {
    let server = RawServer::start(vec![Script::sse(": hi\nretry: 50\n\ndata: 1\n\n").hold()]).await;
    let run = sscope(["sse", &server.url("/events"), "--count", "1"]).await;
    run.expect_success();
    run.expect_kinds(&["meta open", "in comment", "in retry", "in event"]);
}

#[tokio::test]
async fn sse_timeout_without_count_ends_the_run_with_exit_zero() {
    let server = RawServer::start(vec![Script::sse("data: a\n\n").hold()]).await;
    let run = sscope(["sse", &server.url("/events"), "--timeout", "1"]).await;
    // The server did not end it: no `end`.
    run.expect_success()
        .expect_kinds(&["meta open", "in event"]);
}

#[tokio::test]
async fn sse_timeout_before_count_is_reached_is_an_error_and_exits_one() {
    let server = RawServer::start(vec![Script::sse("data: a\n\n").hold()]).await;
    let run = sscope([
        "sse",
        &server.url("/events"),
        "--count",
        "5",
        "--timeout",
        "1",
    ])
    .await;
    run.expect_failure();
    assert_eq!(run.event_data(), ["a"], "{run}");
}

#[tokio::test]
async fn sse_initial_connection_refused_is_one_error_without_retry() {
    let url = format!("http://127.0.0.1:{}/events", closed_port());
    let run = sscope(["sse", &url, "--retry", "50"]).await;
    run.expect_failure();
    run.expect_kinds(&["meta error"]);
    assert_eq!(run.cause(), "refused", "{run}");
}

#[tokio::test]
async fn sse_connection_closed_before_any_response_is_not_retried() {
    let server = RawServer::start(vec![Script::new(), Script::sse("data: late\n\n")]).await;
    let run = sscope(["sse", &server.url("/events"), "--retry", "50"]).await;
    run.expect_failure();
    run.expect_kinds(&["meta error"]);
    assert_eq!(
        server.connections(),
        1,
        "a connection that never opened is not retried"
    );
}

#[tokio::test]
async fn sse_max_attempts_gives_up_after_n_failed_reconnections() {
    // Each later connection is closed before any response: an attempt that fails to open.
    let server = RawServer::start(vec![
        Script::sse("retry: 50\ndata: a\n\n"),
        Script::new(),
        Script::new(),
        Script::new(),
        Script::sse("data: too late\n\n"),
    ])
    .await;
    let run = sscope(["sse", &server.url("/events"), "--max-attempts", "3"]).await;
    run.expect_failure();
    let attempts: Vec<Option<u64>> = run
        .all("reconnect")
        .into_iter()
        .map(|r| r.attempt)
        .collect();
    assert_eq!(attempts, [Some(1), Some(2), Some(3)], "{run}");
    assert_eq!(run.all("open").len(), 1, "{run}");
    assert_eq!(
        run.records.last().map(|r| r.kind.as_str()),
        Some("error"),
        "{run}"
    );
    assert_eq!(
        server.connections(),
        4,
        "three attempts after the first connection"
    );
}

#[tokio::test]
async fn sse_max_attempts_counts_only_consecutive_failures() {
    // Two failures in all, never two in a row: --max-attempts 2 must not give up.
    let server = RawServer::start(vec![
        Script::sse("retry: 50\ndata: a\n\n"),
        Script::new(),
        Script::sse("data: b\n\n"),
        Script::new(),
        Script::sse("data: c\n\n").hold(),
    ])
    .await;
    let run = sscope([
        "sse",
        &server.url("/events"),
        "--max-attempts",
        "2",
        "--count",
        "3",
    ])
    .await;
    run.expect_exit(0);
    assert_eq!(run.event_data(), ["a", "b", "c"], "{run}");
}

#[tokio::test]
async fn sse_backoff_doubles_the_delay_after_each_failed_attempt() {
    let server = RawServer::start(vec![
        Script::sse("data: a\n\n"),
        Script::new(),
        Script::new(),
        Script::new(),
    ])
    .await;
    let run = sscope([
        "sse",
        &server.url("/events"),
        "--retry",
        "50",
        "--backoff",
        "--max-attempts",
        "3",
    ])
    .await;
    run.expect_failure();
    let delays: Vec<Option<u64>> = run
        .all("reconnect")
        .into_iter()
        .map(|r| r.retry_ms)
        .collect();
    assert_eq!(delays, [Some(50), Some(100), Some(200)], "{run}");
}

#[tokio::test]
async fn sse_backoff_resets_after_a_successful_open() {
    let server = RawServer::start(vec![
        Script::sse("data: a\n\n"),
        Script::new(),
        Script::sse("data: b\n\n"),
        Script::sse("data: c\n\n").hold(),
    ])
    .await;
    let run = sscope([
        "sse",
        &server.url("/events"),
        "--retry",
        "50",
        "--backoff",
        "--count",
        "3",
    ])
    .await;
    // The broken transport is an error record; the run still ends as asked.
    run.expect_exit(0);
    let delays: Vec<Option<u64>> = run
        .all("reconnect")
        .into_iter()
        .map(|r| r.retry_ms)
        .collect();
    assert_eq!(delays, [Some(50), Some(100), Some(50)], "{run}");
    assert_eq!(run.event_data(), ["a", "b", "c"], "{run}");
}

#[tokio::test]
async fn sse_idle_timeout_treats_silence_as_a_broken_transport() {
    let server = RawServer::start(vec![
        Script::sse("retry: 50\ndata: a\n\n").hold(),
        Script::sse("data: b\n\n").hold(),
    ])
    .await;
    let run = sscope([
        "sse",
        &server.url("/events"),
        "--idle-timeout",
        "0.3",
        "--count",
        "2",
    ])
    .await;
    // The broken transport is an error record; the run still ends as asked.
    run.expect_exit(0);
    assert_eq!(run.cause(), "idle_timeout", "{run}");
    run.expect_kinds(&BROKEN_THEN_RESUMED);
}

#[tokio::test]
async fn sse_idle_timeout_is_reset_by_every_byte() {
    // A heartbeat comment every 100 ms for 1.5 s keeps a 1 s idle timeout from firing: the
    // stream outlives the timeout only if every byte restarts it, and the tenfold margin
    // leaves room for a loaded machine's late wake-ups.
    let mut script = Script::sse("retry: 50\n\n");
    for _ in 0..15 {
        script = script.pause_ms(100).write(":\n");
    }
    let server = RawServer::start(vec![script.write("data: done\n\n").hold()]).await;
    let run = sscope([
        "sse",
        &server.url("/events"),
        "--idle-timeout",
        "1",
        "--count",
        "1",
    ])
    .await;
    run.expect_success();
    assert!(
        run.all("error").is_empty() && run.all("reconnect").is_empty(),
        "{run}"
    );
    assert_eq!(run.all("comment").len(), 15, "{run}");
}

#[tokio::test]
async fn sse_line_over_max_line_is_an_error_without_reconnect() {
    let server = RawServer::start(vec![
        Script::sse(format!("retry: 50\ndata: {}\n\n", "x".repeat(500))).hold(),
        Script::sse("data: b\n\n").hold(),
    ])
    .await;
    let run = sscope(["sse", &server.url("/events"), "--max-line", "100"]).await;
    run.expect_failure();
    assert!(run.all("event").is_empty(), "{run}");
    assert_eq!(run.cause(), "too_big", "{run}");
    assert!(run.stderr().contains("--max-line"), "{run}");
    assert!(run.all("reconnect").is_empty(), "{run}");
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn sse_unterminated_line_over_max_line_is_an_error_before_it_ends() {
    // The line never ends: the limit must hold on what is buffered, or a peer could fill memory.
    let server = RawServer::start(vec![
        Script::sse(format!("data: {}", "x".repeat(5000))).hold(),
    ])
    .await;
    let run = sscope(["sse", &server.url("/events"), "--max-line", "100"]).await;
    run.expect_failure();
}

#[tokio::test]
async fn sse_event_over_max_event_is_an_error() {
    let body: String = (0..20).map(|_| "data: 0123456789\n").collect();
    let server = RawServer::start(vec![Script::sse(format!("{body}\n")).hold()]).await;
    let run = sscope(["sse", &server.url("/events"), "--max-event", "100"]).await;
    run.expect_failure();
    assert!(run.all("event").is_empty(), "{run}");
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn sse_body_makes_a_post_with_that_body() {
    let server = RawServer::start(vec![Script::sse("data: a\n\n")]).await;
    let run = sscope([
        "sse",
        &server.url("/stream"),
        "--body",
        r#"{"q":1}"#,
        "-H",
        "Content-Type: application/json",
        "--no-reconnect",
    ])
    .await;
    run.expect_success();
    let request = server.request();
    assert_eq!(request.method, "POST");
    assert_eq!(request.body_text(), r#"{"q":1}"#);
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("accept"), Some("text/event-stream"));
}

#[tokio::test]
async fn sse_method_post_without_body_sends_an_empty_post() {
    let server = RawServer::start(vec![Script::sse("data: a\n\n")]).await;
    let run = sscope([
        "sse",
        &server.url("/stream"),
        "--method",
        "POST",
        "--no-reconnect",
    ])
    .await;
    run.expect_success();
    let request = server.request();
    assert_eq!(request.method, "POST");
    assert!(request.body.is_empty(), "{request:?}");
}

#[tokio::test]
async fn sse_post_is_repeated_with_its_body_on_reconnect() {
    let server = RawServer::start(vec![
        Script::sse("retry: 50\nid: 1\ndata: a\n\n"),
        Script::sse("data: b\n\n").hold(),
    ])
    .await;
    let run = sscope([
        "sse",
        &server.url("/stream"),
        "--body",
        "q=1",
        // A POST is sent again after a clean end only when asked.
        "--reconnect-on-end",
        "--count",
        "2",
    ])
    .await;
    run.expect_success();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        (
            requests[1].method.as_str(),
            requests[1].body_text().as_str()
        ),
        ("POST", "q=1")
    );
    assert_eq!(requests[1].header("last-event-id"), Some("1"));
}

#[tokio::test]
async fn sse_request_carries_custom_headers_and_bearer_auth() {
    let server = RawServer::start(vec![Script::sse("data: a\n\n")]).await;
    let run = sscope([
        "sse",
        &server.url("/events"),
        "-H",
        "X-Api-Key: k1",
        "--auth-bearer",
        "tok3n",
        "--no-reconnect",
    ])
    .await;
    run.expect_success();
    let request = server.request();
    assert_eq!(request.header("x-api-key"), Some("k1"));
    assert_eq!(request.header("authorization"), Some("Bearer tok3n"));
}

#[tokio::test]
async fn sse_basic_auth_is_base64_of_user_colon_password() {
    let server = RawServer::start(vec![Script::sse("data: a\n\n")]).await;
    let run = sscope([
        "sse",
        &server.url("/events"),
        "--auth-basic",
        "Aladdin:open sesame",
        "--no-reconnect",
    ])
    .await;
    run.expect_success();
    assert_eq!(
        server.request().header("authorization"),
        Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
    );
}

#[tokio::test]
async fn sse_gzip_encoded_stream_is_decoded_as_it_arrives() {
    // The first event is sync-flushed and the rest held back until sscope has printed it:
    // a decoder that waits for more input (or the end) never shows "first" in time.
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(b"retry: 50\ndata: first\n\n")
        .expect("compressing");
    gz.flush().expect("sync flush");
    let first_len = gz.get_ref().len();
    gz.write_all(b"data: second\n\n").expect("compressing");
    let compressed = gz.finish().expect("finishing gzip");
    let head = sse_head(&[("Content-Encoding", "gzip")]);
    let gate = Gate::new();
    let script = Script::new()
        .write(head)
        .write(&compressed[..first_len])
        .wait(&gate)
        .write(&compressed[first_len..])
        .hold();
    let server = RawServer::start(vec![script]).await;
    let mut live = Sscope::new(["sse", &server.url("/events"), "--count", "2"])
        .deadline(Duration::from_secs(10))
        .spawn();
    live.expect("meta open").await;
    live.expect("in retry").await;
    assert_eq!(live.expect("in event").await.text(), "first");
    gate.open();
    assert_eq!(live.expect("in event").await.text(), "second");
}

#[tokio::test]
async fn sse_gzip_bomb_is_refused_with_too_big_and_no_reconnection() {
    // 10 MiB of blank lines (which dispatch nothing) after one event: about 10 KiB on the
    // wire. Decoded whole it would pass any parser limit unnoticed; the ratio stops it.
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(b"data: before\n\n").expect("compressing");
    gz.write_all(&vec![b'\n'; 10 << 20]).expect("compressing");
    let bomb = gz.finish().expect("finishing gzip");
    let head = sse_head(&[("Content-Encoding", "gzip")]);
    let server = RawServer::start(vec![Script::new().write(head).write(bomb).hold()]).await;
    let run = sscope(["sse", &server.url("/events"), "--retry", "50"]).await;
    run.expect_failure();
    run.expect_kinds(&["meta open", "in event", "meta error"]);
    let error = run.one("error");
    assert_eq!(error.cause.as_deref(), Some("too_big"), "{run}");
    let message = error.message.as_deref().unwrap_or_default();
    assert!(
        message.contains("inflates") && message.contains("over the bound of 100:1"),
        "{message}"
    );
    assert_eq!(server.connections(), 1, "a bomb is not asked for again");
}

#[tokio::test]
async fn sse_redirect_is_followed_to_the_stream() {
    let server = RawServer::start(vec![
        Script::redirect("302 Found", "/moved?y=2"),
        Script::sse("data: here\n\n").hold(),
    ])
    .await;
    let run = sscope(["sse", &server.url("/start"), "--count", "1"]).await;
    run.expect_success();
    run.expect_kinds(&["meta open", "in event"]);
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[1].target, "/moved?y=2");
    assert_eq!(requests[1].header("accept"), Some("text/event-stream"));
}

#[tokio::test]
async fn sse_pretty_format_prints_one_line_per_record_without_colour_off_a_tty() {
    let body = "id: 1\ndata: hello pretty\n\n: note\n\n";
    let ndjson_server = RawServer::start(vec![Script::sse(body)]).await;
    let records = sscope(["sse", &ndjson_server.url("/events"), "--no-reconnect"]).await;
    records.expect_success();

    let server = RawServer::start(vec![Script::sse(body)]).await;
    let output = Sscope::new([
        "sse",
        &server.url("/events"),
        "--no-reconnect",
        "--format",
        "pretty",
    ])
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
}

#[tokio::test]
async fn sse_items_carry_their_stream_bytes_field_names_and_line_ends_included() {
    // A comment, then an event whose lines include an ignored field and CRLF ends, then
    // a retry: each item counts the bytes since the one before it.
    let stream = ": hi\nid: 1\r\nx-note: skip\r\ndata: x\r\n\r\nretry: 50\n";
    let server = RawServer::start(vec![Script::sse(stream)]).await;
    let run = sscope(["sse", &server.url("/events"), "--no-reconnect"]).await;
    run.expect_success();
    let figures: Vec<(String, Option<u64>)> = run
        .records
        .iter()
        .filter(|r| r.dir == "in")
        .map(|r| (r.kind.clone(), r.wire_bytes))
        .collect();
    let want = [("comment", 5), ("event", 7 + 14 + 9 + 2), ("retry", 10)]
        .map(|(k, n)| (k.to_owned(), Some(n)));
    assert_eq!(figures, want, "{run}");
}

/// The in-stream items of a run with their stream bytes and chunk framing bytes.
fn item_figures(run: &streamscope_e2e::Run) -> Vec<(String, Option<u64>, Option<u64>)> {
    run.records
        .iter()
        .filter(|r| r.dir == "in")
        .map(|r| (r.kind.clone(), r.wire_bytes, r.framing_bytes))
        .collect()
}

#[tokio::test]
async fn sse_chunked_items_carry_the_framing_bytes_that_came_before_them() {
    // One event per chunk, two events in one chunk (with a chunk extension), an event
    // split across two chunks, a comment alone, then the last chunk with a trailer. Each
    // write is its own TCP read, and the figures must not depend on how reads fall.
    let pieces: Vec<Vec<u8>> = vec![
        chunk("data: a\n\n"),
        b"12;ext=1\r\ndata: b\n\ndata: c\n\n\r\n".to_vec(),
        chunk("data: spl"),
        chunk("it\n\n"),
        chunk(": end\n"),
    ];
    let last = b"0\r\nX-Checksum: 1\r\n\r\n";
    let body: Vec<u8> = pieces.iter().flatten().chain(last).copied().collect();
    let script = Script::new()
        .write(sse_chunked_head())
        .trickle(&pieces, 30)
        .write(last);
    let server = RawServer::start(vec![script]).await;
    let run = sscope(["sse", &server.url("/events"), "--no-reconnect"]).await;
    run.expect_success();
    run.expect_kinds(&[
        "meta open",
        "in event",
        "in event",
        "in event",
        "in event",
        "in comment",
        "meta end",
    ]);
    let want = [
        // "9\r\n" before it.
        ("event", 9, 3),
        // The CRLF after "a"'s data, then "12;ext=1\r\n".
        ("event", 9, 2 + 10),
        // Same chunk as "b": nothing came between them.
        ("event", 9, 0),
        // CRLF, "9\r\n", then in its second chunk CRLF and "4\r\n".
        ("event", 13, 2 + 3 + 2 + 3),
        // CRLF, "6\r\n".
        ("comment", 6, 2 + 3),
    ]
    .map(|(k, w, f)| (k.to_owned(), Some(w), Some(f)));
    assert_eq!(item_figures(&run), want, "{run}");
    // Everything after the head is in some item's figures, but for what follows the last
    // item: the CRLF after its data and the last chunk with its trailers.
    let counted: u64 = want
        .iter()
        .map(|(_, w, f)| w.unwrap_or(0) + f.unwrap_or(0))
        .sum();
    assert_eq!(counted + 2 + last.len() as u64, body.len() as u64, "{run}");
}

#[tokio::test]
async fn sse_chunked_figures_are_the_same_however_the_reads_fall() {
    // The same body in one write and one byte at a time.
    let body = [
        chunk("data: a\n\ndata: b\n"),
        chunk("\n"),
        b"0\r\n\r\n".to_vec(),
    ]
    .concat();
    let whole = Script::new().write(sse_chunked_head()).write(&body);
    let bytes = Script::new()
        .write(sse_chunked_head())
        .trickle(body.iter().map(|b| [*b]), 2);
    for script in [whole, bytes] {
        let server = RawServer::start(vec![script]).await;
        let run = sscope(["sse", &server.url("/events"), "--no-reconnect"]).await;
        run.expect_success();
        // "11\r\n" before "a"; "b" gets the CRLF and "1\r\n" before its last line end.
        let want = [("event", 9, 4), ("event", 9, 2 + 3)]
            .map(|(k, w, f)| (k.to_owned(), Some(w), Some(f)));
        assert_eq!(item_figures(&run), want, "{run}");
    }
}

#[tokio::test]
async fn sse_body_without_chunked_framing_has_no_framing_bytes() {
    let length = Script::respond(
        "200 OK",
        &[("Content-Type", "text/event-stream")],
        "data: a\n\n",
    );
    for script in [Script::sse("data: a\n\n"), length] {
        let server = RawServer::start(vec![script]).await;
        let run = sscope(["sse", &server.url("/events"), "--no-reconnect"]).await;
        run.expect_success();
        run.expect_kinds(&["meta open", "in event", "meta end"]);
        assert_eq!(
            item_figures(&run),
            [("event".to_owned(), Some(9), None)],
            "{run}"
        );
    }
}

#[tokio::test]
async fn sse_malformed_chunk_framing_is_a_protocol_violation_without_reconnect() {
    let cases: [(&[u8], &str); 3] = [
        (b"zz\r\ndata: a\n\n\r\n", "hexadecimal size"),
        // The size says 4 bytes, the data runs on: no CRLF where the chunk ends.
        (b"4\r\ndata: a\n\n\r\n", "not followed by CRLF"),
        (b"9 junk\r\ndata: a\n\n\r\n", "other than `;`"),
    ];
    for (bad, says) in cases {
        let script = Script::new()
            .write(sse_chunked_head())
            .write(chunk("retry: 50\n"))
            .pause_ms(30)
            .write(bad)
            .hold();
        let server = RawServer::start(vec![script]).await;
        let run = sscope(["sse", &server.url("/events")]).await;
        run.expect_failure();
        run.expect_kinds(&["meta open", "in retry", "meta error"]);
        assert_eq!(run.cause(), "protocol_violation", "{run}");
        let message = run.one("error").message.as_deref().unwrap_or_default();
        assert!(
            message.contains("malformed chunked body") && message.contains(says),
            "{message}"
        );
        assert_eq!(server.connections(), 1, "not asked again: {run}");
    }
}

#[tokio::test]
async fn sse_endless_chunk_size_line_or_trailers_are_stopped_with_a_clear_error() {
    let endless_size = [b"1;".to_vec(), vec![b'x'; 64 << 10]].concat();
    let endless_trailers = [
        chunk("data: a\n\n"),
        b"0\r\n".to_vec(),
        b"X-Pad: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n".repeat(2000),
    ]
    .concat();
    for (body, says, cause) in [
        (
            endless_size,
            "chunk-size line is longer than",
            "protocol_violation",
        ),
        (
            endless_trailers,
            "trailers after the last chunk",
            "protocol_violation",
        ),
    ] {
        let script = Script::new().write(sse_chunked_head()).write(body).hold();
        let server = RawServer::start(vec![script]).await;
        let run = sscope(["sse", &server.url("/events"), "--retry", "50"]).await;
        run.expect_failure();
        assert_eq!(run.cause(), cause, "{run}");
        let message = run.one("error").message.as_deref().unwrap_or_default();
        assert!(message.contains(says), "{message}");
        assert_eq!(server.connections(), 1, "not asked again: {run}");
    }
}

#[tokio::test]
async fn sse_303_and_301_turn_a_post_into_a_get_without_its_body() {
    for status in ["303 See Other", "301 Moved Permanently", "302 Found"] {
        let server = RawServer::start(vec![
            Script::redirect(status, "/stream"),
            Script::sse("data: here\n\n").hold(),
        ])
        .await;
        let run = sscope([
            "sse",
            &server.url("/start"),
            "--body",
            r#"{"q":1}"#,
            "--count",
            "1",
        ])
        .await;
        run.expect_success();
        let requests = server.requests();
        assert_eq!(requests.len(), 2, "{status}: {requests:?}");
        assert_eq!(requests[0].method, "POST");
        assert_eq!(requests[0].body, br#"{"q":1}"#);
        assert_eq!(requests[1].method, "GET", "{status}");
        assert!(requests[1].body.is_empty());
        assert_eq!(requests[1].header("content-type"), None);
        assert_eq!(requests[1].header("content-length"), None);
    }
}

#[tokio::test]
async fn sse_307_keeps_the_post_and_its_body() {
    let server = RawServer::start(vec![
        Script::redirect("307 Temporary Redirect", "/stream"),
        Script::sse("data: here\n\n").hold(),
    ])
    .await;
    let run = sscope(["sse", &server.url("/start"), "--body", "hi", "--count", "1"]).await;
    run.expect_success();
    let requests = server.requests();
    assert_eq!(requests[1].method, "POST");
    assert_eq!(requests[1].body, b"hi");
}

#[tokio::test]
async fn sse_redirect_to_another_origin_drops_authorization_and_cookie() {
    let other = RawServer::start(vec![Script::sse("data: there\n\n").hold()]).await;
    let first = RawServer::start(vec![
        Script::redirect("302 Found", &other.url("/stream")),
        Script::sse("data: here\n\n").hold(),
    ])
    .await;
    let run = sscope([
        "sse",
        &first.url("/start"),
        "--auth-bearer",
        "s3cret",
        "-H",
        "Cookie: a=1",
        "-H",
        "X-Kept: yes",
        "--count",
        "1",
    ])
    .await;
    run.expect_success();
    assert_eq!(
        first.request().header("authorization"),
        Some("Bearer s3cret")
    );
    let moved = other.request();
    assert_eq!(moved.header("authorization"), None, "{moved:?}");
    assert_eq!(moved.header("cookie"), None, "{moved:?}");
    assert_eq!(moved.header("x-kept"), Some("yes"));
}

#[tokio::test]
async fn sse_endless_redirects_stop_after_the_limit_with_an_error() {
    let loops: Vec<Script> = (0..12)
        .map(|_| Script::redirect("302 Found", "/again"))
        .collect();
    let server = RawServer::start(loops).await;
    let run = sscope(["sse", &server.url("/start"), "--no-reconnect"]).await;
    run.expect_failure();
    run.expect_kinds(&["meta error"]);
    let error = run.one("error");
    assert_eq!(error.cause.as_deref(), Some("handshake_rejected"), "{run}");
    assert!(
        error
            .message
            .as_deref()
            .is_some_and(|m| m.contains("too many redirects")),
        "{run}"
    );
    assert_eq!(
        server.connections(),
        11,
        "the first request and ten redirects"
    );
}
