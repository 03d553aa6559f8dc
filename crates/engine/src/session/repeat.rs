//! Session commands that take time to finish: the repeat sender and "close, then forget".
//!
//! A repeat sends one message every `interval`, `count` times or until stopped, through
//! the connection's own bounded command channel: when the connection is slow the repeat
//! waits for room instead of piling messages up, and every message becomes an `out`
//! record exactly as a single send does. At most one repeat runs per connection; a new
//! one replaces the old. Its progress is part of the connection's summary, so every
//! client (a reloaded page, another tab) sees the same state.
//!
//! Close-then-forget sends the close, waits for the connection task to end (the close
//! handshake completes or the engine's own close deadline passes) and only then drops
//! the recording, instead of a client guessing how long a close takes.
//!
//! What a message is and how it goes on the wire is the connection's (`conn`); who may
//! ask is the server's.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::{Session, SessionError};
use crate::conn::{self, Command};
use streamscope_model::record::{ConnId, Proto};

/// Shortest interval a repeat takes. 1 ms is as fast as a person would ask for (a
/// load test); the command channel's backpressure, not this bound, keeps a fast repeat
/// from outrunning a slow connection.
pub const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// Longest interval: one day. Anything longer is a schedule, not a repeat.
pub const MAX_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// Most messages one repeat sends: ten million 1 ms sends is almost three hours of
/// load, and the recording of them is bounded by the store either way.
pub const MAX_COUNT: u64 = 10_000_000;

/// Longest wait in [`Session::close_then_forget`] before the recording is dropped
/// anyway. The engine ends a close by itself (WebSocket: the peer's answer or its close
/// deadline, 3 s by default; SSE: at once), so this only bounds a connection still in
/// its opening handshake, whose connect timeout is 10 s by default.
pub const FORGET_WAIT_LIMIT: Duration = Duration::from_secs(15);

/// Repeat ids, unique in the process: a client tells its own repeat from a newer one.
static NEXT_REPEAT: AtomicU64 = AtomicU64::new(1);

/// What to repeat.
#[derive(Debug, Clone, PartialEq)]
pub struct RepeatSpec {
    /// A data or ping command; a close cannot repeat.
    pub command: Command,
    pub interval: Duration,
    /// Stop after this many sends; `None` repeats until stopped.
    pub count: Option<u64>,
}

/// A running repeat as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatStatus {
    pub id: u64,
    pub interval: Duration,
    pub count: Option<u64>,
    /// Messages handed to the connection so far.
    pub sent: u64,
}

/// The repeat a connection entry holds while it runs.
#[derive(Debug)]
pub(super) struct ActiveRepeat {
    id: u64,
    interval: Duration,
    count: Option<u64>,
    sent: Arc<AtomicU64>,
    cancel: CancellationToken,
}

impl ActiveRepeat {
    pub(super) fn status(&self) -> RepeatStatus {
        RepeatStatus {
            id: self.id,
            interval: self.interval,
            count: self.count,
            sent: self.sent.load(Ordering::Relaxed),
        }
    }

    pub(super) fn stop(&self) {
        self.cancel.cancel();
    }
}

/// Checks a repeat before it starts, so a bad one is refused instead of failing later.
fn check(spec: &RepeatSpec) -> Result<(), SessionError> {
    if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&spec.interval) {
        return Err(SessionError::Invalid(format!(
            "interval_ms must be from {} to {}, not {}",
            MIN_INTERVAL.as_millis(),
            MAX_INTERVAL.as_millis(),
            spec.interval.as_millis()
        )));
    }
    if let Some(n) = spec.count {
        if !(1..=MAX_COUNT).contains(&n) {
            return Err(SessionError::Invalid(format!(
                "count must be from 1 to {MAX_COUNT}, not {n}"
            )));
        }
    }
    if matches!(spec.command, Command::Close { .. }) {
        return Err(SessionError::Invalid(
            "a close cannot repeat: send it once".into(),
        ));
    }
    conn::ws::validate(&spec.command).map_err(SessionError::Refused)
}

impl Session {
    /// Starts repeating `spec` on a running WebSocket connection, replacing the repeat
    /// already running there. Returns the new repeat's id.
    ///
    /// The repeat ends by itself when the count is reached or the connection ends, and
    /// with [`Session::stop_repeat`] or when the connection is forgotten.
    pub fn start_repeat(&self, id: ConnId, spec: RepeatSpec) -> Result<u64, SessionError> {
        check(&spec)?;
        let repeat_id = NEXT_REPEAT.fetch_add(1, Ordering::Relaxed);
        let sent = Arc::new(AtomicU64::new(0));
        let (tx, cancel) = {
            let mut st = self.lock();
            let e = st.conns.get_mut(&id).ok_or(SessionError::UnknownConn(id))?;
            if e.relay {
                return Err(SessionError::Refused(
                    "a tapped connection cannot send: it is another app's connection, relayed as it is".into(),
                ));
            }
            if e.proto == Proto::Sse {
                return Err(SessionError::Refused(
                    "an SSE connection cannot send, so it cannot repeat: the stream flows from the server only".into(),
                ));
            }
            let tx = e.commands.clone().ok_or(SessionError::Ended(id))?;
            // A child of the connection's token: forgetting the connection or stopping
            // the session ends the repeat too.
            let cancel = e.cancel.child_token();
            if let Some(old) = e.repeat.replace(ActiveRepeat {
                id: repeat_id,
                interval: spec.interval,
                count: spec.count,
                sent: sent.clone(),
                cancel: cancel.clone(),
            }) {
                old.stop();
            }
            (tx, cancel)
        };
        let session = self.clone();
        self.tasks.spawn(async move {
            run(tx, spec, &sent, &cancel).await;
            session.repeat_ended(id, repeat_id);
        });
        self.bump();
        Ok(repeat_id)
    }

    /// Stops the connection's repeat. `Ok(false)` when none was running.
    pub fn stop_repeat(&self, id: ConnId) -> Result<bool, SessionError> {
        let old = {
            let mut st = self.lock();
            let e = st.conns.get_mut(&id).ok_or(SessionError::UnknownConn(id))?;
            e.repeat.take()
        };
        let Some(old) = old else { return Ok(false) };
        old.stop();
        self.bump();
        Ok(true)
    }

    /// Clears the entry's repeat if it is still `repeat_id` (not a newer one).
    fn repeat_ended(&self, id: ConnId, repeat_id: u64) {
        let cleared = {
            let mut st = self.lock();
            match st.conns.get_mut(&id) {
                Some(e) if e.repeat.as_ref().is_some_and(|r| r.id == repeat_id) => {
                    e.repeat = None;
                    true
                }
                _ => false,
            }
        };
        if cleared {
            self.bump();
        }
    }

    /// Closes the connection properly, waits for its task to end, then forgets it.
    ///
    /// Returns once the close is asked for; the rest runs in the background, tracked
    /// with the session's tasks. An ended connection is forgotten at once.
    pub async fn close_then_forget(&self, id: ConnId) -> Result<(), SessionError> {
        let ended = {
            let st = self.lock();
            let e = st.conns.get(&id).ok_or(SessionError::UnknownConn(id))?;
            e.ended.clone()
        };
        if let Err(e) = self.close(id).await {
            // A close the connection refuses (none here today) must not keep the
            // recording forever: the user asked for it to go.
            if !matches!(e, SessionError::Refused(_)) {
                return Err(e);
            }
        }
        let session = self.clone();
        let stop = self.cancel.clone();
        self.tasks.spawn(async move {
            tokio::select! {
                _ = ended.cancelled() => {}
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(FORGET_WAIT_LIMIT) => {}
            }
            // Gone already (forgotten by someone else meanwhile) is fine.
            let _ = session.forget(id);
        });
        Ok(())
    }
}

/// Sends `spec.command` every `spec.interval` until done or cancelled.
///
/// Cancel safety: dropping the future between sends loses nothing; a send in progress
/// either queued the command (and `sent` counts it) or did not.
async fn run(
    tx: mpsc::Sender<Command>,
    spec: RepeatSpec,
    sent: &AtomicU64,
    cancel: &CancellationToken,
) {
    let mut ticks = tokio::time::interval(spec.interval);
    // A connection that made us wait has been sent to less often, not owed a burst.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        if spec
            .count
            .is_some_and(|n| sent.load(Ordering::Relaxed) >= n)
        {
            return;
        }
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return,
            _ = ticks.tick() => {}
        }
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return,
            // Waits while the channel is full: backpressure, not a pile of messages.
            r = tx.send(spec.command.clone()) => {
                if r.is_err() {
                    // The connection ended.
                    return;
                }
            }
        }
        sent.fetch_add(1, Ordering::Relaxed);
    }
}
