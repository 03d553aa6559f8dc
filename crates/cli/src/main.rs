//! `sscope`: the Streamscope engine on the command line.
//!
//! Parses the arguments (`args`), opens one connection with the engine, and prints its
//! records (`print`) until the run ends; the exit status follows CONTRACT.md. A
//! current-thread runtime: one connection and one printer gain nothing from more
//! threads, and cross-thread wake-ups would cost on every record.

// What a peer or a user sends reaches this code: no `unwrap()` outside tests (STYLE.md).
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod advice;
mod args;
mod chart;
mod print;
mod serve;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use streamscope_engine::{
    Command, ConnHandle, ConnId, Outcome, Record, RecordSink, open_sse, open_ws,
};
use streamscope_server::signals::StopSignals;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use args::{BadArgs, Cli, Cmd, Format};

/// Records buffered between the connection and the printer. Enough to keep both busy
/// in a firehose; when full, the connection stops reading and TCP slows the peer.
const RECORD_CAPACITY: usize = 256;

/// Every frame becomes a record that is allocated, printed and freed. With glibc's
/// defaults, freeing a large record at the top of the heap trims it and the next one
/// grows it again, so the kernel zeroes fresh pages for every 64 KiB message (15 % of
/// an SSE run, BENCHMARKS.md). Keeping up to 64 MiB of freed heap stops that churn; the
/// heap still only holds what was once in use.
///
/// `serve` is the opposite case: recordings live long and are dropped whole when a
/// connection is forgotten, and that memory must go back to the system. There every
/// full recording segment (1 MiB) gets a mapping of its own, which freeing unmaps;
/// with glibc's defaults the threshold rises past 1 MiB after the first free and the
/// segments land in the heap, where freed ones stay. Measured with 100 connections of
/// 4 MiB each (`sscope serve`, then DELETE): RSS 430 → 331 MiB before, 430 → 124 MiB
/// with this alone, 430 → 20 MiB with [`release_heap`] after forgetting as well.
// The workspace's one exception to `unsafe_code = "deny"`: glibc's mallopt has no safe
// wrapper.
#[allow(unsafe_code)]
fn tune_heap(cmd: &Cmd) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator's thresholds; it is called before any
    // other thread exists.
    unsafe {
        if matches!(cmd, Cmd::Serve(_)) {
            // A fixed threshold (mallopt turns the rising one off), at the segment size.
            let segment = streamscope_engine::recording::memory::SEGMENT_SIZE;
            libc::mallopt(
                libc::M_MMAP_THRESHOLD,
                libc::c_int::try_from(segment).unwrap_or(libc::c_int::MAX),
            );
        } else {
            libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
            libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
        }
    }
}

/// Gives freed heap pages back to the system, wherever they are in the heap: what the
/// mapping threshold of [`tune_heap`] leaves behind, a recording's smaller first
/// segments and its index. Takes a few milliseconds on a large heap: call it off the
/// runtime's workers, and only after a large drop.
// The second half of the same exception: glibc's malloc_trim has no safe wrapper either.
#[allow(unsafe_code)]
pub(crate) fn release_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages; it takes the allocator's own locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Builds the async runtime `builder` describes, or says why it cannot (exit status 1).
fn runtime(mut builder: tokio::runtime::Builder) -> Result<tokio::runtime::Runtime, ExitCode> {
    builder.enable_all().build().map_err(|e| {
        eprintln!("sscope: cannot start the async runtime: {e}");
        ExitCode::from(1)
    })
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    tune_heap(&cli.cmd);
    if let Cmd::Serve(a) = &cli.cmd {
        return serve::serve(a.port, a.memory_budget);
    }
    if let Cmd::Chart(a) = &cli.cmd {
        return chart::run(a);
    }
    let runtime = match runtime(tokio::runtime::Builder::new_current_thread()) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let planned = match &cli.cmd {
        Cmd::Ws(a) => {
            let sub = matches.subcommand_matches("ws").unwrap_or(&matches);
            args::ws_options(a, sub).map(|opts| {
                let run: Box<dyn FnOnce(RecordSink, CancellationToken) -> ConnHandle> =
                    Box::new(move |sink, cancel| open_ws(ConnId(1), opts, sink, cancel));
                (run, a.stdin, a.common.format)
            })
        }
        Cmd::Sse(a) => args::sse_options(a).map(|opts| {
            let run: Box<dyn FnOnce(RecordSink, CancellationToken) -> ConnHandle> =
                Box::new(move |sink, cancel| open_sse(ConnId(1), opts, sink, cancel));
            (run, false, a.common.format)
        }),
        Cmd::Serve(_) | Cmd::Chart(_) => return ExitCode::SUCCESS,
    };
    match planned {
        Ok((open, stdin, format)) => runtime.block_on(run(open, stdin, format)),
        Err(BadArgs(message)) => {
            eprintln!("sscope: {message}");
            ExitCode::from(2)
        }
    }
}

async fn run(
    open: Box<dyn FnOnce(RecordSink, CancellationToken) -> ConnHandle>,
    stdin: bool,
    format: Format,
) -> ExitCode {
    // Before the connection opens: from its first record on, a stop signal closes it
    // properly instead of killing the process.
    let signals = StopSignals::new();
    let (tx, rx) = mpsc::channel::<Record>(RECORD_CAPACITY);
    let cancel = CancellationToken::new();
    let handle = open(tx, cancel.clone());
    if stdin {
        tokio::spawn(feed_stdin(handle.commands()));
    }
    match signals {
        Ok(signals) => {
            tokio::spawn(on_interrupt(signals, handle.commands(), cancel.clone()));
        }
        Err(e) => eprintln!("sscope: cannot listen for Ctrl-C and SIGTERM: {e}"),
    }

    let printed = print::print(rx, format).await;
    if printed.stdout_closed {
        cancel.cancel();
    }
    let outcome = handle.wait().await;
    match outcome {
        Outcome::Completed => ExitCode::SUCCESS,
        Outcome::Cancelled if printed.stdout_closed => ExitCode::SUCCESS,
        Outcome::Cancelled => ExitCode::from(130),
        Outcome::Failed => {
            // One line: what happened (the engine's words), then what to do about it
            // (ours, from the cause).
            let line = match printed.last_error {
                Some((message, cause, proto)) => {
                    match cause.and_then(|c| advice::advice(&c, proto)) {
                        Some(advice) => format!("{message}; {advice}"),
                        None => message,
                    }
                }
                None => "the connection failed".to_owned(),
            };
            eprintln!("sscope: {line}");
            ExitCode::from(1)
        }
    }
}

/// Sends each line of stdin as a text message; at end of input the connection stays
/// open for the peer's messages.
async fn feed_stdin(commands: mpsc::Sender<Command>) {
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    loop {
        match lines.next_line().await {
            Ok(Some(line)) => {
                let line = line.strip_suffix('\r').unwrap_or(&line).to_owned();
                if commands.send(Command::Text(line)).await.is_err() {
                    return;
                }
            }
            Ok(None) => return,
            Err(e) => {
                eprintln!("sscope: cannot read stdin: {e}");
                return;
            }
        }
    }
}

/// The first stop signal (Ctrl-C, SIGTERM, SIGHUP) closes the connection properly; a
/// second one stops at once.
async fn on_interrupt(
    mut signals: StopSignals,
    commands: mpsc::Sender<Command>,
    cancel: CancellationToken,
) {
    if signals.recv().await.is_none() {
        return;
    }
    let close = Command::Close {
        code: 1000,
        reason: String::new(),
    };
    if commands.send(close).await.is_err() {
        return;
    }
    if signals.recv().await.is_some() {
        cancel.cancel();
    }
}
