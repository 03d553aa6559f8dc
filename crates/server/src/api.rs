//! The control API under `/api`: open connections with every engine option, send,
//! close, list, page through records by `seq`, export NDJSON. The live record stream
//! is in `ui_socket`.
//!
//! Handlers validate everything a client sends and answer with an [`ApiError`]; none
//! can disturb another connection.

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use streamscope_engine::conn::sse::Method;
use streamscope_engine::session::{ConnBrief, Session};
use streamscope_engine::{
    Command, CommonOptions, ConnId, Record, SseOptions, TlsOptions, WsOptions,
};
use streamscope_model::input::{AuthError, basic_header, bearer_header, parse_header, parse_hex};

use crate::error::ApiError;

/// The largest request body the API reads: room for a large binary message in base64,
/// a firm stop for anything else.
pub const MAX_BODY: usize = 16 << 20;

/// Most records one page returns.
pub const MAX_PAGE: usize = 10_000;

pub fn router(session: Session) -> Router {
    Router::new()
        .route("/connections", get(list).post(open))
        .route("/connections/{id}", get(one).patch(rename).delete(forget))
        .route("/connections/{id}/records", get(records))
        .route("/connections/{id}/export", get(export))
        .route("/connections/{id}/send", post(send))
        .route("/connections/{id}/close", post(close))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(session)
}

fn conn_id(text: &str) -> Result<ConnId, ApiError> {
    text.parse::<ConnId>()
        .map_err(|_| ApiError::NotFound(format!("{text:?} is not a connection id (c1, c2, …)")))
}

/// A connection as the API shows it.
#[derive(Debug, Serialize)]
pub struct ConnView {
    pub id: String,
    pub proto: &'static str,
    pub url: String,
    pub name: String,
    pub state: &'static str,
    pub since: String,
    pub last_seq: u64,
    pub recorded_bytes: usize,
    pub totals: CountsView,
    /// The last complete second.
    pub rate: CountsView,
}

#[derive(Debug, Serialize, Default)]
pub struct CountsView {
    pub events_in: u64,
    pub events_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl From<streamscope_model::stats::Counts> for CountsView {
    fn from(c: streamscope_model::stats::Counts) -> Self {
        CountsView {
            events_in: c.events_in,
            events_out: c.events_out,
            bytes_in: c.bytes_in,
            bytes_out: c.bytes_out,
        }
    }
}

impl From<&ConnBrief> for ConnView {
    fn from(s: &ConnBrief) -> Self {
        ConnView {
            id: s.id.to_string(),
            proto: s.proto.as_str(),
            url: s.url.clone(),
            name: s.name.clone(),
            state: s.state.as_str(),
            since: s.since.to_string(),
            last_seq: s.last_seq,
            recorded_bytes: s.recorded_bytes,
            totals: s.totals.into(),
            rate: s.rate.into(),
        }
    }
}

/// `POST /api/connections`: every option of the engine, most optional.
#[derive(Debug, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct OpenRequest {
    /// `ws` or `sse`; by default from the URL's scheme.
    pub proto: Option<String>,
    pub url: String,
    pub name: Option<String>,
    /// `[["Name", "value"], …]` or `["Name: value", …]`.
    pub headers: Vec<HeaderSpec>,
    pub subprotocols: Vec<String>,
    pub bearer: Option<String>,
    pub basic: Option<String>,
    pub insecure: bool,
    pub ca_file: Option<String>,
    pub connect_timeout_secs: Option<f64>,
    // WebSocket
    pub ping_interval_secs: Option<f64>,
    pub pong_timeout_secs: Option<f64>,
    pub max_message: Option<usize>,
    pub max_frame: Option<usize>,
    // SSE
    pub method: Option<String>,
    pub body: Option<String>,
    pub last_event_id: Option<String>,
    pub reconnect: Option<bool>,
    pub retry_ms: Option<u64>,
    pub max_attempts: Option<u32>,
    pub backoff: bool,
    pub idle_timeout_secs: Option<f64>,
    pub max_line: Option<usize>,
    pub max_event: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum HeaderSpec {
    Pair(String, String),
    Line(String),
}

fn secs(v: Option<f64>, what: &str) -> Result<Option<Duration>, ApiError> {
    match v {
        None => Ok(None),
        Some(s) if s.is_finite() && s > 0.0 && s < 1e9 => Ok(Some(Duration::from_secs_f64(s))),
        Some(s) => Err(ApiError::BadRequest(format!(
            "{what} must be a positive number of seconds, not {s}"
        ))),
    }
}

fn common(req: &OpenRequest) -> Result<CommonOptions, ApiError> {
    let mut headers = Vec::new();
    for h in &req.headers {
        let line = match h {
            HeaderSpec::Pair(n, v) => format!("{n}: {v}"),
            HeaderSpec::Line(l) => l.clone(),
        };
        headers.push(parse_header(&line).map_err(|e| ApiError::BadRequest(e.to_string()))?);
    }
    let refused = |e: AuthError| ApiError::BadRequest(e.to_string());
    if let Some(t) = &req.bearer {
        headers.push(bearer_header(t).map_err(refused)?);
    }
    if let Some(pair) = &req.basic {
        headers.push(basic_header(pair).map_err(refused)?);
    }
    Ok(CommonOptions {
        headers,
        tls: TlsOptions {
            insecure: req.insecure,
            ca_file: req.ca_file.as_ref().map(Into::into),
        },
        connect_timeout: secs(req.connect_timeout_secs, "connect_timeout_secs")?
            .unwrap_or(Duration::from_secs(10)),
        count: None,
        deadline: None,
    })
}

fn parse_url(text: &str) -> Result<url::Url, ApiError> {
    url::Url::parse(text.trim()).map_err(|e| {
        ApiError::InvalidUrl(format!(
            "{text:?} is not a valid URL ({e}); write it like ws://host/path or https://host/events"
        ))
    })
}

async fn open(
    State(session): State<Session>,
    body: Result<Json<OpenRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body?;
    let url = parse_url(&req.url)?;
    let proto = match req.proto.as_deref() {
        Some("ws") => "ws",
        Some("sse") => "sse",
        None => match url.scheme() {
            "ws" | "wss" => "ws",
            "http" | "https" => "sse",
            other => {
                return Err(ApiError::InvalidUrl(format!(
                    "scheme {other:?} is neither WebSocket (ws://, wss://) nor SSE (http://, https://)"
                )));
            }
        },
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "proto {other:?} is neither \"ws\" nor \"sse\""
            )));
        }
    };
    let scheme_fits = match proto {
        "ws" => matches!(url.scheme(), "ws" | "wss"),
        _ => matches!(url.scheme(), "http" | "https"),
    };
    if !scheme_fits || url.host_str().is_none_or(str::is_empty) {
        return Err(ApiError::InvalidUrl(format!(
            "{} is not a {proto} URL with a host",
            req.url
        )));
    }
    let common = common(&req)?;
    let id = if proto == "ws" {
        let mut o = WsOptions::new(url);
        o.common = common;
        o.subprotocols = req.subprotocols.clone();
        o.ping_interval = secs(req.ping_interval_secs, "ping_interval_secs")?;
        o.pong_timeout = secs(req.pong_timeout_secs, "pong_timeout_secs")?;
        if let Some(m) = req.max_message.filter(|&m| m > 0) {
            o.max_message = m;
        }
        if let Some(m) = req.max_frame.filter(|&m| m > 0) {
            o.max_frame = m;
        }
        session.open_ws(o, req.name.clone())
    } else {
        let mut o = SseOptions::new(url);
        o.common = common;
        o.method = match req
            .method
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            None if req.body.is_some() => Method::POST,
            None | Some("GET") => Method::GET,
            Some("POST") => Method::POST,
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "method {other:?}: use GET or POST"
                )));
            }
        };
        o.body = req.body.clone();
        o.last_event_id = req.last_event_id.clone();
        o.reconnect = req.reconnect.unwrap_or(true);
        if let Some(ms) = req.retry_ms {
            o.retry = Duration::from_millis(ms);
        }
        o.max_attempts = req.max_attempts;
        o.backoff = req.backoff;
        o.idle_timeout = secs(req.idle_timeout_secs, "idle_timeout_secs")?;
        if let Some(m) = req.max_line.filter(|&m| m > 0) {
            o.limits.max_line = m;
        }
        if let Some(m) = req.max_event.filter(|&m| m > 0) {
            o.limits.max_event = m;
        }
        session.open_sse(o, req.name.clone())
    };
    let view = ConnView::from(&session.brief(id)?);
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn list(State(session): State<Session>) -> Json<Vec<ConnView>> {
    Json(session.briefs().iter().map(ConnView::from).collect())
}

async fn one(
    State(session): State<Session>,
    Path(id): Path<String>,
) -> Result<Json<ConnView>, ApiError> {
    let id = conn_id(&id)?;
    Ok(Json(ConnView::from(&session.brief(id)?)))
}

/// Longest connection name accepted: a pane's title, not a document.
pub const MAX_NAME: usize = 200;

/// `PATCH /api/connections/{id}`: what may change on a connection after it opened.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    pub name: String,
}

async fn rename(
    State(session): State<Session>,
    Path(id): Path<String>,
    body: Result<Json<Rename>, JsonRejection>,
) -> Result<Json<ConnView>, ApiError> {
    let id = conn_id(&id)?;
    let Json(body) = body?;
    if body.name.chars().count() > MAX_NAME {
        return Err(ApiError::BadRequest(format!(
            "name: at most {MAX_NAME} characters, not {}",
            body.name.chars().count()
        )));
    }
    session.rename(id, &body.name)?;
    Ok(Json(ConnView::from(&session.brief(id)?)))
}

async fn forget(
    State(session): State<Session>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    session.forget(conn_id(&id)?)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct Page {
    from: Option<u64>,
    limit: Option<usize>,
}

#[derive(Debug, Serialize)]
struct PageView {
    records: Vec<Record>,
    /// The `from` of the next page.
    next: u64,
    last_seq: u64,
}

async fn records(
    State(session): State<Session>,
    Path(id): Path<String>,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Json<PageView>, ApiError> {
    let id = conn_id(&id)?;
    let Query(page) = page?;
    let from = page.from.unwrap_or(1);
    let limit = page.limit.unwrap_or(1000).min(MAX_PAGE);
    let mut out = Vec::with_capacity(limit.min(1024));
    session.records(id, from, limit, &mut out)?;
    let last_seq = session.brief(id)?.last_seq;
    let next = out.last().map(|r| r.seq + 1).unwrap_or(from);
    Ok(Json(PageView {
        records: out,
        next,
        last_seq,
    }))
}

/// Records per page of an export: the session's lock is held only while one page is read,
/// so a long recording never stalls the connections or the API, and the export holds
/// one page in memory, not the whole file.
const EXPORT_PAGE: usize = 1024;

async fn export(
    State(session): State<Session>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = conn_id(&id)?;
    // The export is the recording as it stands now; records that arrive meanwhile are
    // left for the next export (or the live socket).
    let last = session.brief(id)?.last_seq;
    let pages = futures_util::stream::unfold(1u64, move |next| {
        let session = session.clone();
        async move {
            if next > last {
                return None;
            }
            let mut records = Vec::with_capacity(EXPORT_PAGE);
            let want = usize::try_from(last - next + 1).map_or(EXPORT_PAGE, |n| n.min(EXPORT_PAGE));
            let page = session.records(id, next, want, &mut records);
            let mut buf = Vec::with_capacity(records.len() * 160);
            let mut expected = next;
            for r in &records {
                if r.seq != expected {
                    break;
                }
                r.write_ndjson(&mut buf);
                expected += 1;
            }
            if page.is_err() || expected == next {
                // Forgotten meanwhile, or a record that cannot be read back: end the body
                // with an error, so the client sees a failed download, not a shorter file.
                let e = std::io::Error::other(format!("{id}: record {next} cannot be read"));
                return Some((Err(e), last + 1));
            }
            Some((Ok(bytes::Bytes::from(buf)), expected))
        }
    });
    let disposition = format!("attachment; filename=\"streamscope-{id}.ndjson\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        axum::body::Body::from_stream(pages),
    )
        .into_response())
}

/// `POST /api/connections/{id}/send`.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum SendRequest {
    Text {
        data: String,
    },
    /// Checked to be JSON, then sent as a text message.
    Json {
        data: String,
    },
    Binary {
        #[serde(default)]
        hex: Option<String>,
        #[serde(default)]
        base64: Option<String>,
    },
    Ping {
        #[serde(default)]
        hex: Option<String>,
        #[serde(default)]
        text: Option<String>,
    },
    Close {
        #[serde(default = "normal_close")]
        code: u16,
        #[serde(default)]
        reason: String,
    },
}

fn normal_close() -> u16 {
    1000
}

fn bytes_from(
    hex: Option<&str>,
    b64: Option<&str>,
    text: Option<&str>,
) -> Result<Vec<u8>, ApiError> {
    match (hex, b64, text) {
        (Some(h), None, None) => {
            parse_hex(h).map_err(|e| ApiError::BadRequest(format!("hex: {e}")))
        }
        (None, Some(b), None) => base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .map_err(|e| ApiError::BadRequest(format!("base64: {e}"))),
        (None, None, Some(t)) => Ok(t.as_bytes().to_vec()),
        (None, None, None) => Ok(Vec::new()),
        _ => Err(ApiError::BadRequest(
            "give the payload one way only (hex, base64 or text)".into(),
        )),
    }
}

async fn send(
    State(session): State<Session>,
    Path(id): Path<String>,
    body: Result<Json<SendRequest>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let id = conn_id(&id)?;
    let Json(req) = body?;
    let cmd = match req {
        SendRequest::Text { data } => Command::Text(data),
        SendRequest::Json { data } => {
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&data) {
                return Err(ApiError::InvalidJson(format!(
                    "not sent: the message is not valid JSON (line {}, column {}: {e})",
                    e.line(),
                    e.column()
                )));
            }
            Command::Text(data)
        }
        SendRequest::Binary { hex, base64 } => {
            Command::Binary(bytes_from(hex.as_deref(), base64.as_deref(), None)?.into())
        }
        SendRequest::Ping { hex, text } => {
            Command::Ping(bytes_from(hex.as_deref(), None, text.as_deref())?.into())
        }
        SendRequest::Close { code, reason } => Command::Close { code, reason },
    };
    session.send(id, cmd).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn close(
    State(session): State<Session>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    session.close(conn_id(&id)?).await?;
    Ok(StatusCode::ACCEPTED)
}
