//! The signals that ask a Streamscope process to stop: Ctrl-C (SIGINT), SIGTERM (what
//! `kill`, systemd and `timeout` send) and SIGHUP (the terminal went away). All three mean
//! "stop properly": close every connection with its close handshake, then exit. What
//! stopping means is the caller's; this module only says when, and which signal asked.

use std::io;

/// Waits for stop signals. Create it early: a signal that arrives before it exists has
/// the default action, which ends the process without a close handshake.
pub struct StopSignals {
    #[cfg(unix)]
    streams: [(tokio::signal::unix::Signal, &'static str); 3],
}

impl StopSignals {
    /// Installs the handlers. Needs a running tokio runtime.
    pub fn new() -> io::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignals {
                streams: [
                    (signal(SignalKind::interrupt())?, "SIGINT"),
                    (signal(SignalKind::terminate())?, "SIGTERM"),
                    (signal(SignalKind::hangup())?, "SIGHUP"),
                ],
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    /// The next stop signal's name; `None` when signals can no longer be received.
    ///
    /// Cancel safe: a signal that arrives while the future is dropped is kept for the
    /// next call.
    pub async fn recv(&mut self) -> Option<&'static str> {
        #[cfg(unix)]
        {
            let [(int, a), (term, b), (hup, c)] = &mut self.streams;
            tokio::select! {
                got = int.recv() => got.map(|()| *a),
                got = term.recv() => got.map(|()| *b),
                got = hup.recv() => got.map(|()| *c),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.ok().map(|()| "Ctrl-C")
        }
    }
}
