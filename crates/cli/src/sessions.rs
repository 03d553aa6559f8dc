//! `sscope sessions` and `sscope export`: the library of recorded sessions in a data
//! directory, listed, and one session written out as a file. They read the library
//! without recording, so they work beside a running app or `sscope serve`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use serde_json::json;
use streamscope_engine::ConnId;
use streamscope_engine::recording::{Library, RecordStore, files, merge};

#[derive(Debug, Args)]
pub(crate) struct SessionsArgs {
    /// The data directory [default: as `sscope serve`'s].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// The data directory [default: as `sscope serve`'s].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The session's id, as `sscope sessions` lists it.
    #[arg(value_name = "SESSION")]
    pub session: i64,
    /// Where to write: `.ndjson` (records, CONTRACT.md) or `.har` (HAR 1.2, as Chrome
    /// DevTools imports it); `-` for NDJSON on stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Keep Authorization, Cookie and Set-Cookie values in a HAR (redacted by default: a
    /// HAR is made to be shared).
    #[arg(long)]
    pub keep_secrets: bool,
}

fn library(dir: Option<&Path>) -> Result<std::sync::Arc<Library>, String> {
    let dir = dir
        .map(Path::to_owned)
        .or_else(|| streamscope_server::default_data_dir("streamscope"))
        .ok_or("no data directory is known for this user: give one with --data-dir DIR")?;
    Library::open_existing(&dir).map_err(|e| e.to_string())
}

pub(crate) fn list(args: &SessionsArgs) -> ExitCode {
    let lib = match library(args.data_dir.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("sscope: {e}");
            return ExitCode::from(1);
        }
    };
    let sessions = match lib.sessions() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sscope: {e}");
            return ExitCode::from(1);
        }
    };
    let mut out = std::io::stdout().lock();
    for s in sessions {
        let line = json!({
            "id": s.id,
            "name": s.name,
            "started": s.started.to_string(),
            "ended": s.ended.map(|t| t.to_string()),
            "conns": s.conns,
            "records": s.records,
            "bytes": s.bytes,
            "origin": s.origin,
            "live": s.live,
        });
        if writeln!(out, "{line}").is_err() {
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}

pub(crate) fn export(args: &ExportArgs) -> ExitCode {
    match export_to(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sscope: {e}");
            ExitCode::from(1)
        }
    }
}

fn export_to(args: &ExportArgs) -> Result<(), String> {
    let is_stdout = args.output.as_os_str() == "-";
    let ext = args
        .output
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let har = ext.as_deref() == Some("har");
    if !is_stdout && !har && ext.as_deref() != Some("ndjson") {
        return Err(format!(
            "{}: name the output .ndjson or .har (or - for NDJSON on stdout)",
            args.output.display()
        ));
    }
    let lib = library(args.data_dir.as_deref())?;
    let conns = lib
        .open_session(args.session, |row| ConnId(row.conn))
        .map_err(|e| format!("{e}; `sscope sessions` lists them"))?;
    let stores: Vec<&dyn RecordStore> = conns.iter().map(|(_, s)| s as &dyn RecordStore).collect();
    if is_stdout {
        let mut out = std::io::stdout().lock();
        merge::write_ndjson(&stores, &mut out).map_err(|e| format!("writing stdout: {e}"))
    } else {
        // Written beside the target and renamed into place: a failed export leaves no
        // half-written file under the name asked for.
        let tmp = args.output.with_extension("part");
        let file = std::fs::File::create(&tmp)
            .map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
        let mut w = std::io::BufWriter::new(file);
        let written = if har {
            let with_urls: Vec<(String, &dyn RecordStore)> = conns
                .iter()
                .map(|(row, s)| (row.url.clone(), s as &dyn RecordStore))
                .collect();
            files::write_har(&with_urls, args.keep_secrets, &mut w)
        } else {
            merge::write_ndjson(&stores, &mut w)
        }
        .and_then(|()| w.flush());
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(format!("cannot write {}: {e}", args.output.display()));
        }
        std::fs::rename(&tmp, &args.output)
            .map_err(|e| format!("cannot write {}: {e}", args.output.display()))
    }
}
