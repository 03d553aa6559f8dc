//! Writing the event-stream format (WHATWG HTML, "server-sent events"): fields, comments and
//! the blank line that dispatches an event. Only the demos' own strings go through here.

use std::fmt::Write as _;

use base64::Engine as _;

/// One event: optional `event:` and `id:` fields, the data as `data:` lines, a blank line.
pub(in crate::demo) fn event(out: &mut String, event: Option<&str>, id: Option<u64>, data: &str) {
    if let Some(event) = event {
        out.push_str("event: ");
        out.push_str(event);
        out.push('\n');
    }
    if let Some(id) = id {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "id: {id}");
    }
    // WHATWG: CR, LF and CRLF all end a line, so each line of the data needs its own `data:`
    // field; the client joins them again with LF.
    for line in lines(data) {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
}

/// One event whose data is `bytes` in standard base64, the only way SSE can carry binary.
pub(super) fn event_base64(out: &mut String, id: Option<u64>, bytes: &[u8]) {
    if let Some(id) = id {
        let _ = writeln!(out, "id: {id}");
    }
    out.push_str("data: ");
    base64::engine::general_purpose::STANDARD.encode_string(bytes, out);
    out.push_str("\n\n");
}

/// A comment line (`: text`), which EventSource ignores; it keeps proxies and read timeouts
/// from seeing an idle connection. `text` must be one line.
pub(super) fn comment(out: &mut String, text: &str) {
    out.push_str(": ");
    out.push_str(text);
    out.push_str("\n\n");
}

/// The `retry:` field: how long the client waits before reconnecting. Sent in a block of its
/// own, which dispatches nothing (WHATWG: an empty data buffer dispatches no event).
pub(super) fn retry(out: &mut String, ms: u64) {
    let _ = write!(out, "retry: {ms}\n\n");
}

/// Splits on CRLF, CR and LF, as an event-stream parser would.
fn lines(data: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.find(['\r', '\n']) {
            None => {
                rest = None;
                Some(text)
            }
            Some(i) => {
                let end = if text[i..].starts_with("\r\n") {
                    i + 2
                } else {
                    i + 1
                };
                rest = Some(&text[end..]);
                Some(&text[..i])
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_carries_its_fields_and_ends_with_a_blank_line() {
        let mut out = String::new();
        event(&mut out, Some("tick"), Some(7), "{}");
        assert_eq!(out, "event: tick\nid: 7\ndata: {}\n\n");
    }

    #[test]
    fn multi_line_data_becomes_several_data_fields() {
        let mut out = String::new();
        event(&mut out, None, None, "a\r\nb\rc\nd\n");
        assert_eq!(out, "data: a\ndata: b\ndata: c\ndata: d\ndata: \n\n");
    }

    #[test]
    fn binary_goes_out_as_base64() {
        let mut out = String::new();
        event_base64(&mut out, Some(1), &[0, 255, 16]);
        assert_eq!(out, "id: 1\ndata: AP8Q\n\n");
    }
}
