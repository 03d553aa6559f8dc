//! `/api/sessions`: the library of recorded sessions. Listing, renaming and deleting go to
//! the library's catalogue; opening a past session shows its connections in this server's
//! session (closed, read-only), so panes, search, charts and exports work on them as on
//! live ones; exporting streams the session's records in time order from disk.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use streamscope_engine::recording::disk::{LibraryError, SessionSummary};
use streamscope_engine::recording::files::{self, FileFormat};
use streamscope_engine::recording::{Library, RecordStore, merge};
use streamscope_engine::session::Session;
use streamscope_engine::{ConnId, Proto};
use tokio::sync::mpsc;

use crate::error::ApiError;

/// Longest session name, in characters.
pub const MAX_SESSION_NAME: usize = 200;
/// The largest file an import takes: the readers' own bound.
pub const MAX_IMPORT: usize = streamscope_model::har::DEFAULT_MAX_INPUT;
/// Export chunks in flight between the reading thread and the response.
const EXPORT_CHUNKS: usize = 8;
const EXPORT_CHUNK: usize = 64 * 1024;

#[derive(Clone)]
pub struct SessionsState {
    session: Session,
    /// Past sessions opened here, and the connections that show them.
    opened: Arc<Mutex<HashMap<i64, Vec<Opened>>>>,
}

/// A connection that shows a past session's connection, with what opening it answered
/// besides the listing: a second open (another tab, a reloaded page) must get the same
/// settings and recorded ids as the first, or it could not connect again.
#[derive(Clone)]
struct Opened {
    id: ConnId,
    settings: Value,
    recorded_as: u32,
}

impl SessionsState {
    pub fn new(session: Session) -> Self {
        Self {
            session,
            opened: Arc::default(),
        }
    }

    fn library(&self) -> Result<(Arc<Library>, i64), ApiError> {
        self.session
            .library()
            .map(|(l, id)| (Arc::clone(l), id))
            .ok_or_else(|| {
                ApiError::Refused(
                    "this server keeps recordings in memory only (started with \
                     --memory-only): there is no session library"
                        .into(),
                )
            })
    }
}

pub fn router(state: SessionsState) -> Router {
    Router::new()
        .route("/sessions", get(list))
        .route(
            "/sessions/{sid}",
            axum::routing::patch(rename).delete(delete),
        )
        .route("/sessions/{sid}/open", post(open))
        .route("/sessions/{sid}/export", get(export))
        .route(
            "/sessions/import",
            post(import).layer(axum::extract::DefaultBodyLimit::max(MAX_IMPORT)),
        )
        .with_state(state)
}

fn lib_err(e: LibraryError) -> ApiError {
    match e {
        LibraryError::UnknownSession(id) => ApiError::NotFound(format!("no session {id}")),
        LibraryError::Live(_) => ApiError::Conflict(e.to_string()),
        LibraryError::Io(m) => ApiError::Refused(m),
    }
}

fn view(s: &SessionSummary) -> Value {
    let duration_ms = s.ended.map(|e| ((e.0 - s.started.0).max(0)) / 1000);
    json!({
        "id": s.id,
        "name": s.name,
        "started": s.started.to_string(),
        "ended": s.ended.map(|t| t.to_string()),
        "duration_ms": duration_ms,
        "conns": s.conns,
        "records": s.records,
        "bytes": s.bytes,
        "origin": s.origin,
        "live": s.live,
    })
}

fn sid_of(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::NotFound(format!("no session {raw:?}: ids are numbers")))
}

async fn list(State(state): State<SessionsState>) -> Result<Json<Value>, ApiError> {
    let Some((lib, live)) = state.session.library().map(|(l, id)| (Arc::clone(l), id)) else {
        return Ok(Json(
            json!({ "sessions": [], "recording": null, "disk": null }),
        ));
    };
    let sessions = tokio::task::spawn_blocking(move || lib.sessions().map(|s| (s, lib.disk_use())))
        .await
        .map_err(|e| ApiError::Refused(e.to_string()))?
        .map_err(lib_err)?;
    let (list, (used, budget)) = sessions;
    Ok(Json(json!({
        "sessions": list.iter().rev().map(view).collect::<Vec<_>>(),
        "recording": live,
        "disk": { "used": used, "budget": budget },
    })))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Rename {
    name: String,
}

async fn rename(
    State(state): State<SessionsState>,
    Path(sid): Path<String>,
    body: Result<Json<Rename>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let sid = sid_of(&sid)?;
    let Json(Rename { name }) = body.map_err(|e| {
        ApiError::InvalidJson(format!("send {{\"name\": \"…\"}}: {}", e.body_text()))
    })?;
    let name = name.trim().to_owned();
    if name.is_empty()
        || name.chars().count() > MAX_SESSION_NAME
        || name.chars().any(char::is_control)
    {
        return Err(ApiError::BadRequest(format!(
            "a session name is 1 to {MAX_SESSION_NAME} characters on one line"
        )));
    }
    let (lib, _) = state.library()?;
    let summary = tokio::task::spawn_blocking(move || {
        lib.rename(sid, &name)?;
        lib.session(sid)
    })
    .await
    .map_err(|e| ApiError::Refused(e.to_string()))?
    .map_err(lib_err)?;
    Ok(Json(view(&summary)))
}

async fn delete(
    State(state): State<SessionsState>,
    Path(sid): Path<String>,
) -> Result<StatusCode, ApiError> {
    let sid = sid_of(&sid)?;
    let (lib, _) = state.library()?;
    // Connections showing it go first: they read its files.
    let shown = state
        .opened
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&sid)
        .unwrap_or_default();
    for o in shown {
        let _ = state.session.forget(o.id);
    }
    tokio::task::spawn_blocking(move || lib.delete(sid))
        .await
        .map_err(|e| ApiError::Refused(e.to_string()))?
        .map_err(lib_err)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn open(
    State(state): State<SessionsState>,
    Path(sid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let sid = sid_of(&sid)?;
    let (lib, live) = state.library()?;
    if sid == live {
        return Err(ApiError::BadRequest(
            "this is the session recording now: its connections are already here".into(),
        ));
    }
    let listed = |ids: &[ConnId]| -> Vec<Value> {
        let views = state.session.briefs_of(ids);
        views
            .iter()
            .map(|b| {
                json!({
                    "id": b.listing.id.to_string(),
                    "proto": match b.listing.proto { Proto::Ws => "ws", Proto::Sse => "sse" },
                    "url": b.listing.url,
                    "name": b.listing.name,
                })
            })
            .collect()
    };
    let already = state
        .opened
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&sid)
        .cloned();
    if let Some(opened) = already {
        let ids: Vec<ConnId> = opened.iter().map(|o| o.id).collect();
        let mut still = listed(&ids);
        if still.len() == ids.len() {
            for (c, o) in still.iter_mut().zip(&opened) {
                c["settings"] = o.settings.clone();
                c["recorded_as"] = json!(ConnId(o.recorded_as).to_string());
            }
            return Ok(Json(json!({ "session": sid, "conns": still })));
        }
    }
    let session = state.session.clone();
    let attached =
        tokio::task::spawn_blocking(move || -> Result<Vec<(ConnId, Value, u32)>, LibraryError> {
            let stores = lib.open_session(sid, |row| ConnId(row.conn))?;
            let mut out = Vec::with_capacity(stores.len());
            for (row, store) in stores {
                let settings = row
                    .settings
                    .as_deref()
                    .and_then(|s| serde_json::from_str::<Value>(s).ok())
                    .unwrap_or(Value::Null);
                let id = session.attach(row.proto, row.url, row.name, move |id| {
                    Box::new(store.renamed(id)) as Box<dyn RecordStore>
                });
                out.push((id, settings, row.conn));
            }
            Ok(out)
        })
        .await
        .map_err(|e| ApiError::Refused(e.to_string()))?
        .map_err(lib_err)?;
    let ids: Vec<ConnId> = attached.iter().map(|(id, _, _)| *id).collect();
    state
        .opened
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(
            sid,
            attached
                .iter()
                .map(|(id, settings, was)| Opened {
                    id: *id,
                    settings: settings.clone(),
                    recorded_as: *was,
                })
                .collect(),
        );
    let mut conns = listed(&ids);
    for (c, (_, settings, was)) in conns.iter_mut().zip(&attached) {
        c["settings"] = settings.clone();
        // The id it had while it was recorded, for panes that showed it then.
        c["recorded_as"] = json!(ConnId(*was).to_string());
    }
    Ok(Json(json!({ "session": sid, "conns": conns })))
}

/// Sends what is written to it, in chunks, to an async body.
struct ChunkWriter {
    buf: Vec<u8>,
    tx: mpsc::Sender<Result<bytes::Bytes, std::io::Error>>,
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= EXPORT_CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = bytes::Bytes::from(std::mem::take(&mut self.buf));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::other("the download was abandoned"))
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    keep_secrets: bool,
}

async fn export(
    State(state): State<SessionsState>,
    Path(sid): Path<String>,
    query: Result<axum::extract::Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let sid = sid_of(&sid)?;
    let axum::extract::Query(q) = query.map_err(|e| {
        ApiError::BadRequest(format!(
            "export takes format=ndjson|har and keep_secrets=true|false: {}",
            e.body_text()
        ))
    })?;
    let har = match q.format.as_deref() {
        None | Some("ndjson") => false,
        Some("har") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "format {other:?}: a session exports as ndjson or har"
            )));
        }
    };
    let (lib, _) = state.library()?;
    let summary = {
        let lib = Arc::clone(&lib);
        tokio::task::spawn_blocking(move || lib.session(sid))
            .await
            .map_err(|e| ApiError::Refused(e.to_string()))?
            .map_err(lib_err)?
    };
    let (tx, mut rx) = mpsc::channel(EXPORT_CHUNKS);
    tokio::task::spawn_blocking(move || {
        // What the writer holds goes to disk first: an export of the session recording
        // now has every block sealed up to here.
        lib.flush();
        let stores = match lib.open_session(sid, |row| ConnId(row.conn)) {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                return;
            }
        };
        let refs: Vec<&dyn RecordStore> =
            stores.iter().map(|(_, s)| s as &dyn RecordStore).collect();
        let mut w = ChunkWriter {
            buf: Vec::with_capacity(EXPORT_CHUNK),
            tx: tx.clone(),
        };
        let written = if har {
            let with_urls: Vec<(String, &dyn RecordStore)> = stores
                .iter()
                .map(|(row, s)| (row.url.clone(), s as &dyn RecordStore))
                .collect();
            files::write_har(&with_urls, q.keep_secrets, &mut w).and_then(|()| w.flush())
        } else {
            merge::write_ndjson(&refs, &mut w)
        };
        if let Err(e) = written {
            // The body ends with an error: a failed download, not a shorter file.
            let _ = tx.blocking_send(Err(e));
        }
    });
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let (ext, mime) = if har {
        ("har", "application/json")
    } else {
        ("ndjson", "application/x-ndjson")
    };
    let file = format!("streamscope-session-{}.{ext}", summary.id);
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        axum::body::Body::from_stream(body),
    )
        .into_response())
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    /// The file's name: its extension says the format, and it names the session.
    #[serde(default)]
    name: Option<String>,
}

/// `POST /api/sessions/import?name=FILE`: the body is an NDJSON or HAR file; it becomes a
/// session of the library (nothing of it when it is refused).
async fn import(
    State(state): State<SessionsState>,
    query: Result<axum::extract::Query<ImportQuery>, axum::extract::rejection::QueryRejection>,
    body: bytes::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let axum::extract::Query(q) = query
        .map_err(|e| ApiError::BadRequest(format!("import takes name=FILE: {}", e.body_text())))?;
    let (lib, _) = state.library()?;
    let name = q
        .name
        .map(|n| {
            n.trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_SESSION_NAME)
                .collect::<String>()
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "imported file".to_owned());
    if body.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "{name} is empty: nothing to import"
        )));
    }
    let format = FileFormat::of_name(&name).unwrap_or_else(|| FileFormat::sniff(&body));
    let summary =
        tokio::task::spawn_blocking(move || -> Result<(SessionSummary, Vec<String>), ApiError> {
            let (conns, notes) = files::read_recordings(&body, format, &name)
                .map_err(|e| ApiError::BadRequest(format!("{name}: {e}")))?;
            if conns.is_empty() {
                let mut why = format!("{name} holds no WebSocket or SSE connection to import");
                if let Some(n) = notes.last() {
                    why.push_str(&format!(" ({n})"));
                }
                return Err(ApiError::BadRequest(why));
            }
            let id = lib.import(&name, conns).map_err(lib_err)?;
            Ok((lib.session(id).map_err(lib_err)?, notes))
        })
        .await
        .map_err(|e| ApiError::Refused(e.to_string()))??;
    let (summary, notes) = summary;
    let mut v = view(&summary);
    v["notes"] = json!(notes);
    Ok((StatusCode::CREATED, Json(v)))
}
