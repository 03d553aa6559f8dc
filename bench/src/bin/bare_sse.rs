//! The SSE ceiling for `sscope sse`: the simplest correct reader.
//!
//! `bare_sse URL` sends one GET with reqwest on a current-thread runtime,
//! checks for `200 text/event-stream`, splits the byte stream into lines
//! (LF or CRLF) with a minimal field parser (`data`, `event`, `id`; comments
//! and `retry` skipped) and prints every dispatched event as one NDJSON
//! record (CONTRACT.md's `event` shape, serialized with serde_json) into a
//! buffered stdout that is flushed whenever no further bytes are ready. It
//! exits 0 when the stream ends, 1 on any error; it never reconnects.
//!
//! It skips what `sscope sse` must also do (the full WHATWG rules: lone CR
//! line ends, BOM, replacement decoding, limits, `open`/`end` records), so
//! it is the ceiling, not a competitor.

use futures_util::{FutureExt as _, StreamExt as _};
use std::borrow::Cow;
use std::io::{BufWriter, Write};
use std::process::ExitCode;
use streamscope_bench::{Record, TIMESTAMP_LEN, now_rfc3339};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: bare_sse URL");
        return ExitCode::from(2);
    };
    match run(&url).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bare_sse: {e}");
            ExitCode::from(1)
        }
    }
}

async fn run(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    // reqwest is built without a bundled crypto provider; plain http needs
    // none, but the client builder sets up TLS all the same.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder().build()?;
    let response = client
        .get(url)
        .header("accept", "text/event-stream")
        .header("cache-control", "no-store")
        .send()
        .await?;
    let is_sse = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if response.status() != reqwest::StatusCode::OK || !is_sse {
        return Err(format!("not an event stream: status {}", response.status()).into());
    }

    let mut out = BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let mut parser = Parser::default();
    let mut body = response.bytes_stream();
    loop {
        let next = match body.next().now_or_never() {
            Some(next) => next,
            None => {
                out.flush()?;
                body.next().await
            }
        };
        match next {
            None => break,
            Some(chunk) => parser.feed(&chunk?, &mut out)?,
        }
    }
    out.flush()?;
    Ok(())
}

#[derive(Default)]
struct Parser {
    /// Bytes of an unfinished line carried over from the previous chunk.
    pending: Vec<u8>,
    data: Vec<u8>,
    event: String,
    last_id: Option<String>,
    /// The stream's bytes since the last event written, line ends included.
    wire: u64,
    seq: u64,
    ts: [u8; TIMESTAMP_LEN],
}

impl Parser {
    fn feed(&mut self, chunk: &[u8], out: &mut impl Write) -> std::io::Result<()> {
        self.pending.extend_from_slice(chunk);
        let buf = std::mem::take(&mut self.pending);
        let mut start = 0;
        while let Some(pos) = memchr::memchr(b'\n', &buf[start..]) {
            let mut line = &buf[start..start + pos];
            if let [rest @ .., b'\r'] = line {
                line = rest;
            }
            start += pos + 1;
            self.wire += pos as u64 + 1;
            self.line(line, out)?;
        }
        self.pending = buf;
        self.pending.drain(..start);
        Ok(())
    }

    fn line(&mut self, line: &[u8], out: &mut impl Write) -> std::io::Result<()> {
        if line.is_empty() {
            return self.dispatch(out);
        }
        if line[0] == b':' {
            return Ok(());
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
            }
            b"event" => self.event = decode(value).into_owned(),
            b"id" if !value.contains(&0) => {
                self.last_id = Some(decode(value).into_owned());
            }
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self, out: &mut impl Write) -> std::io::Result<()> {
        if self.data.is_empty() {
            self.event.clear();
            return Ok(());
        }
        self.data.pop(); // the last '\n'
        let data = decode(&self.data);
        self.seq += 1;
        let record = Record {
            t: now_rfc3339(&mut self.ts),
            conn: "c1",
            proto: "sse",
            seq: self.seq,
            dir: "in",
            kind: "event",
            size: data.len(),
            data: Some(&data),
            data_b64: None,
            event: Some(if self.event.is_empty() {
                "message"
            } else {
                &self.event
            }),
            id: self.last_id.as_deref(),
            wire_bytes: Some(self.wire),
            frames: None,
        };
        self.wire = 0;
        serde_json::to_writer(&mut *out, &record)?;
        out.write_all(b"\n")?;
        self.data.clear();
        self.event.clear();
        Ok(())
    }
}

/// UTF-8 decode with replacement; the fast validator first, since streams are
/// nearly always valid (`from_utf8_lossy` alone walks byte by byte).
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(chunks: &[&[u8]]) -> Vec<serde_json::Value> {
        let mut p = Parser::default();
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c, &mut out).expect("write to Vec");
        }
        out.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).expect("valid JSON"))
            .collect()
    }

    #[test]
    fn events_split_across_chunks() {
        let recs = parse(&[
            b"data: he",
            b"llo\r\n\r",
            b"\nid: 7\nevent: x\ndata: a\ndata: b\n\n",
        ]);
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0]["data"], "hello");
        assert_eq!(recs[0]["event"], "message");
        assert!(recs[0].get("id").is_none());
        assert_eq!(recs[1]["data"], "a\nb");
        assert_eq!(recs[1]["event"], "x");
        assert_eq!(recs[1]["id"], "7");
        assert_eq!(recs[1]["seq"], 2);
        assert_eq!(recs[1]["size"], 3);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let recs = parse(&[b"data: a\xFFb\n\n"]);
        assert_eq!(recs[0]["data"], "a\u{FFFD}b");
        assert_eq!(recs[0]["size"], 5);
    }

    #[test]
    fn comments_and_empty_data_dispatch_nothing() {
        assert!(parse(&[b": hi\n\nevent: e\n\ndata: x"]).is_empty());
    }
}
