//! `sscope serve`: the embedded server alone, for a browser or for scripts.
//!
//! A multi-thread runtime here, unlike `ws`/`sse`: the server runs many connections and
//! a UI socket side by side.

use std::process::ExitCode;
use std::time::Duration;

use streamscope_server::heap;
use streamscope_server::signals::StopSignals;
use streamscope_server::{Server, ServerConfig};

/// How long a stop (Ctrl-C, SIGTERM, SIGHUP) waits for connections to finish their close
/// handshakes.
const GRACE: Duration = Duration::from_secs(3);

pub(crate) fn serve(args: &crate::args::ServeArgs) -> ExitCode {
    let port = args.port;
    let data_dir = if args.memory_only {
        None
    } else {
        match args
            .data_dir
            .clone()
            .or_else(|| streamscope_server::default_data_dir("streamscope"))
        {
            Some(dir) => Some(dir),
            None => {
                eprintln!(
                    "sscope: no data directory is known for this user: give one with \
                     --data-dir DIR, or keep recordings in memory with --memory-only"
                );
                return ExitCode::from(1);
            }
        }
    };
    let runtime = match crate::runtime(tokio::runtime::Builder::new_multi_thread()) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        // Before the server starts: a SIGTERM from then on closes connections properly.
        let mut signals = match StopSignals::new() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("sscope: cannot listen for stop signals: {e}");
                return ExitCode::from(1);
            }
        };
        let server = match Server::start(ServerConfig {
            port,
            memory_budget: Some(args.memory_budget),
            data_dir: data_dir.clone(),
            disk_budget: Some(args.disk_budget),
            ..ServerConfig::default()
        })
        .await
        {
            Ok(s) => s,
            Err(e) => {
                if e.kind() == std::io::ErrorKind::AddrInUse {
                    eprintln!(
                        "sscope: cannot listen on 127.0.0.1:{port}: {e} (the port is taken: \
                         choose another with --port, or 0 for any free one)"
                    );
                } else if e.kind() == std::io::ErrorKind::Other {
                    // The library in the data directory: its message names the file.
                    eprintln!(
                        "sscope: cannot record to disk: {e} (choose another --data-dir, or \
                         --memory-only)"
                    );
                } else {
                    eprintln!("sscope: cannot listen on 127.0.0.1:{port}: {e}");
                }
                return ExitCode::from(1);
            }
        };
        println!("Streamscope is serving on {}", server.base_url());
        println!("  UI:    {}", server.ui_url());
        println!("  demos: {}/demo", server.base_url());
        match &data_dir {
            Some(dir) => println!("  recording to {}", dir.display()),
            None => println!("  recording in memory only"),
        }
        if !server.ui_built {
            println!("  (the UI is not built yet: the page at / says how)");
        }
        println!("Press Ctrl-C to stop.");
        tokio::spawn(heap::release_dropped_recordings(server.session.clone()));
        let stop = signals.recv().await.unwrap_or("the end of signals");
        eprintln!("sscope: {stop}: closing connections…");
        // A second signal while closing stops at once.
        tokio::select! {
            () = server.shutdown(GRACE) => ExitCode::SUCCESS,
            _ = signals.recv() => ExitCode::from(130),
        }
    })
}
