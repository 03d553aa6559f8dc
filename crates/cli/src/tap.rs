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
use streamscope_tap::{Printed, ProxySpec, TapSpec, parse_upstream};
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
    #[arg(
        long,
        value_name = "URL",
        required_unless_present = "proxy",
        conflicts_with = "proxy"
    )]
    pub upstream: Option<String>,
    /// Run as an HTTP proxy on this loopback address instead (HTTP_PROXY, HTTPS_PROXY, a
    /// browser's proxy setting): http:// and ws:// streams are recorded, https:// and
    /// wss:// ones only for the --decrypt hosts; everything else is tunnelled untouched.
    #[arg(long, value_name = "127.0.0.1:PORT")]
    pub proxy: Option<String>,
    /// Hosts whose TLS the proxy ends with a certificate from its own CA, to record their
    /// streams (comma-separated, repeatable; `*.example.com` for subdomains).
    #[arg(
        long,
        value_name = "HOST[,HOST...]",
        value_delimiter = ',',
        requires = "proxy"
    )]
    pub decrypt: Vec<String>,
    /// Where the proxy's CA is kept (tap-ca/ca.pem and its key) [default:
    /// $STREAMSCOPE_DATA_DIR, else streamscope in the user's data directory].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
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

/// A loopback address as typed, or the message for exit status 2.
fn loopback(flag: &str, text: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = text
        .trim()
        .parse()
        .map_err(|_| format!("{flag} {text:?} is not an address and port; use 127.0.0.1:PORT"))?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "{flag} {addr}: the tap listens on loopback only, so no other machine can use it; use 127.0.0.1:PORT"
        ));
    }
    Ok(addr)
}

pub(crate) fn run(args: &TapArgs) -> ExitCode {
    if !args.decrypt.is_empty() && args.proxy.is_none() {
        eprintln!(
            "sscope: --decrypt is for the proxy (--proxy 127.0.0.1:PORT); a reverse tap speaks TLS to its upstream itself"
        );
        return ExitCode::from(2);
    }
    let tls = TlsOptions {
        insecure: args.insecure,
        ca_file: args.ca.clone(),
    };
    let plan = match (&args.proxy, &args.upstream) {
        (Some(proxy), _) => {
            loopback("--proxy", proxy).map(|listen| Plan::Proxy(listen, args.decrypt.clone()))
        }
        (None, Some(upstream)) => loopback("--listen", &args.listen).and_then(|listen| {
            parse_upstream(upstream)
                .map(|upstream| {
                    Plan::Reverse(TapSpec {
                        listen,
                        upstream,
                        tls: tls.clone(),
                    })
                })
                .map_err(|e| format!("--upstream: {e}"))
        }),
        (None, None) => {
            Err("give --upstream URL (reverse tap) or --proxy 127.0.0.1:PORT".to_owned())
        }
    };
    let plan = match plan {
        Ok(p) => p,
        Err(message) => {
            eprintln!("sscope: {message}");
            return ExitCode::from(2);
        }
    };
    let plan = match plan {
        Plan::Proxy(listen, decrypt) if !decrypt.is_empty() => {
            let Some(dir) = args
                .data_dir
                .clone()
                .or_else(|| streamscope_server::default_data_dir("streamscope"))
            else {
                eprintln!("sscope: no data directory for the tap's CA; give --data-dir DIR");
                return ExitCode::from(2);
            };
            match streamscope_tap::Ca::load_or_create(&dir) {
                Ok(ca) => {
                    eprintln!(
                        "sscope: decrypting {} with the tap's CA {}: trust it in the app (README, \"Tap\")",
                        decrypt.join(", "),
                        ca.cert_path().display()
                    );
                    Plan::ProxyWith(ProxySpec {
                        listen,
                        decrypt,
                        tls,
                        ca: Some(Arc::new(ca)),
                    })
                }
                Err(e) => {
                    eprintln!("sscope: {e}");
                    return ExitCode::from(1);
                }
            }
        }
        Plan::Proxy(listen, decrypt) => Plan::ProxyWith(ProxySpec {
            listen,
            decrypt,
            tls,
            ca: None,
        }),
        other => other,
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
    runtime.block_on(serve(plan, args.format, args.timeout.map(|s| s.0)))
}

/// What `sscope tap` runs.
enum Plan {
    Reverse(TapSpec),
    /// A proxy, before its CA is loaded.
    Proxy(SocketAddr, Vec<String>),
    ProxyWith(ProxySpec),
}

async fn serve(plan: Plan, format: Format, timeout: Option<std::time::Duration>) -> ExitCode {
    let signals = StopSignals::new();
    let (tx, rx) = mpsc::channel::<Record>(RECORD_CAPACITY);
    let cancel = CancellationToken::new();
    let conns = Arc::new(Printed::new(tx, cancel.child_token()));
    let started = match plan {
        Plan::Reverse(spec) => {
            streamscope_tap::start(spec, conns.clone(), cancel.child_token()).await
        }
        Plan::ProxyWith(spec) => {
            streamscope_tap::start_proxy(spec, conns.clone(), cancel.child_token()).await
        }
        Plan::Proxy(..) => return ExitCode::from(1),
    };
    let tap = match started {
        Ok(t) => t,
        Err(e) => {
            eprintln!("sscope: {e}");
            return ExitCode::from(1);
        }
    };
    if tap.is_proxy() {
        eprintln!(
            "sscope: tap {}: set HTTP_PROXY and HTTPS_PROXY to http://{} ; Ctrl-C stops",
            tap.upstream(),
            tap.addr()
        );
    } else {
        eprintln!(
            "sscope: tapping {}: point the app at {} (ws:// or http://); Ctrl-C stops",
            tap.upstream(),
            tap.addr()
        );
    }
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
