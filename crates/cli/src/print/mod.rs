//! Printers: the subscribers that turn records into bytes on stdout.
//!
//! The printer never holds output back: it writes in large batches while records keep
//! coming and flushes as soon as no further record is ready (CONTRACT.md), which keeps a
//! firehose cheap and a trickle live.

pub(crate) mod ndjson;
pub(crate) mod pretty;

use std::io::{self, Write};

use streamscope_engine::{Body, Cause, Proto, Record};
use tokio::sync::mpsc;

use crate::args::Format;

/// Records taken from the channel per wake-up: large enough to amortise the wake-up,
/// small enough to start writing early.
const BATCH: usize = 32;

/// Bytes buffered before a write even while more records are ready.
const WRITE_AT: usize = 128 << 10;

/// What the printer saw, for the exit message.
#[derive(Debug, Default)]
pub(crate) struct Printed {
    /// The message and cause of the last `error` record, and its protocol.
    pub last_error: Option<(String, Option<Cause>, Proto)>,
    /// Stdout went away (a closed pipe): stop quietly.
    pub stdout_closed: bool,
}

/// Prints every record until the channel closes or stdout goes away.
pub(crate) async fn print(mut rx: mpsc::Receiver<Record>, format: Format) -> Printed {
    let mut out = io::stdout();
    let mut pretty = match format {
        Format::Pretty => Some(pretty::Pretty::for_stdout()),
        Format::Ndjson => None,
    };
    let mut buf: Vec<u8> = Vec::with_capacity(WRITE_AT + (64 << 10));
    let mut batch: Vec<Record> = Vec::with_capacity(BATCH);
    let mut printed = Printed::default();
    loop {
        if rx.recv_many(&mut batch, BATCH).await == 0 {
            break;
        }
        for record in batch.drain(..) {
            if let Body::Error { message, cause, .. } = &record.body {
                printed.last_error = Some((message.clone(), cause.clone(), record.proto));
            }
            match &mut pretty {
                Some(p) => p.write(&record, &mut buf),
                None => ndjson::write(&record, &mut buf),
            }
        }
        if buf.len() >= WRITE_AT || rx.is_empty() {
            if let Err(e) = write_out(&mut out, &buf) {
                if e.kind() == io::ErrorKind::BrokenPipe {
                    printed.stdout_closed = true;
                    return printed;
                }
                eprintln!("sscope: cannot write to stdout: {e}");
                printed.stdout_closed = true;
                return printed;
            }
            buf.clear();
        }
    }
    if let Err(e) = write_out(&mut out, &buf) {
        printed.stdout_closed = true;
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("sscope: cannot write to stdout: {e}");
        }
    }
    printed
}

fn write_out(out: &mut io::Stdout, buf: &[u8]) -> io::Result<()> {
    if buf.is_empty() {
        return Ok(());
    }
    let mut lock = out.lock();
    lock.write_all(buf)?;
    lock.flush()
}
