//! An incremental parser for `text/event-stream`, following the WHATWG HTML
//! "event stream interpretation" to the letter.
//!
//! It owns the byte-level framing (BOM, CR/LF/CRLF line ends across chunk boundaries,
//! UTF-8 decoding with replacement), the field rules and the three buffers of the spec.
//! It leaves transport, reconnection timing and record numbering to `conn::sse`.
//!
//! Unlike the SSE crates, it reports comments and `retry` fields as items of their own,
//! because a debugging tool must show them.

use std::borrow::Cow;

/// What one parsed line or block yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A dispatched event. `id` is the last event ID string after the dispatch.
    Event {
        event: String,
        data: String,
        id: Option<String>,
    },
    /// The text after the `:` of a comment line, verbatim.
    Comment(String),
    /// A `retry:` field whose value was all ASCII digits.
    Retry(u64),
}

/// Bounds that stop a hostile or broken server from growing memory without limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest line, in bytes, without its line end. Default 1 MiB: far above any real
    /// feed's line, small enough that a server sending no newline cannot exhaust memory.
    pub max_line: usize,
    /// Most data buffered for one event, in bytes. Default 16 MiB: room for large JSON
    /// documents, a firm stop for a stream that never sends a blank line.
    pub max_event: usize,
}

/// [`Limits::max_line`]'s default.
pub const DEFAULT_MAX_LINE: usize = 1 << 20;
/// [`Limits::max_event`]'s default.
pub const DEFAULT_MAX_EVENT: usize = 16 << 20;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: DEFAULT_MAX_LINE,
            max_event: DEFAULT_MAX_EVENT,
        }
    }
}

/// A limit was exceeded. The stream cannot be parsed further.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("a line longer than the limit of {limit} bytes")]
    LineTooLong { limit: usize },
    #[error("event data longer than the limit of {limit} bytes")]
    EventTooLarge { limit: usize },
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Incremental event-stream parser. Feed it bytes as they arrive; it calls back with
/// items in stream order.
#[derive(Debug)]
pub struct Parser {
    limits: Limits,
    /// Bytes of an unfinished line carried over from the previous chunk.
    line: Vec<u8>,
    /// The previous chunk ended in CR: a LF starting the next one belongs to it.
    after_cr: bool,
    /// Bytes seen at the start of the stream while deciding whether they are a BOM.
    bom_state: BomState,
    data: String,
    event_type: String,
    /// The spec's "last event ID buffer". `None` until a stream ever sets it.
    id_buffer: Option<String>,
    /// The event source's "last event ID string", the `id` of dispatched events.
    last_event_id: Option<String>,
    /// Stream bytes fed so far, and where the last item ended: an item's bytes are
    /// everything since the one before it (field names, line ends, blank lines, ignored
    /// fields and a BOM included), so the items of a stream add up to the stream.
    consumed: u64,
    mark: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BomState {
    /// This many bytes of a possible BOM have been seen and held back.
    Pending(usize),
    Done,
}

impl Parser {
    pub fn new(limits: Limits) -> Self {
        Parser {
            limits,
            line: Vec::new(),
            after_cr: false,
            bom_state: BomState::Pending(0),
            data: String::new(),
            event_type: String::new(),
            id_buffer: None,
            last_event_id: None,
            consumed: 0,
            mark: 0,
        }
    }

    /// The last event ID string: what a reconnection sends as `Last-Event-ID`.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// Sets the last event ID, as `--last-event-id` does before the first request.
    pub fn set_last_event_id(&mut self, id: Option<String>) {
        self.id_buffer = id.clone();
        self.last_event_id = id;
    }

    /// Prepares for a new response body (a reconnection): the framing and the data and
    /// event type buffers start afresh, and the last event ID buffer starts at the last
    /// event ID string, as browsers do, so `id` carries over the reconnection.
    pub fn start_stream(&mut self) {
        self.line.clear();
        self.after_cr = false;
        self.bom_state = BomState::Pending(0);
        self.data.clear();
        self.event_type.clear();
        self.id_buffer = self.last_event_id.clone();
        // What the last stream left unfinished belongs to no item.
        self.mark = self.consumed;
    }

    /// True when bytes of an unfinished line or event are buffered: what a stream that
    /// ends now would discard.
    pub fn has_partial(&self) -> bool {
        !self.line.is_empty() || !self.data.is_empty() || !self.event_type.is_empty()
    }

    /// Parses `chunk`, calling `emit` for every item it completes.
    ///
    /// After an error the parser must not be fed again: the stream is unusable.
    pub fn feed(&mut self, chunk: &[u8], emit: &mut impl FnMut(Item)) -> Result<(), ParseError> {
        self.feed_counted(chunk, &mut |item, _| emit(item))
    }

    /// As [`Parser::feed`], also passing each item's stream bytes: everything since the
    /// previous item, through the line end that completed this one. (The LF of a CRLF
    /// split across chunks counts to the next item.)
    pub fn feed_counted(
        &mut self,
        mut chunk: &[u8],
        emit: &mut impl FnMut(Item, u64),
    ) -> Result<(), ParseError> {
        if let BomState::Pending(seen) = self.bom_state {
            // WHATWG: UTF-8 decode drops one leading BOM. It may arrive split over chunks.
            let mut seen = seen;
            while seen < BOM.len() {
                match chunk.first() {
                    None => {
                        self.bom_state = BomState::Pending(seen);
                        return Ok(());
                    }
                    Some(&b) if b == BOM[seen] => {
                        seen += 1;
                        chunk = &chunk[1..];
                        self.consumed += 1;
                    }
                    Some(_) => {
                        // Not a BOM: the held-back prefix is ordinary content (and is
                        // counted again as it is fed).
                        self.bom_state = BomState::Done;
                        self.consumed -= seen as u64;
                        self.feed_lines(&BOM[..seen], emit)?;
                        return self.feed_lines(chunk, emit);
                    }
                }
            }
            self.bom_state = BomState::Done;
        }
        self.feed_lines(chunk, emit)
    }

    fn feed_lines(
        &mut self,
        mut chunk: &[u8],
        emit: &mut impl FnMut(Item, u64),
    ) -> Result<(), ParseError> {
        if self.after_cr && !chunk.is_empty() {
            self.after_cr = false;
            if chunk[0] == b'\n' {
                // WHATWG: CRLF is one line end, even split across reads.
                chunk = &chunk[1..];
                self.consumed += 1;
            }
        }
        while let Some(pos) = memchr2(b'\r', b'\n', chunk) {
            let end = pos;
            let is_cr = chunk[pos] == b'\r';
            let mut next = pos + 1;
            if is_cr {
                match chunk.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            // The line's bytes in this chunk and its line end: consumed before the line
            // is processed, so the item it completes counts them.
            self.consumed += next as u64;
            if self.line.is_empty() {
                if end > self.limits.max_line {
                    return Err(ParseError::LineTooLong {
                        limit: self.limits.max_line,
                    });
                }
                self.process_line(&chunk[..end], emit)?;
            } else {
                if self.line.len() + end > self.limits.max_line {
                    return Err(ParseError::LineTooLong {
                        limit: self.limits.max_line,
                    });
                }
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&chunk[..end]);
                let result = self.process_line(&line, emit);
                line.clear();
                self.line = line;
                result?;
            }
            chunk = &chunk[next..];
        }
        if !chunk.is_empty() {
            if self.line.len() + chunk.len() > self.limits.max_line {
                return Err(ParseError::LineTooLong {
                    limit: self.limits.max_line,
                });
            }
            self.line.extend_from_slice(chunk);
            self.consumed += chunk.len() as u64;
        }
        Ok(())
    }

    fn emit(&mut self, emit: &mut impl FnMut(Item, u64), item: Item) {
        let bytes = self.consumed - self.mark;
        self.mark = self.consumed;
        emit(item, bytes);
    }

    fn process_line(
        &mut self,
        line: &[u8],
        emit: &mut impl FnMut(Item, u64),
    ) -> Result<(), ParseError> {
        // WHATWG: an empty line dispatches the event.
        if line.is_empty() {
            self.dispatch(emit);
            return Ok(());
        }
        // WHATWG: a line starting with a colon is a comment. We report it; browsers ignore it.
        if line[0] == b':' {
            self.emit(emit, Item::Comment(decode(&line[1..]).into_owned()));
            return Ok(());
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let mut value = &line[colon + 1..];
                // WHATWG: one space after the colon is dropped, no more.
                if value.first() == Some(&b' ') {
                    value = &value[1..];
                }
                (&line[..colon], value)
            }
            // WHATWG: a line without a colon is a field with an empty value.
            None => (line, &b""[..]),
        };
        match name {
            b"data" => {
                let value = decode(value);
                if self.data.len() + value.len() + 1 > self.limits.max_event {
                    return Err(ParseError::EventTooLarge {
                        limit: self.limits.max_event,
                    });
                }
                // Room for the value and its LF at once: pushing the LF into an
                // exactly-sized buffer would double it and copy the value again.
                self.data.reserve(value.len() + 1);
                self.data.push_str(&value);
                self.data.push('\n');
            }
            b"event" => {
                self.event_type.clear();
                self.event_type.push_str(&decode(value));
            }
            // WHATWG: an id containing NUL is ignored.
            b"id" if !value.contains(&0) => {
                self.id_buffer = Some(decode(value).into_owned());
            }
            // WHATWG: only a value of ASCII digits sets the reconnection time.
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                let ms = std::str::from_utf8(value)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    .unwrap_or(u64::MAX);
                self.emit(emit, Item::Retry(ms));
            }
            // WHATWG: any other field is ignored.
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self, emit: &mut impl FnMut(Item, u64)) {
        // WHATWG: the last event ID string takes the buffer's value even when no event
        // is dispatched.
        if self.last_event_id != self.id_buffer {
            self.last_event_id.clone_from(&self.id_buffer);
        }
        // WHATWG: an empty data buffer dispatches nothing and resets the event type.
        if self.data.is_empty() {
            self.event_type.clear();
            return;
        }
        // WHATWG: drop the data buffer's final LF.
        self.data.pop();
        let data = std::mem::take(&mut self.data);
        let event = if self.event_type.is_empty() {
            String::from("message")
        } else {
            std::mem::take(&mut self.event_type)
        };
        let id = self.last_event_id.clone();
        self.emit(emit, Item::Event { event, data, id });
    }
}

/// UTF-8 decode with replacement, borrowing when the bytes are already valid.
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    // Valid UTF-8 is the rule: check it with the fast validator first.
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Position of the first `a` or `b` in `hay`.
fn memchr2(a: u8, b: u8, hay: &[u8]) -> Option<usize> {
    memchr::memchr2(a, b, hay)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What `p` yields for `chunks`, fed one after the other.
    fn feed_all(p: &mut Parser, chunks: &[&[u8]]) -> Vec<Item> {
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c, &mut |i| out.push(i)).expect("within limits");
        }
        out
    }

    /// Each item's stream bytes for `stream` cut into pieces of `size`.
    fn counted(stream: &[u8], size: usize) -> Vec<u64> {
        let mut p = Parser::new(Limits::default());
        let mut out = Vec::new();
        for c in stream.chunks(size) {
            p.feed_counted(c, &mut |_, n| out.push(n))
                .expect("within limits");
        }
        out
    }

    #[test]
    fn each_item_counts_the_stream_bytes_since_the_one_before_whatever_the_chunking() {
        let stream = "\u{feff}: hi\nretry: 10\n\nid: 7\nevent: tick\ndata: a\ndata: bc\nx-ignored: 1\n\n\n\ndata: last\n\ndata: cut";
        let bytes = stream.as_bytes();
        // ": hi\n" after the 3-byte BOM; "retry: 10\n"; the rest through the blank line;
        // then the two blank lines before "data: last" and its own blank line.
        let want = [3 + 5, 10, 1 + 6 + 12 + 8 + 9 + 13 + 1, 2 + 11 + 1];
        for size in 1..=bytes.len() {
            assert_eq!(counted(bytes, size), want, "chunks of {size}");
        }
        // CRLF line ends count two bytes each.
        assert_eq!(counted(b"data: a\r\n\r\n", 64), [11]);
    }

    fn parse_chunks(chunks: &[&[u8]]) -> Vec<Item> {
        feed_all(&mut Parser::new(Limits::default()), chunks)
    }

    fn parse(s: &str) -> Vec<Item> {
        parse_chunks(&[s.as_bytes()])
    }

    fn ev(event: &str, data: &str, id: Option<&str>) -> Item {
        Item::Event {
            event: event.into(),
            data: data.into(),
            id: id.map(Into::into),
        }
    }

    #[test]
    fn event_without_type_is_message() {
        assert_eq!(parse("data: hi\n\n"), vec![ev("message", "hi", None)]);
    }

    #[test]
    fn data_lines_join_with_lf() {
        assert_eq!(
            parse("event: tick\ndata: a\ndata:b\ndata\n\n"),
            vec![ev("tick", "a\nb\n", None)]
        );
    }

    #[test]
    fn every_line_end_form_counts() {
        let want = vec![ev("message", "a", None), ev("message", "b", None)];
        assert_eq!(parse("data: a\r\n\r\ndata: b\r\r"), want);
        assert_eq!(parse("data: a\n\ndata: b\r\n\n"), want);
    }

    #[test]
    fn crlf_split_across_chunks_is_one_line_end() {
        let got = parse_chunks(&[b"data: a\r", b"\n", b"\r", b"\ndata: b\r\n\r\n"]);
        assert_eq!(
            got,
            vec![ev("message", "a", None), ev("message", "b", None)]
        );
    }

    #[test]
    fn only_one_space_after_colon_is_dropped() {
        assert_eq!(parse("data:  two\n\n"), vec![ev("message", " two", None)]);
    }

    #[test]
    fn leading_bom_is_dropped_once() {
        assert_eq!(
            parse_chunks(&[b"\xEF\xBB", b"\xBFdata: x\n\n"]),
            vec![ev("message", "x", None)]
        );
        // A second BOM is content: it makes the field name unknown.
        assert_eq!(parse("\u{FEFF}\u{FEFF}data: x\n\n"), vec![]);
    }

    #[test]
    fn bytes_that_only_start_like_a_bom_are_kept() {
        assert_eq!(
            parse_chunks(&[b"\xEF", b"data: x\n\n"]),
            vec![] // "\u{FFFD}data" is an unknown field
        );
        assert_eq!(
            parse_chunks(&[b"\xEF\xBB", b"\n:c\n"]),
            vec![Item::Comment("c".into())]
        );
    }

    #[test]
    fn invalid_utf8_becomes_replacement_and_split_chars_survive() {
        assert_eq!(
            parse_chunks(&[b"data: \xFF\n\n"]),
            vec![ev("message", "\u{FFFD}", None)]
        );
        assert_eq!(
            parse_chunks(&[b"data: \xE2\x82", b"\xAC\n\n"]),
            vec![ev("message", "€", None)]
        );
    }

    #[test]
    fn id_sets_last_event_id_and_nul_is_ignored() {
        assert_eq!(
            parse("id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n"),
            vec![ev("message", "a", Some("1")), ev("message", "b", Some("1"))]
        );
    }

    #[test]
    fn id_without_data_still_updates_last_event_id() {
        assert_eq!(
            parse("id: 7\n\ndata: a\n\n"),
            vec![ev("message", "a", Some("7"))]
        );
        assert_eq!(parse("id\ndata: a\n\n"), vec![ev("message", "a", Some(""))]);
    }

    #[test]
    fn retry_only_with_ascii_digits() {
        assert_eq!(
            parse("retry: 50\nretry: 5x\nretry: -1\nretry:\nretry: 70\n\n"),
            vec![Item::Retry(50), Item::Retry(70)]
        );
    }

    #[test]
    fn comments_keep_their_leading_space() {
        assert_eq!(
            parse(": keep-alive\n:x\n"),
            vec![
                Item::Comment(" keep-alive".into()),
                Item::Comment("x".into())
            ]
        );
    }

    #[test]
    fn empty_data_dispatches_nothing_and_resets_type() {
        assert_eq!(
            parse("event: a\n\ndata: x\n\n"),
            vec![ev("message", "x", None)]
        );
    }

    #[test]
    fn unterminated_event_is_not_dispatched() {
        let mut p = Parser::new(Limits::default());
        let out = feed_all(&mut p, &[b"data: a\n\ndata: b\n"]);
        assert_eq!(out, vec![ev("message", "a", None)]);
        assert!(p.has_partial());
    }

    #[test]
    fn last_event_id_carries_over_a_new_stream() {
        let mut p = Parser::new(Limits::default());
        let mut out = feed_all(&mut p, &[b"id: 4\ndata: a\n\nid: 9\ndata: cut"]);
        assert_eq!(p.last_event_id(), Some("4"));
        p.start_stream();
        out.extend(feed_all(&mut p, &[b"data: b\n\n"]));
        assert_eq!(
            out,
            vec![ev("message", "a", Some("4")), ev("message", "b", Some("4"))]
        );
    }

    /// Lines from which the property tests build streams: every field form, comments,
    /// odd values, multi-byte and invalid UTF-8, NUL in ids, and blank lines.
    fn line_strategy() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"".to_vec()),
            Just(b"".to_vec()),
            Just(b"data".to_vec()),
            Just(b"data:".to_vec()),
            Just(b"data: x".to_vec()),
            Just(b"data:  two spaces".to_vec()),
            Just("data: é€😀".as_bytes().to_vec()),
            Just(b"data: \xFF\xE2\x82".to_vec()),
            Just(b"event: tick".to_vec()),
            Just(b"event".to_vec()),
            Just(b"id: 42".to_vec()),
            Just(b"id: a\0b".to_vec()),
            Just(b"id".to_vec()),
            Just(b"retry: 1500".to_vec()),
            Just(b"retry: 15x".to_vec()),
            Just(b": comment".to_vec()),
            Just(b":".to_vec()),
            Just(b"unknown: field".to_vec()),
            "[a-z:é ]{0,12}".prop_map(String::into_bytes),
        ]
    }

    fn eol_strategy() -> impl Strategy<Value = &'static [u8]> {
        prop_oneof![Just(&b"\n"[..]), Just(&b"\r"[..]), Just(&b"\r\n"[..])]
    }

    fn stream_strategy() -> impl Strategy<Value = Vec<u8>> {
        (
            any::<bool>(),
            proptest::collection::vec((line_strategy(), eol_strategy()), 0..40),
            proptest::collection::vec(any::<u8>(), 0..4),
        )
            .prop_map(|(bom, lines, tail)| {
                let mut out = Vec::new();
                if bom {
                    out.extend_from_slice(BOM);
                }
                for (line, eol) in lines {
                    out.extend_from_slice(&line);
                    out.extend_from_slice(eol);
                }
                out.extend_from_slice(&tail);
                out
            })
    }

    fn parse_split(stream: &[u8], cuts: &[usize]) -> (Vec<Item>, Option<String>) {
        let mut p = Parser::new(Limits::default());
        let mut out = Vec::new();
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
        points.sort_unstable();
        let mut start = 0;
        for point in points.into_iter().chain(std::iter::once(stream.len())) {
            p.feed(&stream[start..point], &mut |i| out.push(i))
                .expect("within limits");
            start = point;
        }
        (out, p.last_event_id().map(str::to_owned))
    }

    proptest! {
        /// Any split of a stream into chunks gives the same items as one chunk, including
        /// a CR/LF pair, a BOM or a UTF-8 character split across chunks.
        #[test]
        fn any_chunking_gives_the_same_items(
            stream in stream_strategy(),
            cuts in proptest::collection::vec(any::<usize>(), 0..12),
        ) {
            prop_assert_eq!(parse_split(&stream, &cuts), parse_split(&stream, &[]));
        }

        /// Byte by byte is the most extreme chunking.
        #[test]
        fn byte_by_byte_gives_the_same_items(stream in stream_strategy()) {
            let cuts: Vec<usize> = (1..stream.len()).collect();
            prop_assert_eq!(parse_split(&stream, &cuts), parse_split(&stream, &[]));
        }

        /// Arbitrary bytes never panic, and limits hold whatever arrives.
        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let mut p = Parser::new(Limits { max_line: 64, max_event: 128 });
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
            points.sort_unstable();
            let mut start = 0;
            for point in points.into_iter().chain(std::iter::once(bytes.len())) {
                if p.feed(&bytes[start..point], &mut |item| {
                    if let Item::Event { data, .. } = item {
                        assert!(data.len() <= 128);
                    }
                }).is_err() {
                    break;
                }
                start = point;
            }
        }

        /// Agrees with the line-at-a-time reference reading of the spec.
        #[test]
        fn agrees_with_a_reference_reading(stream in stream_strategy()) {
            prop_assert_eq!(parse_split(&stream, &[]).0, super::super::reference::read(&stream));
        }
    }

    #[test]
    fn limits_stop_runaway_lines_and_events() {
        let limits = Limits {
            max_line: 8,
            max_event: 6,
        };
        let mut p = Parser::new(limits);
        assert_eq!(
            p.feed(b"data: 0123456789", &mut |_| {}),
            Err(ParseError::LineTooLong { limit: 8 })
        );
        let mut p = Parser::new(limits);
        assert_eq!(
            p.feed(b"data:abc\ndata:abc\n", &mut |_| {}),
            Err(ParseError::EventTooLarge { limit: 6 })
        );
    }
}
