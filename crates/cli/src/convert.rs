//! `sscope convert IN -o OUT`: recordings between NDJSON (CONTRACT.md's records) and HAR
//! (what Chrome DevTools and Playwright write), by the files' extensions.
//!
//! The reading, checking and writing are the model's (`ndjson`, `har`); this module owns
//! the command: choosing the formats, reading the input within the readers' limits,
//! writing the output through a temporary file renamed into place (so a failure never
//! leaves half a file), and telling on stderr what was converted and what was left out.
//! Exit status, as `sscope chart`: 0 written; 2 for bad arguments and for input that is
//! not a recording (the message names the line or entry); 1 when the output cannot be
//! written.

use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use streamscope_model::har::{self, ConnExport, ConnInfo, WriteOptions};
use streamscope_model::{Record, ndjson};

#[derive(Debug, Args)]
pub(crate) struct ConvertArgs {
    /// The recording to read: FILE.ndjson (or .jsonl) or FILE.har; `-` reads stdin.
    #[arg(value_name = "IN")]
    pub input: PathBuf,
    /// Where to write: FILE.ndjson or FILE.har; `-` writes stdout.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    /// The input's format, for `-` or a name without a known extension.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub from: Option<Format>,
    /// The output's format, likewise [default: the input's other one].
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub to: Option<Format>,
    /// Keep the values of Authorization, Proxy-Authorization, Cookie and Set-Cookie
    /// headers in a HAR. They are redacted by default: a HAR is made to be shared.
    #[arg(long)]
    pub keep_secrets: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// One JSON record per line (CONTRACT.md).
    Ndjson,
    /// HTTP Archive 1.2.
    Har,
}

impl Format {
    fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            "har" => Some(Format::Har),
            _ => None,
        }
    }

    fn other(self) -> Format {
        match self {
            Format::Ndjson => Format::Har,
            Format::Har => Format::Ndjson,
        }
    }
}

/// A failure with its exit status.
struct Failure(u8, String);

pub(crate) fn run(a: &ConvertArgs) -> ExitCode {
    match convert(a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, message)) => {
            eprintln!("sscope: {message}");
            ExitCode::from(code)
        }
    }
}

fn show(path: &Path, stdio: &str) -> String {
    if path.as_os_str() == "-" {
        stdio.to_owned()
    } else {
        path.display().to_string()
    }
}

fn formats(a: &ConvertArgs) -> Result<(Format, Format), Failure> {
    let bad = |m: String| Failure(2, m);
    let from = a.from.or_else(|| Format::of(&a.input));
    let to = a.to.or_else(|| Format::of(&a.output));
    let named = |path: &Path, flag: &str| {
        if path.as_os_str() == "-" {
            format!("`-` has no extension to tell the format: add {flag} ndjson or {flag} har")
        } else {
            format!(
                "{}: the extension tells the format: name it .ndjson (or .jsonl) or .har, or add {flag}",
                path.display()
            )
        }
    };
    match (from, to) {
        (Some(f), Some(t)) => Ok((f, t)),
        (Some(f), None) if a.output.as_os_str() == "-" => Ok((f, f.other())),
        (None, Some(t)) if a.input.as_os_str() == "-" => Ok((t.other(), t)),
        (None, _) => Err(bad(named(&a.input, "--from"))),
        (_, None) => Err(bad(named(&a.output, "--to"))),
    }
}

fn convert(a: &ConvertArgs) -> Result<(), Failure> {
    let (from, to) = formats(a)?;
    let bad = |m: String| Failure(2, m);
    let shown_in = show(&a.input, "stdin");
    let limit = match from {
        Format::Ndjson => ndjson::DEFAULT_MAX_INPUT,
        Format::Har => har::DEFAULT_MAX_INPUT,
    };
    let bytes = read_input(&a.input, limit).map_err(|e| bad(format!("{shown_in}: {e}")))?;
    // Records, and what each connection's request was when the input knew it.
    let (records, infos): (Vec<Record>, Vec<ConnInfo>) = match from {
        Format::Ndjson => {
            let records = ndjson::read(&bytes, &ndjson::Limits { max_input: limit }).map_err(
                |e| match e {
                    ndjson::NdjsonError::Line { line, what } => {
                        bad(format!("{shown_in}:{line}: {what}"))
                    }
                    other => bad(format!("{shown_in}: {other}")),
                },
            )?;
            (records, Vec::new())
        }
        Format::Har => {
            let import = har::read(&bytes, &har::Limits::default())
                .map_err(|e| bad(format!("{shown_in}: {e}")))?;
            tell_import(&shown_in, &import);
            let infos = import
                .conns
                .iter()
                .map(|c| ConnInfo {
                    url: Some(c.url.clone()),
                    ..ConnInfo::default()
                })
                .collect();
            (import.records, infos)
        }
    };
    drop(bytes);
    let conns = records
        .iter()
        .map(|r| r.conn)
        .collect::<std::collections::HashSet<_>>()
        .len();
    let count = records.len();
    match to {
        Format::Ndjson => write_output(&a.output, |out| ndjson::write(&records, out))?,
        Format::Har => {
            let groups = har::split_by_conn(records);
            let unknown = ConnInfo::default();
            let exports: Vec<ConnExport<'_>> = groups
                .iter()
                .enumerate()
                .map(|(i, records)| ConnExport {
                    records,
                    info: infos.get(i).unwrap_or(&unknown),
                })
                .collect();
            let opts = WriteOptions {
                redact: !a.keep_secrets,
            };
            write_output(&a.output, |out| har::write(&exports, &opts, out))?;
        }
    }
    let shown_out = show(&a.output, "stdout");
    let mut said = format!("wrote {conns} connection(s), {count} records, to {shown_out}");
    if to == Format::Har {
        if from == Format::Ndjson {
            said.push_str(" (records carry no URLs: the entries say unknown.invalid)");
        }
        if !a.keep_secrets {
            said.push_str("; Authorization, Cookie and Set-Cookie values redacted (--keep-secrets keeps them)");
        }
    }
    eprintln!("sscope: {said}");
    Ok(())
}

/// What a HAR import took and left, on stderr: a person converting a browser's HAR wants
/// to know which requests became which connection.
fn tell_import(shown: &str, import: &har::Import) {
    for c in &import.conns {
        eprintln!(
            "sscope: {shown}: log.entries[{}] {} {} → {} ({} records)",
            c.entry,
            c.proto.as_str(),
            c.url,
            c.conn,
            c.records
        );
    }
    if !import.skipped.is_empty() {
        let total: usize = import.skipped.values().sum();
        let kinds: Vec<String> = import
            .skipped
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        eprintln!(
            "sscope: {shown}: {total} other entries not imported ({})",
            kinds.join(", ")
        );
    }
    for note in &import.notes {
        eprintln!("sscope: {shown}: note: {note}");
    }
}

/// The whole input, refusing more than `limit` bytes before holding them.
fn read_input(path: &Path, limit: usize) -> Result<Vec<u8>, String> {
    let over =
        || format!("more than {limit} bytes, the limit for one conversion: split the recording");
    let reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        let file = std::fs::File::open(path).map_err(|e| format!("cannot read it: {e}"))?;
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot read it: {e}"))?;
        if !meta.is_file() {
            return Err("not a regular file".to_owned());
        }
        if meta.len() > limit as u64 {
            return Err(over());
        }
        Box::new(file)
    };
    let mut bytes = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if bytes.len() > limit {
        return Err(over());
    }
    Ok(bytes)
}

/// Writes through `fill` to stdout, or to a temporary file beside `path` that replaces it
/// only once complete.
fn write_output(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Failure> {
    if path.as_os_str() == "-" {
        let stdout = io::stdout();
        let mut out = BufWriter::with_capacity(256 * 1024, stdout.lock());
        return match fill(&mut out).and_then(|()| out.flush()) {
            Ok(()) => Ok(()),
            // A reader that stopped early (`| head`) is not a failure (STYLE.md).
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(Failure(1, format!("cannot write stdout: {e}"))),
        };
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.sscope-{}.tmp", std::process::id()));
    let written = (|| -> io::Result<()> {
        let file = std::fs::File::create(&temp)?;
        let mut out = BufWriter::with_capacity(256 * 1024, file);
        fill(&mut out)?;
        out.into_inner()
            .map_err(io::IntoInnerError::into_error)?
            .sync_all()?;
        std::fs::rename(&temp, path)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        Failure(1, format!("cannot write {}: {e}", path.display()))
    })
}
