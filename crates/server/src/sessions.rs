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
use streamscope_engine::recording::{Library, RecordStore, merge};
use streamscope_engine::session::Session;
use streamscope_engine::{ConnId, Proto};
use tokio::sync::mpsc;

use crate::error::ApiError;

/// Longest session name, in characters.
pub const MAX_SESSION_NAME: usize = 200;
/// Export chunks in flight between the reading thread and the response.
const EXPORT_CHUNKS: usize = 8;
const EXPORT_CHUNK: usize = 64 * 1024;

#[derive(Clone)]
pub struct SessionsState {
    session: Session,
    /// Past sessions opened here, and the connections that show them.
    opened: Arc<Mutex<HashMap<i64, Vec<ConnId>>>>,
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
    for id in shown {
        let _ = state.session.forget(id);
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
    if let Some(ids) = already {
        let still = listed(&ids);
        if still.len() == ids.len() {
            return Ok(Json(json!({ "session": sid, "conns": still })));
        }
    }
    let session = state.session.clone();
    let ids = tokio::task::spawn_blocking(move || -> Result<Vec<ConnId>, LibraryError> {
        // Ids are given as each store is attached; the store is made first, under a
        // placeholder, and renamed by attach.
        let stores = lib.open_session(sid, |row| ConnId(row.conn))?;
        let mut ids = Vec::with_capacity(stores.len());
        for (row, store) in stores {
            let id = session.attach(row.proto, row.url, row.name, move |id| {
                Box::new(store.renamed(id)) as Box<dyn RecordStore>
            });
            ids.push(id);
        }
        Ok(ids)
    })
    .await
    .map_err(|e| ApiError::Refused(e.to_string()))?
    .map_err(lib_err)?;
    state
        .opened
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(sid, ids.clone());
    Ok(Json(json!({ "session": sid, "conns": listed(&ids) })))
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

async fn export(
    State(state): State<SessionsState>,
    Path(sid): Path<String>,
) -> Result<Response, ApiError> {
    let sid = sid_of(&sid)?;
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
        if let Err(e) = merge::write_ndjson(&refs, &mut w) {
            // The body ends with an error: a failed download, not a shorter file.
            let _ = tx.blocking_send(Err(e));
        }
    });
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let file = format!("streamscope-session-{}.ndjson", summary.id);
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        axum::body::Body::from_stream(body),
    )
        .into_response())
}
