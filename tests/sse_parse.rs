//! `sscope sse` parsing, rule by rule of the WHATWG "event stream interpretation" as
//! CONTRACT.md holds it: decoding, line ends (also split across TCP reads), fields,
//! dispatch, comments and retry records. Each test serves one stream and runs with
//! `--no-reconnect`, so the run ends with the stream's `end`. Connection behaviour
//! (reconnection, statuses, flags) is in sse_conn.rs.

use streamscope_e2e::{RawServer, Run, Script, sscope, sse_head};

/// Serves `script` once and returns the finished run (which must end cleanly).
async fn parse(script: Script) -> Run {
    let server = RawServer::start(vec![script]).await;
    let run = sscope(["sse", &server.url("/events"), "--no-reconnect"]).await;
    run.expect_success().expect_single_conn();
    assert_eq!(
        run.records.first().map(|r| r.dir_kind()).as_deref(),
        Some("meta open"),
        "{run}"
    );
    assert_eq!(
        run.records.last().map(|r| r.dir_kind()).as_deref(),
        Some("meta end"),
        "{run}"
    );
    run
}

/// `(event, data, id)` of every event record.
fn events(run: &Run) -> Vec<(String, String, Option<String>)> {
    run.all("event")
        .into_iter()
        .map(|r| {
            (
                r.event.clone().unwrap_or_default(),
                r.text().to_string(),
                r.id.clone(),
            )
        })
        .collect()
}

fn ev(event: &str, data: &str, id: Option<&str>) -> (String, String, Option<String>) {
    (event.to_string(), data.to_string(), id.map(str::to_string))
}

#[tokio::test]
async fn sse_event_defaults_to_message_with_no_id_when_none_was_set() {
    let run = parse(Script::sse("data: hello\n\n")).await;
    run.expect_kinds(&["meta open", "in event", "meta end"]);
    let event = run.one("event");
    assert_eq!(event.event.as_deref(), Some("message"), "{run}");
    assert_eq!(
        (event.text(), event.size, event.id.as_deref()),
        ("hello", Some(5), None),
        "{run}"
    );
    assert_eq!(event.proto, "sse", "{run}");
}

#[tokio::test]
async fn sse_event_size_counts_utf8_bytes_of_data() {
    let run = parse(Script::sse("data: ☃\n\n")).await;
    assert_eq!(run.one("event").size, Some(3), "{run}");
}

#[tokio::test]
async fn sse_event_field_sets_the_type_for_one_event_only() {
    let run = parse(Script::sse("event: tick\ndata: 1\n\ndata: 2\n\n")).await;
    assert_eq!(
        events(&run),
        [ev("tick", "1", None), ev("message", "2", None)],
        "{run}"
    );
}

#[tokio::test]
async fn sse_multiline_data_is_joined_with_newline() {
    let run = parse(Script::sse("data: a\ndata: b\ndata: c\n\n")).await;
    assert_eq!(run.event_data(), ["a\nb\nc"], "{run}");
}

#[tokio::test]
async fn sse_empty_data_lines_keep_their_newlines() {
    let run = parse(Script::sse("data: a\ndata\ndata:\ndata: d\n\n")).await;
    assert_eq!(run.event_data(), ["a\n\n\nd"], "{run}");
}

#[tokio::test]
async fn sse_crlf_lf_and_cr_are_all_line_ends() {
    let run = parse(Script::sse(
        "data: a\r\n\r\ndata: b\n\ndata: c\r\rdata: d\r\ndata: e\n\r\n",
    ))
    .await;
    assert_eq!(run.event_data(), ["a", "b", "c", "d\ne"], "{run}");
}

#[tokio::test]
async fn sse_cr_only_stream_parses() {
    let run = parse(Script::sse("event: x\rdata: a\rdata: b\r\r")).await;
    assert_eq!(events(&run), [ev("x", "a\nb", None)], "{run}");
}

#[tokio::test]
async fn sse_crlf_split_across_reads_is_one_line_end() {
    // Counting the LF after a split CR as a second line end would dispatch "a" alone.
    let script = Script::new()
        .write(sse_head(&[]))
        .trickle(["data: a\r", "\ndata: b\r", "\n\r", "\n"], 80);
    let run = parse(script).await;
    assert_eq!(run.event_data(), ["a\nb"], "{run}");
}

#[tokio::test]
async fn sse_utf8_character_split_across_reads_is_decoded_whole() {
    let script = Script::new().write(sse_head(&[])).trickle(
        [
            b"data: caf".as_slice(),
            b"\xc3",
            b"\xa9 \xf0",
            b"\x9f\x98",
            b"\x80\n\n",
        ],
        80,
    );
    let run = parse(script).await;
    assert_eq!(run.event_data(), ["café 😀"], "{run}");
}

#[tokio::test]
async fn sse_invalid_utf8_becomes_replacement_characters() {
    let run = parse(Script::sse(b"data: a\xffb\n\n".as_slice())).await;
    assert_eq!(run.event_data(), ["a\u{fffd}b"], "{run}");
    assert_eq!(
        run.one("event").size,
        Some(5),
        "size counts the decoded text's UTF-8 bytes\n{run}"
    );
}

#[tokio::test]
async fn sse_truncated_utf8_sequence_is_one_replacement_character() {
    // WHATWG UTF-8 decode: the maximal subpart E2 82 becomes a single U+FFFD.
    let run = parse(Script::sse(b"data: \xe2\x82\n\n".as_slice())).await;
    assert_eq!(run.event_data(), ["\u{fffd}"], "{run}");
}

#[tokio::test]
async fn sse_leading_bom_is_dropped() {
    let run = parse(Script::sse("\u{feff}data: x\n\n")).await;
    assert_eq!(run.event_data(), ["x"], "{run}");
}

#[tokio::test]
async fn sse_leading_bom_split_across_reads_is_dropped() {
    let script = Script::new()
        .write(sse_head(&[]))
        .trickle([b"\xef".as_slice(), b"\xbb", b"\xbfdata: x\n\n"], 80);
    let run = parse(script).await;
    assert_eq!(run.event_data(), ["x"], "{run}");
}

#[tokio::test]
async fn sse_only_one_leading_bom_is_dropped() {
    // The second BOM is part of the field name "\u{feff}data", which is unknown.
    let run = parse(Script::sse("\u{feff}\u{feff}data: y\n\ndata: z\n\n")).await;
    assert_eq!(run.event_data(), ["z"], "{run}");
}

#[tokio::test]
async fn sse_bom_after_the_start_is_not_dropped() {
    let run = parse(Script::sse("data: a\n\n\u{feff}data: b\n\n")).await;
    assert_eq!(run.event_data(), ["a"], "{run}");
}

#[tokio::test]
async fn sse_field_without_colon_is_a_field_with_empty_value() {
    let run = parse(Script::sse("data\ndata\n\nevent\ndata: x\n\n")).await;
    assert_eq!(
        events(&run),
        [ev("message", "\n", None), ev("message", "x", None)],
        "{run}"
    );
}

#[tokio::test]
async fn sse_data_line_with_empty_value_dispatches_an_event_with_empty_data() {
    // The data buffer is "\n", not empty, so the event is dispatched with data "".
    let run = parse(Script::sse("data\n\n")).await;
    assert_eq!(run.event_data(), [""], "{run}");
    assert_eq!(run.one("event").size, Some(0), "{run}");
}

#[tokio::test]
async fn sse_only_one_space_after_the_colon_is_dropped() {
    let run = parse(Script::sse(
        "data:  two\n\ndata:none\n\ndata: a: b\n\ndata:\tt\n\n",
    ))
    .await;
    assert_eq!(run.event_data(), [" two", "none", "a: b", "\tt"], "{run}");
}

#[tokio::test]
async fn sse_field_names_are_case_sensitive_and_unknown_fields_ignored() {
    let run = parse(Script::sse("Data: no\n\nfoo: bar\ndata: yes\n\n")).await;
    assert_eq!(run.event_data(), ["yes"], "{run}");
}

#[tokio::test]
async fn sse_id_persists_across_events_until_changed() {
    let run = parse(Script::sse(
        "id: 7\ndata: a\n\ndata: b\n\nid: 8\ndata: c\n\n",
    ))
    .await;
    assert_eq!(
        events(&run),
        [
            ev("message", "a", Some("7")),
            ev("message", "b", Some("7")),
            ev("message", "c", Some("8"))
        ],
        "{run}"
    );
}

#[tokio::test]
async fn sse_id_containing_nul_is_ignored() {
    let run = parse(Script::sse("id: 1\ndata: a\n\nid: 2\u{0}3\ndata: b\n\n")).await;
    assert_eq!(
        events(&run),
        [ev("message", "a", Some("1")), ev("message", "b", Some("1"))],
        "{run}"
    );
}

#[tokio::test]
async fn sse_empty_id_sets_the_last_event_id_to_empty() {
    // The buffer was set (to ""): `id` is present and empty, as lastEventId would show.
    let run = parse(Script::sse("id: 5\ndata: a\n\nid\ndata: b\n\n")).await;
    assert_eq!(
        events(&run),
        [ev("message", "a", Some("5")), ev("message", "b", Some(""))],
        "{run}"
    );
}

#[tokio::test]
async fn sse_block_with_empty_data_dispatches_nothing_but_keeps_its_id() {
    // WHATWG: an empty data buffer resets the data and type buffers and dispatches nothing;
    // the id was already stored when its line was read.
    let run = parse(Script::sse("event: foo\n\nid: 3\n\ndata: z\n\n")).await;
    assert_eq!(events(&run), [ev("message", "z", Some("3"))], "{run}");
}

#[tokio::test]
async fn sse_unterminated_event_at_end_of_stream_is_discarded() {
    let run = parse(Script::sse("data: a\n\ndata: b\n")).await;
    assert_eq!(run.event_data(), ["a"], "{run}");
}

#[tokio::test]
async fn sse_unterminated_line_at_end_of_stream_is_discarded() {
    let run = parse(Script::sse("data: a\n\ndata: b")).await;
    assert_eq!(run.event_data(), ["a"], "{run}");
}

#[tokio::test]
async fn sse_comment_text_is_kept_verbatim_with_its_leading_space() {
    let run = parse(Script::sse(
        ": hello\n:no space\n:\n::double\n\ndata: x\n\n",
    ))
    .await;
    let comments: Vec<(&str, Option<u64>)> = run
        .all("comment")
        .into_iter()
        .map(|r| (r.text(), r.size))
        .collect();
    assert_eq!(
        comments,
        [
            (" hello", Some(6)),
            ("no space", Some(8)),
            ("", Some(0)),
            (":double", Some(7))
        ],
        "{run}"
    );
    assert_eq!(run.event_data(), ["x"], "{run}");
}

#[tokio::test]
async fn sse_comment_inside_an_event_comes_before_the_event_record() {
    let run = parse(Script::sse("data: a\n: between\ndata: b\n\n")).await;
    run.expect_kinds(&["meta open", "in comment", "in event", "meta end"]);
    assert_eq!(run.one("comment").text(), " between", "{run}");
    assert_eq!(run.event_data(), ["a\nb"], "{run}");
}

#[tokio::test]
async fn sse_retry_is_a_record_even_when_its_block_dispatches_nothing() {
    let run = parse(Script::sse("retry: 40\n\ndata: y\n\n")).await;
    run.expect_kinds(&["meta open", "in retry", "in event", "meta end"]);
    assert_eq!(run.one("retry").retry_ms, Some(40), "{run}");
}

#[tokio::test]
async fn sse_retry_counts_only_when_all_ascii_digits() {
    let run = parse(Script::sse(
        "retry: 12a\nretry: -5\nretry:  50\nretry: 1.5\nretry: +7\nretry: ５\nretry: 75\ndata: x\n\n",
    ))
    .await;
    let retries: Vec<Option<u64>> = run.all("retry").into_iter().map(|r| r.retry_ms).collect();
    assert_eq!(retries, [Some(75)], "{run}");
}

#[tokio::test]
async fn sse_many_events_all_become_records_in_order() {
    let body: String = (0..2000)
        .map(|i| format!("id: {i}\ndata: e{i}\n\n"))
        .collect();
    let run = parse(Script::sse(body)).await;
    let want: Vec<String> = (0..2000).map(|i| format!("e{i}")).collect();
    assert_eq!(run.event_data(), want);
    assert_eq!(
        run.all("event").last().and_then(|r| r.id.as_deref()),
        Some("1999")
    );
}

#[tokio::test]
async fn sse_long_data_line_under_the_default_limit_is_one_event() {
    let big = "x".repeat(200_000);
    let run = parse(Script::sse(format!("data: {big}\n\n"))).await;
    assert_eq!(run.one("event").size, Some(200_000));
}
