//! Fuzzes the record reader (`Record::from_json`) and writer (`Record::to_json`).
//!
//! The fuzzer's bytes are one NDJSON line (inputs that are not UTF-8 are skipped: the
//! reader takes `&str`). Checked: `from_json` never panics, and a record that parses
//! re-serialises to JSON that parses back to an equal record, whose JSON is in turn the
//! same text (the writer is deterministic and the reader loses nothing it wrote).
#![no_main]

use libfuzzer_sys::fuzz_target;
use streamscope_model::Record;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(record) = Record::from_json(line) else {
        return;
    };
    let json = record.to_json();
    let again = match Record::from_json(&json) {
        Ok(r) => r,
        Err(e) => panic!("re-serialised record does not parse: {e}\n  input: {line}\n  json:  {json}"),
    };
    assert_eq!(again, record, "round trip changed the record\n  input: {line}\n  json:  {json}");
    assert_eq!(again.to_json(), json, "second serialisation differs");
});
