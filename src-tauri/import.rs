//! `import_file`: the native open dialog for Import in the session library, and the hand
//! over of the chosen file to the embedded server (`POST /api/sessions/import`).
//!
//! The user names the file in the dialog; the page names nothing, so a page cannot make
//! the shell read a file of its choosing. The shell reads the file and posts it with the
//! launch token, so the file's bytes never pass through the webview. Which formats are
//! read, what a bad file is, and the session it becomes are the server's; this module
//! only carries the file and the server's answer (or its refusal) back to the UI.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::{Request, header};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use streamscope_server::sessions::MAX_IMPORT;
use tauri::{Url, WebviewWindow};
use tauri_plugin_dialog::DialogExt;
use tokio::net::TcpStream;

use crate::ShellState;
use crate::error::ShellError;

/// Connecting to our own loopback server takes microseconds; this only stops a wedged
/// server from hanging the command forever.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The server's answer is a session summary with its notes: small. More is not ours.
const MAX_ANSWER: usize = 1024 * 1024;

/// Asks which recording to import, then has the server import it. Returns the server's
/// answer (the new session's summary with `notes`), or `None` when the user cancelled.
#[tauri::command]
pub(crate) async fn import_file(
    window: WebviewWindow,
    state: tauri::State<'_, ShellState>,
) -> Result<Option<Value>, ShellError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    window
        .dialog()
        .file()
        .set_parent(&window)
        .set_title("Import a recording")
        .add_filter("Recordings (HAR, NDJSON)", &["har", "ndjson", "jsonl"])
        .pick_file(move |picked| {
            // The receiver is gone only when the command itself was dropped.
            let _ = tx.send(picked);
        });
    let Some(picked) = rx.await.ok().flatten() else {
        return Ok(None);
    };
    let path = picked
        .into_path()
        .map_err(|e| ShellError::new("io", format!("cannot read that file: {e}")))?;
    let name = file_name(&path);
    let bytes = read_bounded(&path).await?;
    post_import(state.addr, &state.token, &name, bytes)
        .await
        .map(Some)
}

/// The file's name: the server reads the format from its extension and names the
/// session after it.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "imported file".into())
}

/// The whole file, refused before it is read when it is larger than the server takes.
async fn read_bounded(path: &Path) -> Result<Bytes, ShellError> {
    let shown = path.display();
    let size = tokio::fs::metadata(path)
        .await
        .map_err(|e| ShellError::io(format!("reading {shown}"), e))?
        .len();
    if size > MAX_IMPORT as u64 {
        return Err(ShellError::new(
            "too_large",
            format!(
                "{shown} is {size} bytes: imports take at most {} MiB",
                MAX_IMPORT / (1024 * 1024)
            ),
        ));
    }
    tokio::fs::read(path)
        .await
        .map(Bytes::from)
        .map_err(|e| ShellError::io(format!("reading {shown}"), e))
}

/// `/api/sessions/import?name=…`, the name percent-encoded.
fn import_path(name: &str) -> String {
    let mut url = Url::parse("http://server/api/sessions/import").expect("a fixed, valid URL");
    url.query_pairs_mut().append_pair("name", name);
    format!("{}?{}", url.path(), url.query().unwrap_or_default())
}

/// Posts `body` to the server at `addr` as the file `name`; the server's JSON answer, or
/// its refusal's message (which names the line or entry that is wrong).
pub(crate) async fn post_import(
    addr: SocketAddr,
    token: &str,
    name: &str,
    body: Bytes,
) -> Result<Value, ShellError> {
    let unreachable = |e: &dyn std::fmt::Display| {
        ShellError::new(
            "unreachable",
            format!("cannot reach the app's server at {addr}: {e}"),
        )
    };
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|e| unreachable(&e))?
        .map_err(|e| unreachable(&e))?;
    let (mut sender, conn) = http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
        .await
        .map_err(|e| unreachable(&e))?;
    // The connection task ends when the response is read or the sender is dropped.
    tokio::spawn(conn);
    let request = Request::post(import_path(name))
        .header(header::HOST, addr.to_string())
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Full::new(body))
        .map_err(|e| ShellError::new("bad_path", e.to_string()))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| unreachable(&e))?;
    let status = response.status();
    let answer = Limited::new(response.into_body(), MAX_ANSWER)
        .collect()
        .await
        .map_err(|e| unreachable(&e))?
        .to_bytes();
    let json: Option<Value> = serde_json::from_slice(&answer).ok();
    if !status.is_success() {
        let message = json
            .as_ref()
            .and_then(|v| v.get("message"))
            .and_then(Value::as_str)
            .map_or_else(|| status.to_string(), str::to_owned);
        return Err(ShellError::new("refused", message));
    }
    json.ok_or_else(|| ShellError::new("refused", "the server's answer is not JSON"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamscope_server::{Server, ServerConfig};

    #[test]
    fn the_file_name_travels_percent_encoded() {
        assert_eq!(
            import_path("capture 1 & 2.har"),
            "/api/sessions/import?name=capture+1+%26+2.har"
        );
        assert_eq!(file_name(Path::new("/tmp/x/run.ndjson")), "run.ndjson");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_file_becomes_a_session_and_a_bad_one_is_refused_with_its_line() {
        tokio::time::timeout(Duration::from_secs(20), async {
            let dir = std::env::temp_dir()
                .join(format!("streamscope-shell-import-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let server = Server::start(ServerConfig {
                data_dir: Some(dir.clone()),
                ..ServerConfig::default()
            })
            .await
            .expect("server starts");
            let good = concat!(
                r#"{"t":"2026-01-02T03:04:05.000001Z","conn":"c1","proto":"ws","seq":1,"dir":"meta","kind":"open","status":101,"headers":{}}"#,
                "\n",
                r#"{"t":"2026-01-02T03:04:05.000002Z","conn":"c1","proto":"ws","seq":2,"dir":"in","kind":"text","size":2,"data":"hi"}"#,
                "\n"
            );
            let v = post_import(server.addr, &server.token, "run.ndjson", Bytes::from(good))
                .await
                .expect("imported");
            assert_eq!(v["name"], "run.ndjson");
            assert_eq!(v["records"], 2);
            assert!(v["notes"].is_array());

            let bad = Bytes::from(format!("{good}{{\"t\": 1}}\n"));
            let err = post_import(server.addr, &server.token, "bad.ndjson", bad)
                .await
                .expect_err("refused");
            assert_eq!(err.code, "refused");
            assert!(err.message.contains("line 3"), "{}", err.message);

            server.shutdown(Duration::from_secs(2)).await;
            let _ = std::fs::remove_dir_all(&dir);
        })
        .await
        .expect("test finished within its deadline");
    }
}
