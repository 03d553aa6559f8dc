//! Cheap views of the session for readers that ask often: the UI socket (every batch),
//! listings, and charts.
//!
//! A connection's [`ConnStats`] holds ten minutes of per-second rate and latency
//! buckets (tens of kilobytes); cloning them for every connection under the session's
//! lock, four times a second per UI socket, made a session with many (even failed)
//! connections cost whole cores. So readers here get:
//! - [`ConnBrief`]: what a listing row shows (totals, the last complete second's rates,
//!   state, `last_seq`, name), copied field by field, never a window;
//! - [`ConnListing`]: who exists, for a client that must know every connection but
//!   watches few, with a version that changes only when the list does;
//! - [`Session::with_stats`]: a closure that reads one connection's stats in place, so a
//!   chart copies only the seconds it draws.
//!
//! What a front end makes of these (JSON, charts) is its own business.

use streamscope_model::record::{ConnId, Proto, Timestamp};
use streamscope_model::stats::{ConnStats, Counts};

use super::{ConnState, Entry, Session, SessionError, State};

/// What a listing row shows of a connection: its [`ConnListing`] and its counts, with no
/// rate window, so copying it is cheap.
#[derive(Debug, Clone)]
pub struct ConnBrief {
    pub listing: ConnListing,
    /// The last `seq` recorded, 0 before the first record.
    pub last_seq: u64,
    /// Bytes the recording takes in memory.
    pub recorded_bytes: usize,
    pub totals: Counts,
    /// The last complete second before the snapshot (the current one is still counting).
    pub rate: Counts,
    /// The repeat running on this connection, if any.
    pub repeat: Option<super::RepeatStatus>,
    /// Whether any latency sample (a ping's round trip, or a sender's clock in a
    /// payload) was ever measured: without one the latency chart is empty, and the UI
    /// says why (no pings) instead of showing a blank panel.
    pub latency_seen: bool,
}

/// That a connection exists and where it is in its life: what changes only when the
/// connection list does (open, forget, rename, a state change), unlike counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnListing {
    pub id: ConnId,
    pub proto: Proto,
    pub url: String,
    /// A name chosen by the user (the pane's name), or the URL's path.
    pub name: String,
    pub state: ConnState,
    pub since: Timestamp,
    /// Another app's connection, seen through the tap: it takes no commands but close.
    pub relay: bool,
}

impl State {
    /// Marks the connection list as changed, for [`Session::listing_version`].
    pub(super) fn relisted(&mut self) {
        self.listed = self.listed.wrapping_add(1);
    }
}

fn brief(id: ConnId, e: &Entry, now_sec: i64) -> ConnBrief {
    let rate = e
        .stats
        .window
        .series(now_sec - 1, now_sec - 1)
        .first()
        .map(|&(_, c)| c)
        .unwrap_or_default();
    ConnBrief {
        listing: listing(id, e),
        last_seq: e.store.last_seq().unwrap_or(0),
        recorded_bytes: e.store.bytes(),
        totals: e.stats.totals,
        rate,
        repeat: e.repeat.as_ref().map(super::repeat::ActiveRepeat::status),
        latency_seen: e.stats.latency.newest().is_some(),
    }
}

fn listing(id: ConnId, e: &Entry) -> ConnListing {
    ConnListing {
        id,
        proto: e.proto,
        url: e.url.clone(),
        name: e.name.clone(),
        state: e.state,
        since: e.since,
        relay: e.relay,
    }
}

fn now_sec() -> i64 {
    Timestamp::now().as_micros().div_euclid(1_000_000)
}

impl Session {
    /// Every connection, in id order, as a listing row shows it.
    pub fn briefs(&self) -> Vec<ConnBrief> {
        let now = now_sec();
        let st = self.lock();
        st.conns.iter().map(|(&id, e)| brief(id, e, now)).collect()
    }

    /// The connections of `ids` that exist, in the order given: what a client watching a
    /// few connections pays for, whatever the number of others.
    pub fn briefs_of(&self, ids: &[ConnId]) -> Vec<ConnBrief> {
        let now = now_sec();
        let st = self.lock();
        ids.iter()
            .filter_map(|id| st.conns.get(id).map(|e| brief(*id, e, now)))
            .collect()
    }

    /// One connection as a listing row shows it.
    pub fn brief(&self, id: ConnId) -> Result<ConnBrief, SessionError> {
        let now = now_sec();
        let st = self.lock();
        st.conns
            .get(&id)
            .map(|e| brief(id, e, now))
            .ok_or(SessionError::UnknownConn(id))
    }

    /// The last `seq` of each connection of `ids` (0 before its first record), `None` for
    /// one the session does not have (never had, or forgot).
    pub fn heads_of(&self, ids: &[ConnId]) -> Vec<(ConnId, Option<u64>)> {
        let st = self.lock();
        ids.iter()
            .map(|&id| {
                let head = st.conns.get(&id).map(|e| e.store.last_seq().unwrap_or(0));
                (id, head)
            })
            .collect()
    }

    /// A number that changes whenever a connection is opened, forgotten, renamed or
    /// changes state; compare it to know whether [`Session::listing`] would differ,
    /// without building it.
    pub fn listing_version(&self) -> u64 {
        self.lock().listed
    }

    /// Every connection, in id order, with the [`Session::listing_version`] it is of.
    pub fn listing(&self) -> (u64, Vec<ConnListing>) {
        let st = self.lock();
        let list = st.conns.iter().map(|(&id, e)| listing(id, e)).collect();
        (st.listed, list)
    }

    /// Every connection's id, in id order.
    pub fn ids(&self) -> Vec<ConnId> {
        self.lock().conns.keys().copied().collect()
    }

    /// Runs `read` on a connection's name and statistics in place, under the session's
    /// lock, and returns what it made: a chart copies the seconds it draws, not the whole
    /// window. Keep `read` short and free of IO; every connection's pump waits for it.
    pub fn with_stats<R>(
        &self,
        id: ConnId,
        read: impl FnOnce(&str, &ConnStats) -> R,
    ) -> Result<R, SessionError> {
        let st = self.lock();
        let e = st.conns.get(&id).ok_or(SessionError::UnknownConn(id))?;
        Ok(read(&e.name, &e.stats))
    }
}
