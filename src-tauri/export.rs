//! `save_export`: the native save dialog for an export the embedded server serves, and the
//! copy from the server to the file the user picked.
//!
//! The UI names what to save (an `/api/…` path on our own server, e.g. a connection's
//! NDJSON export); the user names where, in the dialog. The page never hands the shell a
//! file path, so a page cannot write files of its own choosing. The body is streamed to
//! disk, so a large recording never passes through the webview; it goes to a `.part` file
//! beside the target first and is renamed into place only when complete, so a failed
//! export neither leaves half a file nor clobbers the one that was there.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::http::uri::PathAndQuery;
use hyper::{Request, header};
use hyper_util::rt::TokioIo;
use tauri::{Manager, WebviewWindow};
use tauri_plugin_dialog::DialogExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::ShellState;
use crate::error::ShellError;

/// Connecting to our own loopback server takes microseconds; this only stops a wedged
/// server from hanging the command forever.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How much of an error response is read for its message.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Asks where to save `filename`, then copies `path` from the embedded server there.
/// Returns `false` when the user cancelled the dialog.
#[tauri::command]
pub(crate) async fn save_export(
    window: WebviewWindow,
    state: tauri::State<'_, ShellState>,
    path: String,
    filename: String,
) -> Result<bool, ShellError> {
    let path = api_path(&path)?;
    let filename = plain_file_name(&filename);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut dialog = window
        .dialog()
        .file()
        .set_parent(&window)
        .set_title("Save export")
        .set_file_name(&filename)
        .set_can_create_directories(true);
    // Exports land where downloads do, unless the user goes elsewhere.
    if let Some(dir) = window.path().download_dir().ok().filter(|d| d.is_dir()) {
        dialog = dialog.set_directory(dir);
    }
    if let Some((name, ext)) = filter_for(&filename) {
        dialog = dialog.add_filter(name, &[ext]);
    }
    dialog.save_file(move |picked| {
        // The receiver is gone only when the command itself was dropped.
        let _ = tx.send(picked);
    });
    let Some(picked) = rx.await.ok().flatten() else {
        return Ok(false);
    };
    let dest = picked
        .into_path()
        .map_err(|e| ShellError::new("io", format!("cannot save there: {e}")))?;
    copy_to_file(state.addr, &state.token, &path, &dest).await?;
    Ok(true)
}

/// Only paths under `/api/` on our own server: no scheme, no host, no `..`.
pub(crate) fn api_path(path: &str) -> Result<PathAndQuery, ShellError> {
    let bad = || {
        ShellError::new(
            "bad_path",
            format!("not an export path on this app's server: {path}"),
        )
    };
    if !path.starts_with("/api/") || path.split(['/', '?']).any(|s| s == ".." || s == ".") {
        return Err(bad());
    }
    path.parse::<PathAndQuery>().map_err(|_| bad())
}

/// The last path segment of what the UI suggested, so the dialog starts in a sensible place.
fn plain_file_name(name: &str) -> String {
    let name = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    if name.is_empty() || name == "." || name == ".." {
        "export".into()
    } else {
        name.into()
    }
}

/// A file-type filter for the dialog from the suggested name's extension.
fn filter_for(filename: &str) -> Option<(&'static str, &'static str)> {
    let ext = Path::new(filename).extension()?.to_str()?;
    Some(match ext.to_ascii_lowercase().as_str() {
        "ndjson" => ("NDJSON records", "ndjson"),
        "har" => ("HTTP Archive (HAR)", "har"),
        "json" => ("JSON", "json"),
        "png" => ("PNG image", "png"),
        "svg" => ("SVG image", "svg"),
        "csv" => ("CSV", "csv"),
        _ => return None,
    })
}

/// GETs `path` from the server at `addr` with the launch token and streams the body to
/// `dest`. Returns the number of bytes written.
pub(crate) async fn copy_to_file(
    addr: SocketAddr,
    token: &str,
    path: &PathAndQuery,
    dest: &Path,
) -> Result<u64, ShellError> {
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
    let (mut sender, conn) = http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
        .await
        .map_err(|e| unreachable(&e))?;
    // The connection task ends when the response body is done or the sender is dropped.
    tokio::spawn(conn);
    let request = Request::get(path.as_str())
        .header(header::HOST, addr.to_string())
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Empty::new())
        .map_err(|e| ShellError::new("bad_path", e.to_string()))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| unreachable(&e))?;
    let status = response.status();
    let mut body = response.into_body();
    if !status.is_success() {
        let mut text = Vec::new();
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                text.extend_from_slice(&data);
            }
            if text.len() > MAX_ERROR_BODY {
                break;
            }
        }
        return Err(ShellError::new(
            "refused",
            format!(
                "the server refused {path}: {}",
                error_message(status, &text)
            ),
        ));
    }

    let part = part_path(dest);
    let result = async {
        let mut file = tokio::fs::File::create(&part)
            .await
            .map_err(|e| ShellError::io(format!("creating {}", part.display()), e))?;
        let mut written = 0u64;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                ShellError::new(
                    "unreachable",
                    format!("the export of {path} broke off: {e}"),
                )
            })?;
            if let Ok(data) = frame.into_data() {
                file.write_all(&data)
                    .await
                    .map_err(|e| ShellError::io(format!("writing {}", part.display()), e))?;
                written += data.len() as u64;
            }
        }
        file.sync_all()
            .await
            .map_err(|e| ShellError::io(format!("writing {}", part.display()), e))?;
        drop(file);
        tokio::fs::rename(&part, dest)
            .await
            .map_err(|e| ShellError::io(format!("saving {}", dest.display()), e))?;
        Ok(written)
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&part).await;
    }
    result
}

/// `.name.part` beside `dest`, so the rename stays on one file system.
fn part_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export".into());
    dest.with_file_name(format!(".{name}.part"))
}

/// The server's `{"code", "message"}` when it sent one, else the status line.
fn error_message(status: hyper::StatusCode, body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ApiError {
        message: String,
    }
    match serde_json::from_slice::<ApiError>(body) {
        Ok(e) => format!("{status}: {}", e.message),
        Err(_) => status.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamscope_server::{Server, ServerConfig};

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("streamscope-shell-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn only_api_paths_on_our_server_are_exported() {
        assert!(api_path("/api/connections/c1/export").is_ok());
        assert!(api_path("/api/connections/c1/export?format=ndjson").is_ok());
        for bad in [
            "http://evil.example/api/x",
            "//evil.example/api/x",
            "/demo/ws/echo",
            "/api/../etc/passwd",
            "/api/./x",
            "api/x",
            "/api/x y",
            "",
        ] {
            assert_eq!(api_path(bad).map_err(|e| e.code), Err("bad_path"), "{bad}");
        }
    }

    #[test]
    fn suggested_names_lose_their_directories() {
        assert_eq!(plain_file_name("../../.bashrc"), ".bashrc");
        assert_eq!(plain_file_name("/etc/c1.ndjson"), "c1.ndjson");
        assert_eq!(plain_file_name(".."), "export");
        assert_eq!(plain_file_name(""), "export");
        assert_eq!(filter_for("c1.NDJSON"), Some(("NDJSON records", "ndjson")));
        assert_eq!(filter_for("noext"), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn export_is_copied_from_the_server_and_refusals_leave_no_file() {
        let deadline = Duration::from_secs(20);
        tokio::time::timeout(deadline, async {
            let server = Server::start(ServerConfig::default())
                .await
                .expect("server starts");
            let dir = temp_dir("export");

            // The list of connections is JSON the server always has: a real GET through the guard.
            let dest = dir.join("connections.json");
            let n = copy_to_file(
                server.addr,
                &server.token,
                &api_path("/api/connections").unwrap(),
                &dest,
            )
            .await
            .expect("copied");
            let saved = std::fs::read(&dest).expect("saved file");
            assert_eq!(saved.len() as u64, n);
            serde_json::from_slice::<serde_json::Value>(&saved).expect("valid JSON");
            assert!(!part_path(&dest).exists());

            // A wrong token is refused with the server's message, and nothing is written.
            let dest = dir.join("refused.json");
            let err = copy_to_file(
                server.addr,
                "not-the-token",
                &api_path("/api/connections").unwrap(),
                &dest,
            )
            .await
            .expect_err("refused");
            assert_eq!(err.code, "refused");
            assert!(err.message.contains("401"), "{}", err.message);
            assert!(!dest.exists() && !part_path(&dest).exists());

            // An unknown connection's export: refused too.
            let err = copy_to_file(
                server.addr,
                &server.token,
                &api_path("/api/connections/nope/export").unwrap(),
                &dest,
            )
            .await
            .expect_err("no such connection");
            assert_eq!(err.code, "refused");
            assert!(!dest.exists());

            server.shutdown(Duration::from_secs(2)).await;
            let err = copy_to_file(closed_port(), "t", &api_path("/api/x").unwrap(), &dest)
                .await
                .expect_err("nothing listening");
            assert_eq!(err.code, "unreachable");
            let _ = std::fs::remove_dir_all(&dir);
        })
        .await
        .expect("test finished within its deadline");
    }

    /// A loopback port nothing listens on: bind one, note it, close it.
    fn closed_port() -> SocketAddr {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    }
}
