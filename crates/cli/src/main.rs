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
mod convert;
mod lab;
mod print;
mod serve;
mod sessions;
mod tap;

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
const RECORD_CAPACITY: usize = 32;

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
    // Before any other thread exists (heap.rs says why the two differ).
    if matches!(cli.cmd, Cmd::Serve(_)) {
        streamscope_server::heap::tune_for_recordings();
    } else {
        streamscope_server::heap::tune_for_streaming();
    }
    if let Cmd::Serve(a) = &cli.cmd {
        return serve::serve(a);
    }
    if let Cmd::Chart(a) = &cli.cmd {
        return chart::run(a);
    }
    if let Cmd::Lab(a) = &cli.cmd {
        return lab::run(a);
    }
    if let Cmd::Sessions(a) = &cli.cmd {
        return sessions::list(a);
    }
    if let Cmd::Export(a) = &cli.cmd {
        return sessions::export(a);
    }
    if let Cmd::Convert(a) = &cli.cmd {
        return convert::run(a);
    }
    if let Cmd::Tap(a) = &cli.cmd {
        return tap::run(a);
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
        Cmd::Serve(_)
        | Cmd::Chart(_)
        | Cmd::Lab(_)
        | Cmd::Sessions(_)
        | Cmd::Export(_)
        | Cmd::Convert(_)
        | Cmd::Tap(_) => {
            return ExitCode::SUCCESS;
        }
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
