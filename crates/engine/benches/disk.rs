//! The disk store's throughput: 64-byte text records appended to a [`DiskStore`] in
//! batches as the session's pump hands them over (sealed after each batch, as a steady
//! stream seals every 40 ms), until the writer thread has written and indexed every block;
//! then every record read back by `seq` page from the file. Prints records per second.
//!
//! `CARGO_TARGET_DIR=/var/tmp/streamscope-target cargo bench -p streamscope-engine --bench disk`
//! (`RECORDS=N` to change the count; the data goes to the system's temp directory).

use std::time::Instant;

use streamscope_engine::recording::disk::DEFAULT_DISK_BUDGET;
use streamscope_engine::recording::{Library, RecordStore};
use streamscope_engine::{Body, ConnId, Dir, Proto, Record, Timestamp};

/// Records the pump moves per lock (session/mod.rs's PUMP_BATCH).
const BATCH: u64 = 1024;

fn main() {
    let n: u64 = std::env::var("RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000_000);
    let dir = std::env::temp_dir().join(format!("streamscope-bench-disk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let lib = Library::open(&dir, DEFAULT_DISK_BUDGET).expect("library");
    let session = lib.begin_session("bench", "live").expect("session");
    let id = ConnId(1);
    let mut store = lib
        .create_store(session, id, Proto::Ws, "ws://bench/", "bench", None)
        .expect("store");
    let payload = "x".repeat(64);
    let start = Instant::now();
    for seq in 1..=n {
        let r = Record {
            t: Timestamp(1_800_000_000_000_000 + seq as i64),
            conn: id,
            proto: Proto::Ws,
            seq,
            dir: Dir::In,
            body: Body::Text(payload.clone()),
            wire: None,
        };
        store.append(&r).expect("append");
        if seq % BATCH == 0 {
            store.flush();
        }
    }
    store.flush();
    let appended = start.elapsed();
    lib.flush();
    let written = start.elapsed();
    let size = std::fs::metadata(
        dir.join("sessions")
            .join(session.to_string())
            .join("c1.seg"),
    )
    .map(|m| m.len())
    .unwrap_or(0);
    println!(
        "append {n} × 64 B: {:.0} records/s into the store; {:.0} records/s written and indexed ({:.1} MiB on disk, {:.1} B a record)",
        n as f64 / appended.as_secs_f64(),
        n as f64 / written.as_secs_f64(),
        size as f64 / (1 << 20) as f64,
        size as f64 / n as f64,
    );
    println!(
        "store memory after the run: {:.2} MiB",
        store.bytes() as f64 / (1 << 20) as f64
    );

    let start = Instant::now();
    let mut next = 1;
    let mut page = Vec::with_capacity(500);
    let mut read = 0u64;
    while next <= n {
        page.clear();
        store.range(next, 500, &mut page);
        let Some(last) = page.last() else { break };
        next = last.seq + 1;
        read += page.len() as u64;
    }
    println!(
        "read back {read} in pages of 500: {:.0} records/s",
        read as f64 / start.elapsed().as_secs_f64()
    );
    lib.close();
    let _ = std::fs::remove_dir_all(&dir);
}
