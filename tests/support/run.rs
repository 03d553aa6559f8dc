//! Runs the built `sscope` with a deadline and collects exit code, stdout and stderr;
//! `Run` adds the decoded, contract-checked records. A run that outlives its deadline is
//! killed and fails the test with what it printed so far, so a hang never blocks CI.

use std::fmt;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;
use tokio::task::JoinHandle;

use crate::bin::sscope_bin;
use crate::record::{Record, decode_ndjson};

/// Long enough for a loaded 2-core CI machine, short enough that a hang is noticed.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(20);

/// One invocation of `sscope`, built up before running.
#[derive(Debug, Clone)]
pub struct Sscope {
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    deadline: Duration,
}

/// Shorthand: run `sscope ARGS…` with the default deadline and decode its records.
pub async fn sscope<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Sscope::new(args).run().await
}

impl Sscope {
    pub fn new<I, S>(args: I) -> Sscope
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Sscope {
            args: args.into_iter().map(Into::into).collect(),
            stdin: None,
            deadline: DEFAULT_DEADLINE,
        }
    }

    /// Feed these bytes on stdin, then close it (EOF). Without this stdin is /dev/null.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Sscope {
        self.stdin = Some(bytes.into());
        self
    }

    pub fn deadline(mut self, deadline: Duration) -> Sscope {
        self.deadline = deadline;
        self
    }

    /// Starts `sscope` and returns at once, for watching records appear while it runs.
    pub fn spawn(self) -> Live {
        let mut cmd = Command::new(sscope_bin());
        cmd.args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = SystemTime::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {} failed: {e}", sscope_bin().display()));
        let stdin = child.stdin.take();
        if let Some(bytes) = self.stdin.clone() {
            let mut pipe = stdin;
            tokio::spawn(async move {
                if let Some(pipe) = pipe.as_mut() {
                    let _ = pipe.write_all(&bytes).await;
                }
            });
            return Live::new(self, child, None, started);
        }
        Live::new(self, child, stdin, started)
    }

    /// Runs and decodes stdout as NDJSON records, failing the test on any contract breach.
    pub async fn run(self) -> Run {
        let output = self.output().await;
        let stdout = match String::from_utf8(output.stdout.clone()) {
            Ok(s) => s,
            Err(e) => panic!("stdout is not UTF-8 ({e})\n{output}"),
        };
        match decode_ndjson(&stdout, (output.started, output.finished)) {
            Ok(records) => Run { output, records },
            Err(e) => panic!("stdout breaks the record contract: {e}\n{output}"),
        }
    }

    /// Runs without decoding stdout (for `--format pretty`, `--help` and bad arguments).
    pub async fn output(self) -> Output {
        let mut cmd = Command::new(sscope_bin());
        cmd.args(&self.args)
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Colour is for TTYs only; make sure nothing in the environment forces it.
            .env_remove("CLICOLOR_FORCE")
            .env_remove("FORCE_COLOR")
            .kill_on_drop(true);
        let started = SystemTime::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {} failed: {e}", sscope_bin().display()));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let readers = [
            collect(
                child.stdout.take().expect("stdout is piped"),
                stdout.clone(),
            ),
            collect(
                child.stderr.take().expect("stderr is piped"),
                stderr.clone(),
            ),
        ];
        if let (Some(bytes), Some(mut pipe)) = (self.stdin.clone(), child.stdin.take()) {
            // sscope may exit before reading all of it; that is its business, not an error here.
            tokio::spawn(async move {
                let _ = pipe.write_all(&bytes).await;
                let _ = pipe.shutdown().await;
            });
        }
        let status = match tokio::time::timeout(self.deadline, child.wait()).await {
            Ok(status) => status.expect("waiting for sscope"),
            Err(_) => {
                let _ = child.kill().await;
                for reader in readers {
                    let _ = tokio::time::timeout(Duration::from_secs(2), reader).await;
                }
                let partial = Output {
                    args: self.args.clone(),
                    code: -1,
                    stdout: snapshot(&stdout),
                    stderr: snapshot(&stderr),
                    started,
                    finished: SystemTime::now(),
                };
                panic!(
                    "sscope did not finish within {:?}: killed\n{partial}",
                    self.deadline
                );
            }
        };
        let finished = SystemTime::now();
        for reader in readers {
            // The pipes close when sscope exits; a stuck reader would mean a leaked child.
            if tokio::time::timeout(Duration::from_secs(5), reader)
                .await
                .is_err()
            {
                panic!(
                    "sscope exited but its output pipes stayed open (a child process left running?)"
                );
            }
        }
        let output = Output {
            args: self.args,
            code: status.code().unwrap_or(-1),
            stdout: snapshot(&stdout),
            stderr: snapshot(&stderr),
            started,
            finished,
        };
        if status.code().is_none() {
            panic!("sscope was killed by a signal ({status})\n{output}");
        }
        output
    }
}

fn collect<R: AsyncRead + Unpin + Send + 'static>(
    mut pipe: R,
    into: Arc<Mutex<Vec<u8>>>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buf).await {
            if n == 0 {
                break;
            }
            into.lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(&buf[..n]);
        }
    })
}

fn snapshot(buf: &Mutex<Vec<u8>>) -> Vec<u8> {
    buf.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// What a finished `sscope` left behind.
#[derive(Debug, Clone)]
pub struct Output {
    pub args: Vec<String>,
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub started: SystemTime,
    pub finished: SystemTime,
}

impl Output {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Bad arguments: exit 2, a message on stderr, no records on stdout.
    pub fn expect_usage_error(&self) -> &Output {
        assert_eq!(self.code, 2, "bad arguments must exit 2\n{self}");
        assert!(
            !self.stderr_text().trim().is_empty(),
            "bad arguments need a message on stderr\n{self}"
        );
        assert!(
            self.stdout.is_empty(),
            "bad arguments must print no records\n{self}"
        );
        self
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "--- sscope {}", self.args.join(" "))?;
        writeln!(f, "--- exit {}", self.code)?;
        writeln!(f, "--- stdout\n{}", self.stdout_text())?;
        write!(f, "--- stderr\n{}", self.stderr_text())
    }
}

/// A finished run with its decoded records. `Display` dumps everything, for assertion messages.
#[derive(Debug, Clone)]
pub struct Run {
    pub output: Output,
    pub records: Vec<Record>,
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.output.fmt(f)
    }
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.code
    }

    pub fn stderr(&self) -> String {
        self.output.stderr_text()
    }

    /// `"dir kind"` of every record in order, e.g. `["meta open", "in text", "out close"]`.
    pub fn kinds(&self) -> Vec<String> {
        self.records.iter().map(Record::dir_kind).collect()
    }

    /// Records of one kind, in order.
    pub fn all(&self, kind: &str) -> Vec<&Record> {
        self.records.iter().filter(|r| r.kind == kind).collect()
    }

    /// Records of one kind and direction, in order.
    pub fn all_dir(&self, dir: &str, kind: &str) -> Vec<&Record> {
        self.records
            .iter()
            .filter(|r| r.kind == kind && r.dir == dir)
            .collect()
    }

    /// The one record of this kind; panics (with the run) unless there is exactly one.
    pub fn one(&self, kind: &str) -> &Record {
        let found = self.all(kind);
        assert_eq!(
            found.len(),
            1,
            "expected exactly one {kind:?} record\n{self}"
        );
        found[0]
    }

    /// The `data` of every SSE `event` record, in order.
    pub fn event_data(&self) -> Vec<&str> {
        self.all("event").into_iter().map(Record::text).collect()
    }

    /// The run's records, as `dir kind`, are exactly these, in this order.
    #[track_caller]
    pub fn expect_kinds(&self, want: &[&str]) -> &Run {
        assert_eq!(self.kinds(), want, "{self}");
        self
    }

    /// The `id` of every SSE `event` record, in order.
    pub fn event_ids(&self) -> Vec<Option<&str>> {
        self.all("event")
            .into_iter()
            .map(|r| r.id.as_deref())
            .collect()
    }

    /// The peer's close frame (the first inbound `close` record) carried this code and
    /// reason.
    #[track_caller]
    pub fn expect_peer_close(&self, code: u16, reason: &str) -> &Run {
        let close = self.all_dir("in", "close")[0];
        assert_eq!(
            (close.code, close.reason.as_deref()),
            (Some(code), Some(reason)),
            "{self}"
        );
        self
    }

    /// The run's last record is `dir kind`, e.g. `"out close"`.
    #[track_caller]
    pub fn expect_last(&self, dir_kind: &str) -> &Run {
        assert_eq!(
            self.kinds().last().map(String::as_str),
            Some(dir_kind),
            "{self}"
        );
        self
    }

    /// Position of the first record matching `dir kind`, for ordering assertions.
    pub fn position(&self, dir_kind: &str) -> Option<usize> {
        self.records.iter().position(|r| r.dir_kind() == dir_kind)
    }

    pub fn expect_exit(&self, code: i32) -> &Run {
        assert_eq!(self.code(), code, "unexpected exit status\n{self}");
        self
    }

    /// A clean run: exit 0 and no `error` record.
    pub fn expect_success(&self) -> &Run {
        self.expect_exit(0);
        assert!(
            self.all("error").is_empty(),
            "a clean run has no error record\n{self}"
        );
        self
    }

    /// A failed connection or protocol breach: exit 1, an `error` record, and a one-line
    /// cause on stderr as `sscope: <cause>` (its last line; earlier diagnostics are allowed).
    pub fn expect_failure(&self) -> &Run {
        self.expect_exit(1);
        assert!(
            !self.all("error").is_empty(),
            "a failed run has an error record\n{self}"
        );
        let stderr = self.stderr();
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        assert!(
            last.starts_with("sscope: ") && last.len() > "sscope: ".len(),
            "a failed run ends stderr with `sscope: <cause>`\n{self}"
        );
        self
    }

    /// The `cause` of the last `error` record; panics when there is none.
    pub fn cause(&self) -> &str {
        self.records
            .iter()
            .rev()
            .find(|r| r.kind == "error")
            .and_then(|r| r.cause.as_deref())
            .unwrap_or_else(|| panic!("no error record with a cause\n{self}"))
    }

    /// The `message` of the one `error` record; panics when there is not exactly one.
    pub fn error_message(&self) -> &str {
        self.one("error")
            .message
            .as_deref()
            .unwrap_or_else(|| panic!("an error record without a message\n{self}"))
    }

    /// Every record on one connection `c1`, as for a single `sscope ws`/`sse` run.
    pub fn expect_single_conn(&self) -> &Run {
        assert!(
            self.records.iter().all(|r| r.conn == "c1"),
            "one run is one connection, `c1`, across reconnections\n{self}"
        );
        self
    }

    /// An SSE run that read its first stream (a `retry` and an event), reconnected, and
    /// stopped at the answer to the reconnection: a failure, on one connection.
    pub fn expect_refused_reconnection(&self) -> &Run {
        self.expect_failure().expect_single_conn().expect_kinds(&[
            "meta open",
            "in retry",
            "in event",
            "meta end",
            "meta reconnect",
            "meta error",
        ])
    }
}

/// A running `sscope` whose stdout is read line by line as it comes. Dropping it kills
/// the process.
pub struct Live {
    args: Vec<String>,
    deadline: Duration,
    started: SystemTime,
    child: tokio::process::Child,
    stdin: Option<tokio::process::ChildStdin>,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    stdout_reader: JoinHandle<()>,
    seen: Vec<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Live {
    fn new(
        sscope: Sscope,
        mut child: tokio::process::Child,
        stdin: Option<tokio::process::ChildStdin>,
        started: SystemTime,
    ) -> Live {
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stdout_reader = tokio::spawn(async move {
            use tokio::io::AsyncBufReadExt;
            let mut reader = tokio::io::BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        collect(
            child.stderr.take().expect("stderr is piped"),
            stderr.clone(),
        );
        Live {
            args: sscope.args,
            deadline: sscope.deadline,
            started,
            child,
            stdin,
            lines,
            stdout_reader,
            seen: Vec::new(),
            stderr,
        }
    }

    /// The next record, decoded and checked; fails the test when none comes within the
    /// deadline (a record held back in a buffer is a failure here).
    pub async fn next_record(&mut self) -> Record {
        let line = match tokio::time::timeout(self.deadline, self.lines.recv()).await {
            Ok(Some(line)) => line,
            Ok(None) => panic!(
                "sscope closed stdout before the next record\n{}",
                self.dump()
            ),
            Err(_) => panic!("no record within {:?}\n{}", self.deadline, self.dump()),
        };
        self.seen.push(line.clone());
        let record = crate::record::decode_line(
            &line,
            (self.started, SystemTime::now() + Duration::from_secs(1)),
        )
        .unwrap_or_else(|e| panic!("{e}\n{}", self.dump()));
        assert_eq!(
            record.seq,
            self.seen.len() as u64,
            "seq out of order\n{}",
            self.dump()
        );
        record
    }

    /// Waits for the next record and checks its `dir kind`.
    pub async fn expect(&mut self, dir_kind: &str) -> Record {
        let record = self.next_record().await;
        assert_eq!(
            record.dir_kind(),
            dir_kind,
            "unexpected record\n{}",
            self.dump()
        );
        record
    }

    /// Writes to sscope's stdin (only when started without `Sscope::stdin`).
    pub async fn write_stdin(&mut self, bytes: &[u8]) {
        let pipe = self.stdin.as_mut().expect("stdin was given up front");
        pipe.write_all(bytes)
            .await
            .expect("writing to sscope's stdin");
        pipe.flush().await.expect("flushing sscope's stdin");
    }

    /// Closes sscope's stdin (EOF).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Closes our end of sscope's stdout, as `sscope … | head -1` does once it has its line.
    pub async fn close_stdout(&mut self) {
        self.stdout_reader.abort();
        // Wait until the task, and so the pipe it owns, is gone.
        let _ = (&mut self.stdout_reader).await;
    }

    /// Waits for sscope to exit (within the deadline) and returns its exit code.
    pub async fn wait(&mut self) -> i32 {
        match tokio::time::timeout(self.deadline, self.child.wait()).await {
            Ok(Ok(status)) => status.code().unwrap_or_else(|| {
                panic!("sscope was killed by a signal ({status})\n{}", self.dump())
            }),
            Ok(Err(e)) => panic!("waiting for sscope: {e}"),
            Err(_) => panic!(
                "sscope did not exit within {:?}\n{}",
                self.deadline,
                self.dump()
            ),
        }
    }

    /// What sscope wrote to stderr so far (`sscope tap` names its address there).
    pub fn stderr_so_far(&self) -> String {
        String::from_utf8_lossy(&snapshot(&self.stderr)).into_owned()
    }

    /// Sends `signal` (`INT`, `TERM`, `HUP`) to sscope, by its process id.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("sscope is still running");
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {pid} failed");
    }

    /// True when sscope has exited by now.
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    fn dump(&self) -> String {
        format!(
            "--- sscope {}\n--- stdout so far\n{}\n--- stderr so far\n{}",
            self.args.join(" "),
            self.seen.join("\n"),
            String::from_utf8_lossy(&snapshot(&self.stderr))
        )
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
