//! NDJSON output: one record per line, exactly as CONTRACT.md writes it.

use streamscope_engine::Record;

pub(crate) fn write(record: &Record, buf: &mut Vec<u8>) {
    record.write_ndjson(buf);
}
