//! `sscope serve`, the built binary: it prints the UI's URL with the token, serves the demos
//! and the API, and on Ctrl-C (SIGINT), SIGTERM or SIGHUP closes every connection properly
//! and exits 0.
//!
//! Runs the `sscope` a user runs: build it first (`cargo build -p sscope`, same
//! `CARGO_TARGET_DIR`), or point `SSCOPE_BIN` at one.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use support::{Api, PATIENCE, Reply, http, live_with, sscope_bin, within};
use tokio::time::{Instant, sleep, timeout};
use tokio_tungstenite::tungstenite::Message;

/// A running `sscope serve`, killed if the test ends before it exits.
struct Serve {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// The private data directory recordings go to; removed on drop.
    data_dir: std::path::PathBuf,
}

/// A fresh data directory for one server.
fn fresh_data_dir() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir =
        std::env::temp_dir().join(format!("streamscope-serve-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

impl Serve {
    /// The UI's URL the server prints, split into the server's base URL and the token
    /// (`http://127.0.0.1:PORT/#token=…`).
    async fn ui_url(&self) -> (String, String, String) {
        let line = self.line(|l| l.contains("/#token=")).await;
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("a URL on the line")
            .to_owned();
        let (base, token) = url.split_once("/#token=").expect("a token URL");
        let (base, token) = (base.to_owned(), token.to_owned());
        (url, base, token)
    }

    fn start(port: u16) -> Serve {
        Serve::start_with(port, &[])
    }

    /// `sscope serve --port PORT` with `extra` arguments after.
    fn start_with(port: u16, extra: &[&str]) -> Serve {
        let data_dir = fresh_data_dir();
        let mut child = Command::new(sscope_bin())
            .args(["serve", "--port", &port.to_string()])
            .args(["--data-dir", &data_dir.to_string_lossy()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run sscope serve");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        for pipe in [
            Box::new(stdout) as Box<dyn std::io::Read + Send>,
            Box::new(stderr),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { return };
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            });
        }
        Serve {
            child,
            lines,
            data_dir,
        }
    }

    /// The next line of output (stdout or stderr) that satisfies `wanted`.
    async fn line(&self, wanted: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        let mut seen = Vec::new();
        loop {
            match self.lines.try_recv() {
                Ok(line) if wanted(&line) => return line,
                Ok(line) => seen.push(line),
                Err(mpsc::TryRecvError::Empty) => {
                    assert!(
                        start.elapsed() < PATIENCE,
                        "sscope serve never printed it; output: {seen:#?}"
                    );
                    sleep(Duration::from_millis(10)).await;
                }
                Err(mpsc::TryRecvError::Disconnected) => {
                    panic!("sscope serve ended its output first: {seen:#?}")
                }
            }
        }
    }

    /// Sends `signal` (`INT`, `TERM`, `HUP`) to the process, by its id.
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    async fn exit(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for sscope") {
                return status;
            }
            assert!(start.elapsed() < PATIENCE, "sscope serve did not exit");
            sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

#[tokio::test]
async fn sscope_serve_prints_the_token_url_serves_and_exits_0_after_closing_connections_on_sigint()
{
    serves_then_stops_properly_on("INT").await;
}

#[tokio::test]
async fn sscope_serve_closes_connections_properly_on_sigterm() {
    serves_then_stops_properly_on("TERM").await;
}

#[tokio::test]
async fn sscope_serve_closes_connections_properly_on_sighup() {
    serves_then_stops_properly_on("HUP").await;
}

/// Serves, opens a connection, then stops on `signal`: the connection's close handshake
/// completes (1001, going away), the live socket gets a 1001 close, the exit status is 0.
async fn serves_then_stops_properly_on(signal: &str) {
    within(async {
        let mut serve = Serve::start(0);
        let (url, base, token) = serve.ui_url().await;
        let (base, token) = (base.as_str(), token.as_str());
        assert!(base.starts_with("http://127.0.0.1:"), "{url}");
        assert_eq!(token.len(), 64, "{url}");
        assert!(token.bytes().all(|c| c.is_ascii_hexdigit()), "{url}");
        let addr = base.trim_start_matches("http://").to_owned();

        // The demos answer without the token, the API with it.
        let demos = Reply::read(
            http()
                .get(format!("{base}/demo"))
                .send()
                .await
                .expect("GET /demo"),
        )
        .await;
        assert_eq!(demos.status, 200);
        assert!(demos.json().as_array().is_some_and(|a| a.len() > 10));
        let api = Api {
            base: base.to_owned(),
            token: token.to_owned(),
            client: http(),
        };
        let page = Reply::read(http().get(&url).send().await.expect("GET the UI")).await;
        assert_eq!(page.status, 200);

        // An open WebSocket connection to the echo demo, watched over /api/live.
        let id = api
            .open(json!({ "url": format!("ws://{addr}/demo/ws/echo") }))
            .await;
        api.wait_state(&id, "open").await;
        let mut live = live_with(&format!("ws://{addr}/api/live?token={token}"), &[])
            .await
            .expect("live socket");

        serve.signal(signal);
        let mut records: Vec<Value> = Vec::new();
        let close = loop {
            match timeout(PATIENCE, live.next()).await.expect("live in time") {
                Some(Ok(Message::Text(text))) => {
                    let batch: Value = serde_json::from_str(text.as_str()).expect("json");
                    for r in batch["records"].as_array().expect("records") {
                        if r["conn"] == id.as_str() {
                            records.push(r.clone());
                        }
                    }
                }
                Some(Ok(Message::Close(frame))) => break frame,
                Some(Ok(_)) => {}
                other => panic!("expected batches then a close, got {other:?}"),
            }
        };
        assert_eq!(close.map(|f| u16::from(f.code)), Some(1001));
        let status = serve.exit().await;
        assert_eq!(status.code(), Some(0), "{status}");

        // The connection's close handshake completed before the process left.
        let tail: Vec<(&str, &str)> = records
            .iter()
            .filter_map(|r| Some((r["dir"].as_str()?, r["kind"].as_str()?)))
            .collect();
        assert!(
            tail.ends_with(&[("out", "close"), ("in", "close")]),
            "records end with the close handshake: {tail:?}"
        );
        let ours = &records[records.len() - 2];
        assert_eq!(ours["code"], 1001, "going away");
        assert!(!tail.contains(&("meta", "error")), "{tail:?}");
    })
    .await;
}

#[tokio::test]
async fn sscope_serve_refuses_a_port_in_use_with_a_hint() {
    within(async {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = taken.local_addr().expect("addr").port();
        let mut serve = Serve::start(port);
        let status = serve.exit().await;
        assert_eq!(status.code(), Some(1));
        let stderr = serve.line(|l| l.starts_with("sscope: ")).await;
        assert!(stderr.contains("--port"), "{stderr}");
    })
    .await;
}

#[tokio::test]
async fn sscope_serve_memory_budget_stops_recording_at_the_budget_given() {
    within(async {
        let mut serve = Serve::start_with(0, &["--memory-budget", "65536"]);
        let (_, base, token) = serve.ui_url().await;
        let (base, token) = (base.as_str(), token.as_str());
        let api = Api {
            base: base.to_owned(),
            token: token.to_owned(),
            client: http(),
        };
        let ws = base.replacen("http://", "ws://", 1);
        let id = api
            .open(json!({ "url": format!("{ws}/demo/ws/ticker?rate=100000") }))
            .await;
        let records = api
            .wait_records(&id, |r| r.last().is_some_and(|l| l["kind"] == "error"))
            .await;
        let error = records.last().expect("the error record");
        assert_eq!(error["cause"], "memory_budget", "{error}");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("budget of 0.06 MiB")),
            "{error}"
        );
        serve.signal("INT");
        let status = serve.exit().await;
        assert_eq!(status.code(), Some(0), "{status}");
    })
    .await;
}

/// Runs `sscope ARGS` to its end: exit code and stdout.
fn sscope_out(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(sscope_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run sscope");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn after_kill_9_the_session_opens_again_with_every_record_older_than_100_ms() {
    within(async {
        let mut serve = Serve::start(0);
        let (_, base, token) = serve.ui_url().await;
        let addr = base.trim_start_matches("http://").to_owned();
        let api = Api {
            base: base.clone(),
            token,
            client: http(),
        };
        // A steady stream, so records keep arriving up to the kill.
        let id = api
            .open(json!({ "url": format!("ws://{addr}/demo/ws/ticker?rate=2000") }))
            .await;
        let start = Instant::now();
        while api.view(&id).await["last_seq"].as_u64().unwrap_or(0) < 3000 {
            assert!(start.elapsed() < PATIENCE, "the ticker is not recording");
            sleep(Duration::from_millis(20)).await;
        }
        // The records up to here, page by page (the ticker goes on meanwhile).
        let last = api.view(&id).await["last_seq"].as_u64().expect("last_seq");
        let mut seen: Vec<Value> = Vec::new();
        while (seen.len() as u64) < last {
            let page = api
                .get(&format!(
                    "/api/connections/{id}/records?from={}&limit=5000",
                    seen.len() + 1
                ))
                .await
                .json();
            let records = page["records"].as_array().expect("records").clone();
            assert!(!records.is_empty());
            seen.extend(records);
        }
        let killed_at = std::time::SystemTime::now();
        serve.child.kill().expect("kill -9");
        let _ = serve.child.wait();

        let dir = serve.data_dir.to_string_lossy().into_owned();
        let (code, listed, err) = sscope_out(&["sessions", "--data-dir", &dir]);
        assert_eq!(code, 0, "{err}");
        let sessions: Vec<Value> = listed
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(sessions.len(), 1, "{listed}");
        for key in ["id", "name", "started", "conns", "records", "bytes"] {
            assert!(sessions[0].get(key).is_some(), "{key} in {listed}");
        }
        assert_eq!(sessions[0]["conns"], 1);
        let file = serve.data_dir.with_extension("export.ndjson");
        let (code, _, err) = sscope_out(&[
            "export",
            "--data-dir",
            &dir,
            &sessions[0]["id"].to_string(),
            "-o",
            &file.to_string_lossy(),
        ]);
        assert_eq!(code, 0, "{err}");
        let exported: Vec<Value> = std::fs::read_to_string(&file)
            .expect("the export")
            .lines()
            .map(|l| serde_json::from_str(l).expect("a record"))
            .collect();
        let _ = std::fs::remove_file(&file);
        // Gapless from 1: nothing half-written reads as a record.
        for (i, r) in exported.iter().enumerate() {
            assert_eq!(r["seq"].as_u64(), Some(i as u64 + 1));
        }
        let cutoff = killed_at - Duration::from_millis(100);
        let older: Vec<&Value> = seen
            .iter()
            .filter(|r| {
                let t = streamscope_engine::Timestamp::parse_rfc3339(r["t"].as_str().expect("t"))
                    .expect("a time");
                let at = std::time::UNIX_EPOCH + Duration::from_micros(t.0 as u64);
                at < cutoff
            })
            .collect();
        assert!(
            older.len() >= 1000,
            "{} records older than the cutoff",
            older.len()
        );
        assert!(
            exported.len() >= older.len(),
            "{} records came back, {} were older than 100 ms before the kill",
            exported.len(),
            older.len()
        );
        for r in older {
            let seq = r["seq"].as_u64().expect("seq") as usize;
            let mut back = exported[seq - 1].clone();
            // The export names the connection as it was recorded: c1 in that process.
            back["conn"] = r["conn"].clone();
            assert_eq!(&back, r, "record {seq} came back different");
        }
    })
    .await;
}
