//! Recordings to and from files: an imported NDJSON or HAR file as connections the
//! library can keep, and recordings written out as HAR. The formats themselves are the
//! model's (`model::ndjson`, `model::har`); this joins them to stores.

use std::io;

use streamscope_model::har::{self, ConnExport, ConnInfo, WriteOptions};
use streamscope_model::{Proto, Record, ndjson};

use super::disk::ImportedRecording;
use super::store::RecordStore;

/// A file format the library reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Ndjson,
    Har,
}

impl FileFormat {
    /// By a file name's extension (`.ndjson`, `.jsonl`, `.har`), any case.
    pub fn of_name(name: &str) -> Option<FileFormat> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "ndjson" | "jsonl" => Some(FileFormat::Ndjson),
            "har" => Some(FileFormat::Har),
            _ => None,
        }
    }

    /// By the content: a HAR is one JSON object with `log`; NDJSON is records, one a line.
    pub fn sniff(bytes: &[u8]) -> FileFormat {
        let head = &bytes[..bytes.len().min(4096)];
        let text = String::from_utf8_lossy(head);
        let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if squeezed.starts_with("{\"log\"") {
            FileFormat::Har
        } else {
            FileFormat::Ndjson
        }
    }
}

/// An imported file's connections, and what the import assumed or left out (one
/// sentence each). `source` names the file in the connections' names.
///
/// # Errors
/// The reader's message: the line or entry, and what is wrong with it. Nothing is
/// returned half-way.
pub fn read_recordings(
    bytes: &[u8],
    format: FileFormat,
    source: &str,
) -> Result<(Vec<ImportedRecording>, Vec<String>), String> {
    match format {
        FileFormat::Ndjson => {
            let records =
                ndjson::read(bytes, &ndjson::Limits::default()).map_err(|e| e.to_string())?;
            let groups = har::split_by_conn(records);
            let conns = groups
                .into_iter()
                .filter_map(|records| {
                    let first = records.first()?;
                    Some(ImportedRecording {
                        proto: first.proto,
                        // Records carry no URL: say where they came from instead.
                        url: format!("{source} ({})", first.conn),
                        name: format!("{} from {source}", first.conn),
                        records,
                    })
                })
                .collect();
            Ok((conns, Vec::new()))
        }
        FileFormat::Har => {
            let import = har::read(bytes, &har::Limits::default()).map_err(|e| e.to_string())?;
            let mut notes = import.notes.clone();
            let skipped: usize = import.skipped.values().sum();
            if skipped > 0 {
                let kinds: Vec<String> = import
                    .skipped
                    .iter()
                    .map(|(k, n)| format!("{n} {k}"))
                    .collect();
                let (what, were) = if skipped == 1 {
                    ("entry", "was")
                } else {
                    ("entries", "were")
                };
                notes.push(format!(
                    "{skipped} other {what} {were} counted, not imported: {}",
                    kinds.join(", ")
                ));
            }
            let groups = har::split_by_conn(import.records);
            let conns = groups
                .into_iter()
                .zip(import.conns.iter())
                .map(|(records, c)| ImportedRecording {
                    proto: c.proto,
                    url: c.url.clone(),
                    name: short_name(&c.url, c.proto),
                    records,
                })
                .collect();
            Ok((conns, notes))
        }
    }
}

fn short_name(url: &str, proto: Proto) -> String {
    let path = url::Url::parse(url)
        .ok()
        .map(|u| u.path().trim_matches('/').to_owned())
        .filter(|p| !p.is_empty());
    path.unwrap_or_else(|| match proto {
        Proto::Ws => "websocket".into(),
        Proto::Sse => "event stream".into(),
    })
}

/// Writes recordings as one HAR: each with its URL, its records read whole (a HAR is one
/// JSON document, which readers take whole too). Secret headers are redacted unless
/// `keep_secrets`.
pub fn write_har(
    conns: &[(String, &dyn RecordStore)],
    keep_secrets: bool,
    out: impl io::Write,
) -> io::Result<()> {
    let mut all: Vec<(Vec<Record>, ConnInfo)> = Vec::with_capacity(conns.len());
    for (url, store) in conns {
        let mut records = Vec::new();
        if let (Some(first), Some(last)) = (store.first_seq(), store.last_seq()) {
            store.range(
                first,
                usize::try_from(last - first + 1).unwrap_or(usize::MAX),
                &mut records,
            );
        }
        all.push((
            records,
            ConnInfo {
                url: Some(url.clone()),
                ..ConnInfo::default()
            },
        ));
    }
    let exports: Vec<ConnExport<'_>> = all
        .iter()
        .map(|(records, info)| ConnExport { records, info })
        .collect();
    har::write(
        &exports,
        &WriteOptions {
            redact: !keep_secrets,
        },
        out,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_name_and_by_content() {
        assert_eq!(FileFormat::of_name("a.HAR"), Some(FileFormat::Har));
        assert_eq!(FileFormat::of_name("x.ndjson"), Some(FileFormat::Ndjson));
        assert_eq!(FileFormat::of_name("x.json"), None);
        assert_eq!(FileFormat::sniff(b" {\n \"log\": {}}"), FileFormat::Har);
        assert_eq!(FileFormat::sniff(b"{\"t\":\"x\"}\n"), FileFormat::Ndjson);
    }
}
