//! Checks a benchmark client's output, so a broken client can't look fast.
//!
//! `client ... | ndjson_check --kind text|event|raw --count N --size S [--lines L]`
//!
//! - `--kind text` / `--kind event`: every line must be a JSON record with
//!   CONTRACT.md's always-present fields (`t`, `conn`, `proto`, `seq`,
//!   `dir`, `kind`), `seq` must count up by one without gaps, and exactly N
//!   records of that kind must carry `size` = S and S bytes of `data`.
//! - `--kind raw` (websocat): exactly N lines of exactly S bytes.
//! - `--lines L`: the total line count must be L.
//!
//! Prints a one-line summary on stderr; exits 0 when everything holds, 1
//! otherwise.

use clap::{Parser, ValueEnum};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::process::ExitCode;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    Text,
    Event,
    Raw,
}

#[derive(Parser)]
#[command(about = "Check a benchmark client's stdout (read from stdin)")]
struct Args {
    #[arg(long, value_enum)]
    kind: Kind,
    /// Expected data records (or raw lines).
    #[arg(long)]
    count: u64,
    /// Expected payload bytes per message.
    #[arg(long)]
    size: usize,
    /// Expected total line count.
    #[arg(long)]
    lines: Option<u64>,
}

#[derive(Deserialize)]
struct Rec<'a> {
    #[serde(borrow)]
    t: Cow<'a, str>,
    #[serde(borrow)]
    conn: Cow<'a, str>,
    #[serde(borrow)]
    proto: Cow<'a, str>,
    seq: u64,
    #[serde(borrow)]
    dir: Cow<'a, str>,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    size: Option<usize>,
    #[serde(borrow)]
    data: Option<Cow<'a, str>>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match check(&args, std::io::stdin().lock()) {
        Ok(summary) => {
            eprintln!("ndjson_check: ok: {summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ndjson_check: FAILED: {e}");
            ExitCode::from(1)
        }
    }
}

fn check(args: &Args, input: impl Read) -> Result<String, String> {
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut line = Vec::with_capacity(128 * 1024);
    let mut lines = 0u64;
    let mut matching = 0u64;
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    let mut last_seq: Option<u64> = None;
    let want_kind = match args.kind {
        Kind::Text => "text",
        Kind::Event => "event",
        Kind::Raw => "",
    };
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            break;
        }
        lines += 1;
        if line.last() != Some(&b'\n') {
            return Err(format!("line {lines} is not terminated by a newline"));
        }
        let body = &line[..line.len() - 1];
        if args.kind == Kind::Raw {
            if body.len() != args.size {
                return Err(format!(
                    "line {lines} has {} bytes, not {}",
                    body.len(),
                    args.size
                ));
            }
            matching += 1;
            continue;
        }
        let rec: Rec<'_> = serde_json::from_slice(body)
            .map_err(|e| format!("line {lines} is not a record: {e}"))?;
        if rec.t.len() != 27 || !rec.t.ends_with('Z') || rec.conn.is_empty() || rec.dir.is_empty() {
            return Err(format!("line {lines}: bad t/conn/dir"));
        }
        if rec.proto != if args.kind == Kind::Text { "ws" } else { "sse" } {
            return Err(format!("line {lines}: proto {}", rec.proto));
        }
        if let Some(prev) = last_seq
            && rec.seq != prev + 1
        {
            return Err(format!("line {lines}: seq {} after {prev}", rec.seq));
        }
        last_seq = Some(rec.seq);
        *kinds.entry(rec.kind.to_string()).or_default() += 1;
        if rec.kind == want_kind {
            let data_len = rec.data.as_ref().map(|d| d.len());
            if rec.size != Some(args.size) || data_len != Some(args.size) {
                return Err(format!(
                    "line {lines}: size {:?}, data of {:?} bytes; expected {}",
                    rec.size, data_len, args.size
                ));
            }
            matching += 1;
        }
    }
    if matching != args.count {
        return Err(format!(
            "{matching} data lines, expected {} ({lines} lines, kinds {kinds:?})",
            args.count
        ));
    }
    if let Some(expected) = args.lines
        && lines != expected
    {
        return Err(format!(
            "{lines} lines, expected {expected} (kinds {kinds:?})"
        ));
    }
    Ok(format!(
        "{lines} lines, {matching} data records, kinds {kinds:?}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(kind: Kind, count: u64, size: usize, lines: Option<u64>) -> Args {
        Args {
            kind,
            count,
            size,
            lines,
        }
    }

    const REC: &str = r#"{"t":"2025-01-01T00:00:00.000000Z","conn":"c1","proto":"ws","seq":SEQ,"dir":"in","kind":"text","size":2,"data":"ab"}"#;

    #[test]
    fn accepts_good_output_and_rejects_gaps() {
        let good = format!("{}\n{}\n", REC.replace("SEQ", "1"), REC.replace("SEQ", "2"));
        assert!(check(&args(Kind::Text, 2, 2, Some(2)), good.as_bytes()).is_ok());
        assert!(check(&args(Kind::Text, 3, 2, None), good.as_bytes()).is_err());
        let gap = format!("{}\n{}\n", REC.replace("SEQ", "1"), REC.replace("SEQ", "3"));
        assert!(check(&args(Kind::Text, 2, 2, None), gap.as_bytes()).is_err());
        assert!(check(&args(Kind::Text, 2, 3, None), good.as_bytes()).is_err());
    }

    #[test]
    fn raw_lines() {
        assert!(check(&args(Kind::Raw, 2, 3, None), &b"abc\ndef\n"[..]).is_ok());
        assert!(check(&args(Kind::Raw, 2, 3, None), &b"abc\nde\n"[..]).is_err());
    }
}
