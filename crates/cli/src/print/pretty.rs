//! `--format pretty`: one aligned line per record for people reading a terminal.
//!
//! Columns: time (UTC, milliseconds), connection, direction arrow, kind, size, and a
//! preview cut to the terminal width. Colours only on a terminal, and never when
//! `NO_COLOR` is set.

use std::io::IsTerminal;

use streamscope_engine::{Body, Dir, Record};

pub(crate) struct Pretty {
    width: usize,
    color: bool,
}

const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";

impl Pretty {
    pub(crate) fn for_stdout() -> Self {
        let tty = std::io::stdout().is_terminal();
        let width = terminal_size::terminal_size()
            .map(|(w, _)| usize::from(w.0))
            .or_else(|| std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()))
            .unwrap_or(120);
        Pretty {
            width: width.max(60),
            color: tty && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    #[cfg(test)]
    fn plain(width: usize) -> Self {
        Pretty {
            width,
            color: false,
        }
    }

    pub(crate) fn write(&mut self, r: &Record, out: &mut Vec<u8>) {
        let mut time = [0u8; 27];
        r.t.format_into(&mut time);
        let time = std::str::from_utf8(&time[11..23]).unwrap_or("");
        let (arrow, color) = match (r.dir, &r.body) {
            (_, Body::Error { .. }) => ("!", RED),
            (Dir::In, _) => ("←", GREEN),
            (Dir::Out, _) => ("→", CYAN),
            (Dir::Meta, _) => ("•", YELLOW),
        };
        let size = r.body.size().map(|s| format!("{s} B")).unwrap_or_default();
        let head = format!(
            "{time} {conn:<4} {arrow} {kind:<9} {size:>9}  ",
            conn = r.conn.to_string(),
            kind = r.kind()
        );
        let room = self.width.saturating_sub(head.chars().count()).max(20);
        let detail = cut(&detail(&r.body), room);
        if self.color {
            out.extend_from_slice(
                format!("{DIM}{time}{RESET} {conn:<4} {color}{arrow} {kind:<9}{RESET} {size:>9}  {detail}\n",
                    conn = r.conn.to_string(),
                    kind = r.kind())
                .as_bytes(),
            );
        } else {
            out.extend_from_slice(head.as_bytes());
            out.extend_from_slice(detail.as_bytes());
            out.push(b'\n');
        }
    }
}

/// The part of a record worth reading, on one line.
fn detail(body: &Body) -> String {
    match body {
        Body::Open {
            status,
            headers,
            subprotocol,
        } => {
            let mut s = status.to_string();
            if let Some((_, ct)) = headers.iter().find(|(k, _)| k == "content-type") {
                s.push_str(&format!(" {ct}"));
            }
            if let Some(p) = subprotocol {
                s.push_str(&format!(" subprotocol={p}"));
            }
            s
        }
        Body::Text(t) => one_line(t),
        Body::Binary(b) | Body::Ping(b) | Body::Pong(b) => hex_preview(b),
        Body::Close { code, reason } => match code {
            Some(c) if reason.is_empty() => c.to_string(),
            Some(c) => format!("{c} {}", one_line(reason)),
            None => "(no code)".to_owned(),
        },
        Body::Event { event, data, id } => {
            let mut s = format!("[{event}]");
            if let Some(id) = id {
                s.push_str(&format!(" id={id}"));
            }
            s.push(' ');
            s.push_str(&one_line(data));
            s
        }
        Body::Comment(c) => format!(":{}", one_line(c)),
        Body::Retry { retry_ms } => format!("{retry_ms} ms"),
        Body::Reconnect {
            retry_ms,
            attempt,
            last_event_id,
        } => {
            let mut s = format!("attempt {attempt} after {retry_ms} ms");
            if let Some(id) = last_event_id {
                s.push_str(&format!(", Last-Event-ID: {id}"));
            }
            s
        }
        Body::End => "stream ended by the server".to_owned(),
        Body::Error {
            message, status, ..
        } => match status {
            Some(st) => format!("[{st}] {message}"),
            None => message.clone(),
        },
    }
}

/// Control characters shown visibly so one record stays one line.
fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(512));
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
        if out.len() > 4096 {
            break;
        }
    }
    out
}

fn hex_preview(b: &[u8]) -> String {
    b.iter()
        .take(64)
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn cut(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamscope_engine::{ConnId, Proto, Timestamp};

    fn line(body: Body, dir: Dir, width: usize) -> String {
        let r = Record {
            t: Timestamp(1_764_095_198_123_456),
            conn: ConnId(1),
            proto: Proto::Sse,
            seq: 1,
            dir,
            body,
            wire: None,
        };
        let mut out = Vec::new();
        Pretty::plain(width).write(&r, &mut out);
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn event_line_is_aligned_and_cut_to_width() {
        let l = line(
            Body::Event {
                event: "tick".into(),
                data: "x\n".repeat(100),
                id: Some("7".into()),
            },
            Dir::In,
            80,
        );
        assert!(l.starts_with("18:26:38.123 c1   ← event"), "{l}");
        assert!(l.contains("[tick] id=7 x\\nx"), "{l}");
        assert_eq!(l.trim_end().chars().count(), 80, "{l}");
        assert!(l.trim_end().ends_with('…'));
    }

    #[test]
    fn close_without_code_says_so() {
        let l = line(
            Body::Close {
                code: None,
                reason: String::new(),
            },
            Dir::In,
            100,
        );
        assert!(l.contains("(no code)"), "{l}");
    }
}
