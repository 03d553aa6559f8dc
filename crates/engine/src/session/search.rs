//! Search over a connection's whole recording: which records match a text, kinds and
//! directions, newest first, a page at a time.
//!
//! It owns the matching rules (what text of each kind of record is searched) and the scan
//! (backwards by `seq`, in chunks, the session's lock taken per chunk only, and a bound on
//! the work one call does). It leaves the store's layout to `recording`, and the query's
//! spelling (URL parameters) and the paging of results into a list to the front ends.

use std::fmt::Write as _;

use streamscope_model::record::{Body, ConnId, Dir, Record};

use super::{Session, SessionError};

/// Records read per lock: the lock is released between chunks so connections keep
/// recording and other readers keep reading while a long search runs; small enough that a
/// chunk of large records stays a modest allocation.
const SEARCH_CHUNK: usize = 256;

/// Most records one call reads, whatever it finds: a search of a huge recording comes
/// back with what it found so far and a cursor, so one request never holds a worker for long.
pub const MAX_SCAN_RECORDS: u64 = 200_000;

/// Most payload bytes one call reads (after `MAX_SCAN_RECORDS` records or these bytes,
/// whichever comes first): a recording of large messages is searched in bounded steps too.
pub const MAX_SCAN_BYTES: u64 = 64 << 20;

/// What a search looks for.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Text to find in a record's searchable text (see [`searchable_text`]); empty matches
    /// every record of the chosen kinds and directions.
    pub text: String,
    /// When false (the default, as the UI's filter), letters match in either case.
    pub case_sensitive: bool,
    /// Kinds searched (`text`, `event`, …); empty means every kind.
    pub kinds: Vec<String>,
    /// Directions searched; empty means every direction.
    pub dirs: Vec<Dir>,
}

/// Where a call starts and how much it may do.
#[derive(Debug, Clone, Copy)]
pub struct SearchBounds {
    /// Only records with `seq < before` are searched; `u64::MAX` for the newest first.
    pub before: u64,
    /// Only records with `seq > after` are searched; 0 for down to the oldest. A live view
    /// that already decided every row up to some seq asks for the newer ones only.
    pub after: u64,
    /// Most matches returned.
    pub limit: usize,
    /// Most records read, at most [`MAX_SCAN_RECORDS`].
    pub max_scan: u64,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPage {
    /// Matching seqs, newest first.
    pub matches: Vec<u64>,
    /// The `before` of the next page, `None` when the oldest record (or the one just after
    /// `after`) has been searched.
    pub next: Option<u64>,
    /// Records read by this call.
    pub scanned: u64,
}

/// A compiled query.
struct Matcher {
    needle: String,
    case_sensitive: bool,
    kinds: Vec<String>,
    dirs: Vec<Dir>,
}

impl Matcher {
    fn new(q: &SearchQuery) -> Self {
        let case_sensitive = q.case_sensitive;
        let needle = if case_sensitive {
            q.text.clone()
        } else {
            q.text.to_lowercase()
        };
        Matcher {
            needle,
            case_sensitive,
            kinds: q.kinds.clone(),
            dirs: q.dirs.clone(),
        }
    }

    fn matches(&self, r: &Record) -> bool {
        if !self.dirs.is_empty() && !self.dirs.contains(&r.dir) {
            return false;
        }
        if !self.kinds.is_empty() && !self.kinds.iter().any(|k| k == r.kind()) {
            return false;
        }
        if self.needle.is_empty() {
            return true;
        }
        searchable_text(r).iter().any(|hay| {
            if self.case_sensitive {
                hay.contains(self.needle.as_str())
            } else {
                hay.to_lowercase().contains(self.needle.as_str())
            }
        })
    }
}

/// The text of a record that a search reads: the whole payload, not a preview. Text and
/// event data as received (plus the event type and id); binary and control payloads as
/// hex, the way the frame list shows them (`de ad be ef`), and as text when they are UTF-8;
/// a close's code and reason; an error's message and status; an open's status and
/// subprotocol; a reconnection's `Last-Event-ID`.
pub fn searchable_text(r: &Record) -> Vec<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow::{Borrowed, Owned};
    match &r.body {
        Body::Text(s) | Body::Comment(s) => vec![Borrowed(s.as_str())],
        Body::Event { event, data, id } => {
            [Some(data.as_str()), Some(event.as_str()), id.as_deref()]
                .into_iter()
                .flatten()
                .map(Borrowed)
                .collect()
        }
        Body::Binary(b) | Body::Ping(b) | Body::Pong(b) => {
            let mut hex = String::with_capacity(b.len() * 3);
            for (i, byte) in b.iter().enumerate() {
                let sep = if i == 0 { "" } else { " " };
                // Writing to a String cannot fail.
                let _ = write!(hex, "{sep}{byte:02x}");
            }
            let mut out = vec![Owned(hex)];
            if let Ok(text) = std::str::from_utf8(b) {
                out.push(Borrowed(text));
            }
            out
        }
        Body::Close { code, reason } => std::iter::once(Borrowed(reason.as_str()))
            .chain(code.map(|c| Owned(c.to_string())))
            .collect(),
        Body::Error {
            message,
            status,
            cause,
            ..
        } => std::iter::once(Borrowed(message.as_str()))
            .chain(status.map(|s| Owned(s.to_string())))
            .chain(cause.as_ref().map(|c| Borrowed(c.as_str())))
            .collect(),
        Body::Open {
            status,
            subprotocol,
            ..
        } => std::iter::once(Owned(status.to_string()))
            .chain(subprotocol.as_deref().map(Borrowed))
            .collect(),
        Body::Reconnect { last_event_id, .. } => {
            last_event_id.iter().map(|s| Borrowed(s.as_str())).collect()
        }
        Body::Retry { .. } | Body::End => Vec::new(),
    }
}

impl Session {
    /// Searches the recording of `id` backwards from `bounds.before`: the matching seqs,
    /// newest first, until `bounds.limit` matches are found, the scan bound is reached
    /// ([`MAX_SCAN_RECORDS`] records or [`MAX_SCAN_BYTES`] payload bytes) or the oldest
    /// record (or the one just after `bounds.after`) is read. The lock is held per chunk of
    /// [`SEARCH_CHUNK`] records and matching runs outside it; records that arrive meanwhile
    /// are newer than `before` and left to the caller's live view.
    ///
    /// Errors: [`SessionError::UnknownConn`] when `id` is not (or no longer) recorded.
    pub fn search(
        &self,
        id: ConnId,
        query: &SearchQuery,
        bounds: SearchBounds,
    ) -> Result<SearchPage, SessionError> {
        let matcher = Matcher::new(query);
        let max_scan = bounds.max_scan.clamp(1, MAX_SCAN_RECORDS);
        let mut page = SearchPage {
            matches: Vec::new(),
            next: None,
            scanned: 0,
        };
        if bounds.limit == 0 {
            page.next = Some(bounds.before);
            return Ok(page);
        }
        let mut bytes = 0u64;
        let mut chunk = Vec::with_capacity(SEARCH_CHUNK);
        // Records with seq < `end` are still to be searched.
        let mut end = bounds.before;
        loop {
            let first = {
                let st = self.lock();
                let e = st.conns.get(&id).ok_or(SessionError::UnknownConn(id))?;
                let (Some(first), Some(last)) = (e.store.first_seq(), e.store.last_seq()) else {
                    return Ok(page);
                };
                // The lowest seq this call may read: the oldest held, or the one after
                // `after`.
                let first = first.max(bounds.after.saturating_add(1));
                end = end.min(last.saturating_add(1));
                if end <= first {
                    return Ok(page);
                }
                let room = max_scan - page.scanned;
                let want = (end - first).min(SEARCH_CHUNK as u64).min(room);
                chunk.clear();
                e.store.range(end - want, want as usize, &mut chunk);
                first
            };
            if chunk.is_empty() {
                // A corrupt store cannot read this chunk back; stop rather than loop.
                page.next = Some(end);
                return Ok(page);
            }
            for r in chunk.iter().rev() {
                if r.seq >= end {
                    continue;
                }
                page.scanned += 1;
                bytes += r.body.size().unwrap_or(0) as u64;
                end = r.seq;
                if matcher.matches(r) {
                    page.matches.push(r.seq);
                    if page.matches.len() >= bounds.limit {
                        page.next = (end > first).then_some(end);
                        return Ok(page);
                    }
                }
            }
            if end <= first {
                return Ok(page);
            }
            if page.scanned >= max_scan || bytes >= MAX_SCAN_BYTES {
                page.next = Some(end);
                return Ok(page);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use streamscope_model::record::{Proto, Timestamp};

    fn record(dir: Dir, body: Body) -> Record {
        Record {
            t: Timestamp::now(),
            conn: ConnId(1),
            proto: Proto::Ws,
            seq: 1,
            dir,
            body,
            wire: None,
        }
    }

    fn matcher(text: &str) -> Matcher {
        Matcher::new(&SearchQuery {
            text: text.into(),
            ..SearchQuery::default()
        })
    }

    #[test]
    fn text_past_any_preview_length_is_found() {
        let long = format!("{}needle", "x".repeat(10_000));
        assert!(matcher("NEEDLE").matches(&record(Dir::In, Body::Text(long))));
    }

    #[test]
    fn case_sensitive_search_tells_cases_apart() {
        let q = SearchQuery {
            text: "Needle".into(),
            case_sensitive: true,
            ..SearchQuery::default()
        };
        let m = Matcher::new(&q);
        assert!(m.matches(&record(Dir::In, Body::Text("a Needle".into()))));
        assert!(!m.matches(&record(Dir::In, Body::Text("a needle".into()))));
    }

    #[test]
    fn binary_payloads_are_searched_as_hex_and_as_text() {
        let r = record(
            Dir::In,
            Body::Binary(Bytes::from_static(b"\xde\xad\xbe\xef")),
        );
        assert!(matcher("AD BE").matches(&r));
        let r = record(Dir::Out, Body::Binary(Bytes::from_static(b"hello")));
        assert!(matcher("ell").matches(&r));
    }

    #[test]
    fn close_reasons_codes_and_error_messages_are_searched() {
        let close = record(
            Dir::In,
            Body::Close {
                code: Some(4001),
                reason: "Going Away".into(),
            },
        );
        assert!(matcher("going").matches(&close));
        assert!(matcher("4001").matches(&close));
        let error = record(
            Dir::Meta,
            Body::Error {
                message: "handshake rejected".into(),
                status: Some(404),
                headers: None,
                cause: Some(streamscope_model::Cause::HandshakeRejected),
            },
        );
        assert!(matcher("rejected").matches(&error));
        assert!(matcher("handshake_rejected").matches(&error));
        assert!(matcher("404").matches(&error));
    }

    #[test]
    fn kinds_and_directions_narrow_the_search() {
        let q = SearchQuery {
            kinds: vec!["text".into()],
            dirs: vec![Dir::Out],
            ..SearchQuery::default()
        };
        let m = Matcher::new(&q);
        assert!(m.matches(&record(Dir::Out, Body::Text("a".into()))));
        assert!(!m.matches(&record(Dir::In, Body::Text("a".into()))));
        assert!(!m.matches(&record(Dir::Out, Body::Binary(Bytes::new()))));
    }
}
