//! `sscope tap`: a reverse tap on a loopback port. The app under debug connects to it
//! instead of its endpoint; every WebSocket and event stream that passes is printed as
//! records, one connection (`c1`, `c2` …) per stream, `out` from the app and `in` from
//! the endpoint. Runs until Ctrl-C (or `--timeout`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use streamscope_engine::{Record, TlsOptions};
use streamscope_server::signals::StopSignals;
use streamscope_tap::{Printed, TapSpec, parse_upstream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::args::{Format, Secs, parse_secs};

/// Records buffered between the relays and the printer, as for one connection.
const RECORD_CAPACITY: usize = 256;

#[derive(Debug, Args)]
pub(crate) struct TapArgs {
    /// Where the app connects: a loopback address and port (port 0 picks a free one,
    /// printed on stderr).
    #[arg(long, value_name = "127.0.0.1:PORT", default_value = "127.0.0.1:0")]
    pub listen: String,
    /// The endpoint the app would have connected to: ws://, wss://, http:// or https://.
    /// Its path is a prefix: the app's `/` goes to it as it is, `/x` to it followed by `/x`.
    #[arg(long, value_name = "URL")]
    pub upstream: String,
    /// Skip TLS certificate verification towards the upstream.
    #[arg(long)]
    pub insecure: bool,
    /// Trust the CA certificates in this PEM file for the upstream, besides the system's.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Stop after SECS seconds.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub timeout: Option<Secs>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Ndjson)]
    pub format: Format,
}

pub(crate) fn run(args: &TapArgs) -> ExitCode {
    let listen: SocketAddr = match args.listen.trim().parse() {
        Ok(a) => a,
        Err(_) => {
            eprintln!(
                "sscope: --listen {:?} is not an address and port; use 127.0.0.1:PORT",
                args.listen
            );
            return ExitCode::from(2);
        }
    };
    if !listen.ip().is_loopback() {
        eprintln!(
            "sscope: --listen {listen}: the tap listens on loopback only, so no other machine can use it; use 127.0.0.1:PORT"
        );
        return ExitCode::from(2);
    }
    let upstream = match parse_upstream(&args.upstream) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("sscope: --upstream: {e}");
            return ExitCode::from(2);
        }
    };
    let spec = TapSpec {
        listen,
        upstream,
        tls: TlsOptions {
            insecure: args.insecure,
            ca_file: args.ca.clone(),
        },
    };
    // Many apps' connections at once: threads help here, unlike one connection.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sscope: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(serve(spec, args.format, args.timeout.map(|s| s.0)))
}

async fn serve(spec: TapSpec, format: Format, timeout: Option<std::time::Duration>) -> ExitCode {
    let signals = StopSignals::new();
    let (tx, rx) = mpsc::channel::<Record>(RECORD_CAPACITY);
    let cancel = CancellationToken::new();
    let conns = Arc::new(Printed::new(tx, cancel.child_token()));
    let upstream = spec.upstream.clone();
    let tap = match streamscope_tap::start(spec, conns.clone(), cancel.child_token()).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("sscope: {e}");
            return ExitCode::from(1);
        }
    };
    eprintln!(
        "sscope: tapping {upstream}: point the app at {} (ws:// or http://); Ctrl-C stops",
        tap.addr()
    );
    let printer = tokio::spawn(crate::print::print(rx, format));
    match signals {
        Ok(mut signals) => {
            let deadline = async {
                match timeout {
                    Some(t) => tokio::time::sleep(t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = signals.recv() => {}
                () = deadline => {}
            }
        }
        Err(e) => {
            eprintln!("sscope: cannot listen for Ctrl-C and SIGTERM: {e}");
            if let Some(t) = timeout {
                tokio::time::sleep(t).await;
            } else {
                std::future::pending::<()>().await;
            }
        }
    }
    // Each relay records that the tap stopped, then ends; the printer ends when the
    // last sender is gone.
    tap.stop().await;
    conns.wait().await;
    drop(conns);
    match printer.await {
        Ok(_) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}
