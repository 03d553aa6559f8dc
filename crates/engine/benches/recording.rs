//! Recorder storage throughput: appending records to a [`MemoryStore`] and reading them
//! back by `seq` range, for 64-byte and 64 KiB text records (the sizes DESIGN.md's
//! performance targets use). Run with `cargo bench -p streamscope-engine --bench recorder`.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use streamscope_engine::recording::{MemoryStore, RecordStore};
use streamscope_engine::{Body, ConnId, Dir, Proto, Record, Timestamp};

/// Records per case: enough to cross many segments, few enough for a quick run.
const CASES: [(&str, usize, u64); 2] = [("64B", 64, 100_000), ("64KiB", 64 << 10, 2_000)];

/// Records per `range` call, about what the UI asks for when it pages.
const PAGE: usize = 500;

fn records(size: usize, n: u64) -> Vec<Record> {
    (1..=n)
        .map(|seq| {
            let mut data = format!("{seq:>12} ");
            data.extend(std::iter::repeat_n('x', size.saturating_sub(data.len())));
            Record {
                t: Timestamp(1_764_095_198_000_000 + seq as i64 * 10),
                conn: ConnId(1),
                proto: Proto::Ws,
                seq,
                dir: Dir::In,
                body: Body::Text(data),
                wire: None,
            }
        })
        .collect()
}

fn filled(records: &[Record]) -> MemoryStore {
    let mut store = MemoryStore::new(ConnId(1), Proto::Ws);
    for r in records {
        store.append(r).expect("append");
    }
    store
}

fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("recorder_append");
    group.sample_size(20);
    for (name, size, n) in CASES {
        let records = records(size, n);
        group.throughput(Throughput::Bytes(size as u64 * n));
        group.bench_function(name, |b| {
            b.iter_batched(
                || MemoryStore::new(ConnId(1), Proto::Ws),
                |mut store| {
                    for r in &records {
                        store.append(black_box(r)).expect("append");
                    }
                    // Returned, so the store's freeing is not timed.
                    store
                },
                BatchSize::PerIteration,
            )
        });
        let store = filled(&records);
        eprintln!(
            "recorder {name}: {n} records, {} bytes held, {:.2} bytes per record ({:.2} beyond the payload)",
            store.bytes(),
            store.bytes() as f64 / n as f64,
            store.bytes() as f64 / n as f64 - size as f64,
        );
    }
    group.finish();
}

fn range(c: &mut Criterion) {
    let mut group = c.benchmark_group("recorder_range");
    group.sample_size(20);
    for (name, size, n) in CASES {
        let store = filled(&records(size, n));
        group.throughput(Throughput::Bytes(size as u64 * n));
        let mut page = Vec::with_capacity(PAGE);
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut from = 1;
                loop {
                    page.clear();
                    store.range(from, PAGE, &mut page);
                    let Some(last) = page.last() else { break };
                    from = last.seq + 1;
                    black_box(&page);
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, append, range);
criterion_main!(benches);
