//! Several recordings read as one: records of every connection in time order (ties by
//! connection, then seq), a batch at a time per recording, so exporting a session of
//! any size holds only a few records of each connection.

use std::io;

use streamscope_model::Record;

use super::store::RecordStore;

/// Records read from one recording at a time.
const BATCH: usize = 256;

struct Cursor<'a> {
    store: &'a dyn RecordStore,
    next: u64,
    ready: std::collections::VecDeque<Record>,
}

impl Cursor<'_> {
    fn peek(&mut self) -> Option<&Record> {
        if self.ready.is_empty() {
            let mut out = Vec::with_capacity(BATCH);
            self.store.range(self.next, BATCH, &mut out);
            if let Some(last) = out.last() {
                self.next = last.seq + 1;
            }
            self.ready.extend(out);
        }
        self.ready.front()
    }
}

/// Calls `each` with every record of `stores`, in time order.
pub fn for_each_in_time_order(
    stores: &[&dyn RecordStore],
    mut each: impl FnMut(&Record) -> io::Result<()>,
) -> io::Result<()> {
    let mut cursors: Vec<Cursor<'_>> = stores
        .iter()
        .map(|s| Cursor {
            store: *s,
            next: s.first_seq().unwrap_or(1),
            ready: Default::default(),
        })
        .collect();
    loop {
        let mut best: Option<(usize, (i64, u32, u64))> = None;
        for (i, c) in cursors.iter_mut().enumerate() {
            if let Some(r) = c.peek() {
                let key = (r.t.0, r.conn.0, r.seq);
                if best.is_none_or(|(_, k)| key < k) {
                    best = Some((i, key));
                }
            }
        }
        let Some((i, _)) = best else { return Ok(()) };
        if let Some(r) = cursors[i].ready.pop_front() {
            each(&r)?;
        }
    }
}

/// Writes every record of `stores` as NDJSON (CONTRACT.md), in time order.
pub fn write_ndjson(stores: &[&dyn RecordStore], w: &mut dyn io::Write) -> io::Result<()> {
    let mut buf = Vec::with_capacity(64 * 1024);
    for_each_in_time_order(stores, |r| {
        r.write_ndjson(&mut buf);
        if buf.len() >= 60 * 1024 {
            w.write_all(&buf)?;
            buf.clear();
        }
        Ok(())
    })?;
    w.write_all(&buf)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::MemoryStore;
    use streamscope_model::{Body, ConnId, Dir, Proto, Timestamp};

    fn rec(conn: u32, seq: u64, t: i64) -> Record {
        Record {
            t: Timestamp(t),
            conn: ConnId(conn),
            proto: Proto::Ws,
            seq,
            dir: Dir::In,
            body: Body::Text(format!("{conn}/{seq}")),
            wire: None,
        }
    }

    #[test]
    fn records_of_several_recordings_come_in_time_order() {
        let mut a = MemoryStore::new(ConnId(1), Proto::Ws);
        let mut b = MemoryStore::new(ConnId(2), Proto::Ws);
        for (seq, t) in [(1, 10), (2, 30), (3, 30), (4, 50)] {
            a.append(&rec(1, seq, t)).expect("append");
        }
        for (seq, t) in [(1, 20), (2, 30), (3, 60)] {
            b.append(&rec(2, seq, t)).expect("append");
        }
        let mut got = Vec::new();
        for_each_in_time_order(&[&a, &b], |r| {
            got.push((r.conn.0, r.seq));
            Ok(())
        })
        .expect("merge");
        assert_eq!(
            got,
            [(1, 1), (2, 1), (1, 2), (1, 3), (2, 2), (1, 4), (2, 3)]
        );
    }
}
