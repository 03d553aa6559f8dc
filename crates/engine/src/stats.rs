//! Rolling statistics per connection: totals and per-second buckets of events and bytes,
//! the numbers behind the rate charts.
//!
//! A pure subscriber: it reads records and never touches a socket. Observing a record
//! is constant time, and the window holds a fixed number of seconds.

use crate::record::{Dir, Record, Timestamp};

/// Seconds of history kept per connection: ten minutes, enough for a lab or a long look
/// at a misbehaving feed, at a few kilobytes per connection.
pub const WINDOW_SECS: usize = 600;

/// Counts for one second (or for all time, as totals).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Inbound data records: WS text/binary, SSE events.
    pub events_in: u64,
    /// Outbound data records: WS text/binary we sent.
    pub events_out: u64,
    /// Payload bytes of every inbound record that carries a size (data, pings, comments).
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl Counts {
    fn add(&mut self, r: &Record) {
        let size = r.body.size().unwrap_or(0) as u64;
        let data = r.body.is_data();
        match r.dir {
            Dir::In => {
                self.events_in += u64::from(data);
                self.bytes_in += size;
            }
            Dir::Out => {
                self.events_out += u64::from(data);
                self.bytes_out += size;
            }
            Dir::Meta => {}
        }
    }
}

/// Per-second buckets over the last [`WINDOW_SECS`] seconds, in a ring.
#[derive(Debug, Clone)]
pub struct RateWindow {
    buckets: Vec<Counts>,
    /// The Unix second of the newest bucket; `None` before the first record.
    newest: Option<i64>,
}

impl Default for RateWindow {
    fn default() -> Self {
        RateWindow {
            buckets: vec![Counts::default(); WINDOW_SECS],
            newest: None,
        }
    }
}

impl RateWindow {
    fn slot(sec: i64) -> usize {
        sec.rem_euclid(WINDOW_SECS as i64) as usize
    }

    /// Adds a record to the bucket of its second. A record older than the window is
    /// ignored here (the totals still count it).
    pub fn observe(&mut self, r: &Record) {
        let sec = r.t.as_micros().div_euclid(1_000_000);
        let newest = match self.newest {
            None => {
                self.newest = Some(sec);
                sec
            }
            Some(n) if sec > n => {
                // Clear the seconds we skipped (at most the whole ring).
                let gap = (sec - n).min(WINDOW_SECS as i64);
                for s in (sec - gap + 1)..=sec {
                    self.buckets[Self::slot(s)] = Counts::default();
                }
                self.newest = Some(sec);
                sec
            }
            Some(n) => n,
        };
        if newest - sec >= WINDOW_SECS as i64 {
            return;
        }
        self.buckets[Self::slot(sec)].add(r);
    }

    /// The newest second with data, if any.
    pub fn newest(&self) -> Option<i64> {
        self.newest
    }

    /// Counts for each second from `from` to `to` inclusive (Unix seconds); seconds
    /// outside the window read as zero.
    pub fn series(&self, from: i64, to: i64) -> Vec<(i64, Counts)> {
        let Some(newest) = self.newest else {
            return (from..=to).map(|s| (s, Counts::default())).collect();
        };
        (from..=to)
            .map(|s| {
                let inside = s <= newest && newest - s < WINDOW_SECS as i64;
                (
                    s,
                    if inside {
                        self.buckets[Self::slot(s)]
                    } else {
                        Counts::default()
                    },
                )
            })
            .collect()
    }
}

/// Everything the charts and status lines know about one connection.
#[derive(Debug, Clone, Default)]
pub struct ConnStats {
    pub totals: Counts,
    pub window: RateWindow,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

impl ConnStats {
    pub fn observe(&mut self, r: &Record) {
        self.totals.add(r);
        self.window.observe(r);
        self.first.get_or_insert(r.t);
        self.last = Some(r.t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Body, ConnId, Proto};
    use proptest::prelude::*;

    fn rec(micros: i64, dir: Dir, len: usize) -> Record {
        Record {
            t: Timestamp(micros),
            conn: ConnId(1),
            proto: Proto::Ws,
            seq: 0,
            dir,
            body: Body::Text("x".repeat(len)),
        }
    }

    proptest! {
        /// Any sequence of records in time order gives, for every second in the window,
        /// the same counts as a plain filter over all records of that second.
        #[test]
        fn window_matches_a_reference_count(
            steps in proptest::collection::vec((0i64..3_000_000, any::<bool>(), 0usize..50), 1..300)
        ) {
            let mut t = 1_700_000_000_000_000i64;
            let mut records = Vec::new();
            for (dt, inbound, len) in steps {
                t += dt;
                records.push(rec(t, if inbound { Dir::In } else { Dir::Out }, len));
            }
            let mut w = RateWindow::default();
            for r in &records {
                w.observe(r);
            }
            let newest = w.newest().expect("records were observed");
            let from = newest - WINDOW_SECS as i64 + 1;
            for (sec, counts) in w.series(from, newest) {
                let mut want = Counts::default();
                for r in records.iter().filter(|r| r.t.as_micros().div_euclid(1_000_000) == sec) {
                    want.add(r);
                }
                prop_assert_eq!(counts, want, "second {}", sec);
            }
        }
    }

    #[test]
    fn old_seconds_fall_out_of_the_window() {
        let mut w = RateWindow::default();
        w.observe(&rec(0, Dir::In, 3));
        w.observe(&rec(WINDOW_SECS as i64 * 1_000_000, Dir::In, 4));
        assert_eq!(w.series(0, 0)[0].1, Counts::default());
        let last = w.series(WINDOW_SECS as i64, WINDOW_SECS as i64)[0].1;
        assert_eq!(last.events_in, 1);
        assert_eq!(last.bytes_in, 4);
    }
}
