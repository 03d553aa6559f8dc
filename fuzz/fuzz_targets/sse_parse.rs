//! Fuzzes the SSE event-stream parser (`streamscope_model::sse::Parser`).
//!
//! Input layout (so that seed files stay readable: two header bytes, then the stream):
//!
//! ```text
//! byte 0      number of fuzzer-chosen cut points (low 4 bits, 0..=15)
//! byte 1      small limits for the limits pass: max_line = b % 48, max_event = (b / 48) * 12 + (b % 13)
//! 2 × n       cut points, u16 little-endian, each taken modulo (stream length + 1)
//! rest        the event stream itself
//! ```
//!
//! An input shorter than the header is used whole as the stream, with no cuts.
//!
//! Checked, for every input:
//! 1. Default limits: the stream fed in chunks cut at the fuzzer's points, and fed byte
//!    by byte, yields exactly the items, the result, `last_event_id()` and
//!    `has_partial()` of the stream fed as one chunk. (The key property.)
//! 2. Default limits: the one-chunk items equal those of a deliberately plain,
//!    line-at-a-time reading of the WHATWG steps (CR and CRLF normalised to LF first).
//! 3. Small limits (0..47 bytes a line, 0..~250 bytes an event): the same chunking
//!    property; no event's data exceeds `max_event`; without an error the items equal
//!    the default-limit items, and with an error they are a prefix of them (a limit only
//!    stops the parser, it never changes what it reported before stopping).
//! 4. `start_stream()` at the first cut point: the items after it equal those of a
//!    fresh parser whose last event ID was set to the old parser's `last_event_id()`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use streamscope_model::sse::{Item, Limits, ParseError, Parser};

/// What one parse produced: items, the first error, and the parser state at the end.
#[derive(Debug, PartialEq)]
struct Outcome {
    items: Vec<Item>,
    result: Result<(), ParseError>,
    last_event_id: Option<String>,
    /// Only meaningful without an error (the parser stops mid-chunk on one).
    has_partial: Option<bool>,
}

/// Feeds `stream` cut at `points` (sorted, each <= len), stopping at the first error as
/// the parser's contract requires.
fn parse_at(limits: Limits, stream: &[u8], points: &[usize]) -> Outcome {
    let mut p = Parser::new(limits);
    let mut items = Vec::new();
    let mut result = Ok(());
    let mut start = 0;
    for &point in points.iter().chain(std::iter::once(&stream.len())) {
        result = p.feed(&stream[start..point], &mut |i| items.push(i));
        if result.is_err() {
            break;
        }
        start = point;
    }
    let has_partial = result.is_ok().then(|| p.has_partial());
    Outcome {
        items,
        result,
        last_event_id: p.last_event_id().map(str::to_owned),
        has_partial,
    }
}

fn check_limits(limits: Limits, outcome: &Outcome) {
    for item in &outcome.items {
        if let Item::Event { data, .. } = item {
            assert!(
                data.len() <= limits.max_event,
                "event data of {} bytes exceeds max_event {}",
                data.len(),
                limits.max_event
            );
        }
    }
}

/// Parses `stream` in one chunk, cut at `cuts`, and byte by byte under `limits`; all three
/// must agree and keep to the limits. Returns the one-chunk outcome. `context` opens each
/// failure message.
fn chunking_agrees(
    limits: Limits,
    stream: &[u8],
    cuts: &[usize],
    every_byte: &[usize],
    context: &str,
) -> Outcome {
    let whole = parse_at(limits, stream, &[]);
    check_limits(limits, &whole);
    assert_eq!(
        parse_at(limits, stream, cuts),
        whole,
        "{context}chunked at {cuts:?} differs from one chunk"
    );
    assert_eq!(
        parse_at(limits, stream, every_byte),
        whole,
        "{context}byte by byte differs from one chunk"
    );
    whole
}

fuzz_target!(|input: &[u8]| {
    let (n_cuts, limit_byte, rest) = match input {
        [a, b, rest @ ..] => ((*a & 0x0f) as usize, *b, rest),
        _ => (0, 0, input),
    };
    let n_cuts = n_cuts.min(rest.len() / 2);
    let (cut_bytes, stream) = rest.split_at(n_cuts * 2);
    let mut cuts: Vec<usize> = cut_bytes
        .chunks_exact(2)
        .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])) % (stream.len() + 1))
        .collect();
    let reconnect_at = cuts.first().copied();
    cuts.sort_unstable();
    let every_byte: Vec<usize> = (1..stream.len()).collect();

    // 1. Default limits: any chunking gives the one-chunk outcome.
    let defaults = Limits::default();
    let whole = chunking_agrees(defaults, stream, &cuts, &every_byte, "");

    // 2. Default limits: agrees with the plain reading of the spec.
    if whole.result.is_ok() {
        assert_eq!(whole.items, streamscope_model::sse::reference::read(stream), "differs from the reference reading");
    }

    // 3. Small limits.
    let small = Limits {
        max_line: usize::from(limit_byte % 48),
        max_event: usize::from(limit_byte / 48) * 12 + usize::from(limit_byte % 13),
    };
    let small_whole = chunking_agrees(
        small,
        stream,
        &cuts,
        &every_byte,
        &format!("small limits {small:?}: "),
    );
    if whole.result.is_ok() {
        if small_whole.result.is_ok() {
            assert_eq!(
                small_whole.items, whole.items,
                "small limits {small:?} changed the items without an error"
            );
        } else {
            assert!(
                whole.items.starts_with(&small_whole.items),
                "small limits {small:?}: items before the error are not a prefix of the \
                 default-limit items"
            );
        }
    }

    // 4. start_stream(): a reconnection resets everything but the last event ID.
    if let Some(at) = reconnect_at {
        let (first, second) = stream.split_at(at);
        let mut p = Parser::new(defaults);
        if p.feed(first, &mut |_| {}).is_ok() {
            let carried = p.last_event_id().map(str::to_owned);
            p.start_stream();
            let mut after = Vec::new();
            let r1 = p.feed(second, &mut |i| after.push(i));
            let mut fresh = Parser::new(defaults);
            fresh.set_last_event_id(carried.clone());
            let mut expected = Vec::new();
            let r2 = fresh.feed(second, &mut |i| expected.push(i));
            assert_eq!(
                (after, r1, p.last_event_id()),
                (expected, r2, fresh.last_event_id()),
                "after start_stream() (last event id {carried:?}) differs from a fresh parser"
            );
        }
    }
});

