//! Fuzzes the importers: `har::read` and `ndjson::read` on the same bytes.
//!
//! Checked: neither panics, whatever the bytes; what `ndjson::read` accepts is written
//! with `ndjson::write` and reads back equal (the strict reader accepts everything the
//! writer writes); what `har::read` imports is valid for the strict NDJSON reader (every
//! imported connection obeys the contract: seq 1, 2, 3 …, fields per kind), and exporting
//! it as HAR and importing again gives the same connections and record kinds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use streamscope_model::har::{self, ConnExport, ConnInfo, WriteOptions};
use streamscope_model::ndjson;

fuzz_target!(|data: &[u8]| {
    if let Ok(records) = ndjson::read(data, &ndjson::Limits::default()) {
        let mut out = Vec::new();
        ndjson::write(&records, &mut out).expect("a Vec takes every byte");
        let again = ndjson::read(&out, &ndjson::Limits::default())
            .unwrap_or_else(|e| panic!("written NDJSON does not read back: {e}"));
        assert_eq!(again, records, "NDJSON round trip changed the records");
    }
    let Ok(import) = har::read(data, &har::Limits::default()) else {
        return;
    };
    let mut text = Vec::new();
    ndjson::write(&import.records, &mut text).expect("a Vec takes every byte");
    if let Err(e) = ndjson::read(&text, &ndjson::Limits::default()) {
        panic!("a HAR import breaks the record contract: {e}");
    }
    let groups = har::split_by_conn(import.records.clone());
    let info = ConnInfo::default();
    let exports: Vec<ConnExport<'_>> = groups
        .iter()
        .map(|records| ConnExport { records, info: &info })
        .collect();
    let mut har_out = Vec::new();
    har::write(&exports, &WriteOptions::default(), &mut har_out).expect("a Vec takes every byte");
    let back = har::read(&har_out, &har::Limits::default())
        .unwrap_or_else(|e| panic!("our own HAR export does not import: {e}"));
    assert_eq!(back.conns.len(), import.conns.len(), "connections lost in the round trip");
});
