//! `sscope serve`: the embedded server alone, for a browser or for scripts.
//!
//! A multi-thread runtime here, unlike `ws`/`sse`: the server runs many connections and
//! a UI socket side by side.

use std::process::ExitCode;
use std::time::Duration;

use streamscope_engine::session::Session;
use streamscope_server::signals::StopSignals;
use streamscope_server::{Server, ServerConfig};

/// How often the server looks whether recordings were dropped (connections forgotten).
const RELEASE_EVERY: Duration = Duration::from_secs(2);

/// Recording memory freed since the last look that is worth giving back to the system:
/// less is not worth walking the heap for.
const RELEASE_AFTER: usize = 16 << 20;

/// How long a stop (Ctrl-C, SIGTERM, SIGHUP) waits for connections to finish their close
/// handshakes.
const GRACE: Duration = Duration::from_secs(3);

pub(crate) fn serve(port: u16, memory_budget: usize) -> ExitCode {
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
            memory_budget: Some(memory_budget),
            ..ServerConfig::default()
        })
        .await
        {
            Ok(s) => s,
            Err(e) => {
                let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
                    " (the port is taken: choose another with --port, or 0 for any free one)"
                } else {
                    ""
                };
                eprintln!("sscope: cannot listen on 127.0.0.1:{port}: {e}{hint}");
                return ExitCode::from(1);
            }
        };
        println!("Streamscope is serving on {}", server.base_url());
        println!("  UI:    {}", server.ui_url());
        println!("  demos: {}/demo", server.base_url());
        if !server.ui_built {
            println!("  (the UI is not built yet: the page at / says how)");
        }
        println!("Press Ctrl-C to stop.");
        tokio::spawn(release_dropped_recordings(server.session.clone()));
        let stop = signals.recv().await.unwrap_or("the end of signals");
        eprintln!("sscope: {stop}: closing connections…");
        // A second signal while closing stops at once.
        tokio::select! {
            () = server.shutdown(GRACE) => ExitCode::SUCCESS,
            _ = signals.recv() => ExitCode::from(130),
        }
    })
}

/// Gives the memory of forgotten recordings back to the system. The allocator keeps freed
/// memory for reuse, so without this a server whose connections were forgotten would
/// keep its peak size for good. Ends with the session.
async fn release_dropped_recordings(session: Session) {
    let mut high = session.memory_use().0;
    loop {
        tokio::select! {
            () = session.stopped() => return,
            () = tokio::time::sleep(RELEASE_EVERY) => {}
        }
        let used = session.memory_use().0;
        if high.saturating_sub(used) >= RELEASE_AFTER {
            let _ = tokio::task::spawn_blocking(crate::release_heap).await;
            high = used;
        } else {
            high = high.max(used);
        }
    }
}
