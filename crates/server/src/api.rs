//! The control API under `/api`: open connections with every engine option, send,
//! close, list, page through records by `seq`, export NDJSON. The live record stream
//! is in `ui_socket`.
//!
//! Handlers validate everything a client sends and answer with an [`ApiError`]; none
//! can disturb another connection.

use axum::Json;
use axum::Router;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use streamscope_engine::open::{Field, OpenSpec, Plan, SpecError};
use streamscope_engine::session::{
    ConnBrief, ConnListing, MAX_SCAN_RECORDS, SearchBounds, SearchPage, SearchQuery, Session,
};
use streamscope_engine::{Command, ConnId, Dir, Record};
use streamscope_model::Body;
use streamscope_model::input::parse_hex;
use streamscope_model::name;

use crate::commands::{self, RepeatView};
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
        .route("/connections/{id}/search", get(search))
        .route("/connections/{id}/export", get(export))
        .route("/connections/{id}/send", post(send))
        .route("/connections/{id}/close", post(close))
        .route(
            "/connections/{id}/repeat",
            post(commands::start_repeat).delete(commands::stop_repeat),
        )
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(session)
}

/// The `{id}` of a connection route. axum's own `Path` answers a segment that is not
/// UTF-8 (`/api/connections/%ff`) with plain text; this answers every route's failure
/// with `{code, message}`, like the rest of the API.
pub(crate) struct ConnPath(pub(crate) ConnId);

impl<S: Send + Sync> FromRequestParts<S> for ConnPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(ApiError::from)?;
        text.parse::<ConnId>()
            .map(ConnPath)
            .map_err(|_| ApiError::NotFound(format!("{text:?} is not a connection id (c1, c2, …)")))
    }
}

/// That a connection exists, as the live socket's `list` shows it and as the first
/// fields of a [`ConnView`].
#[derive(Debug, Serialize)]
pub struct ListingView {
    pub id: String,
    pub proto: &'static str,
    pub url: String,
    pub name: String,
    pub state: &'static str,
    pub since: String,
    /// Present (true) for another app's connection seen through a tap: it cannot send.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tap: bool,
}

impl From<&ConnListing> for ListingView {
    fn from(l: &ConnListing) -> Self {
        ListingView {
            id: l.id.to_string(),
            proto: l.proto.as_str(),
            url: l.url.clone(),
            name: l.name.clone(),
            state: l.state.as_str(),
            since: l.since.to_string(),
            tap: l.relay,
        }
    }
}

/// A connection as the API shows it: its listing, then its counts, in one JSON object.
#[derive(Debug, Serialize)]
pub struct ConnView {
    #[serde(flatten)]
    pub listing: ListingView,
    pub last_seq: u64,
    pub recorded_bytes: usize,
    pub totals: CountsView,
    /// The last complete second.
    pub rate: CountsView,
    /// The repeat running on the connection; absent when none runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat: Option<RepeatView>,
    /// Present (true) once a latency sample was measured; absent before.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub latency_seen: bool,
}

#[derive(Debug, Serialize, Default)]
pub struct CountsView {
    pub events_in: u64,
    pub events_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Bytes on the wire (a contract addition; 0 where records carry no wire figures).
    pub wire_in: u64,
    pub wire_out: u64,
}

impl From<streamscope_model::stats::Counts> for CountsView {
    fn from(c: streamscope_model::stats::Counts) -> Self {
        CountsView {
            events_in: c.events_in,
            events_out: c.events_out,
            bytes_in: c.bytes_in,
            bytes_out: c.bytes_out,
            wire_in: c.wire_in,
            wire_out: c.wire_out,
        }
    }
}

impl From<&ConnBrief> for ConnView {
    fn from(s: &ConnBrief) -> Self {
        ConnView {
            listing: ListingView::from(&s.listing),
            last_seq: s.last_seq,
            recorded_bytes: s.recorded_bytes,
            totals: s.totals.into(),
            rate: s.rate.into(),
            repeat: s.repeat.as_ref().map(RepeatView::from),
            latency_seen: s.latency_seen,
        }
    }
}

/// `POST /api/connections`: every option of the engine, most optional. The engine's
/// [`OpenSpec`] is the body's shape, checks and defaults; this route only adds the
/// session.
pub type OpenRequest = OpenSpec;

impl From<SpecError> for ApiError {
    fn from(e: SpecError) -> Self {
        match e.field {
            Field::Url => ApiError::InvalidUrl(e.to_string()),
            _ => ApiError::BadRequest(e.to_string()),
        }
    }
}

async fn open(
    State(session): State<Session>,
    body: Result<Json<OpenRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body?;
    // Refused rather than cut: the user typed it and should see why it did not stick.
    if let Some(n) = &req.name {
        name::check(n).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    }
    let id = match req.plan()? {
        Plan::Ws(o) => session.open_ws(o, req.name.clone()),
        Plan::Sse(o) => session.open_sse(o, req.name.clone()),
    };
    // For "connect again" from the session library; secrets stay out of it.
    session.remember_settings(id, req.without_secrets().to_string());
    let view = ConnView::from(&session.brief(id)?);
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn list(State(session): State<Session>) -> Json<Vec<ConnView>> {
    Json(session.briefs().iter().map(ConnView::from).collect())
}

async fn one(
    State(session): State<Session>,
    ConnPath(id): ConnPath,
) -> Result<Json<ConnView>, ApiError> {
    Ok(Json(ConnView::from(&session.brief(id)?)))
}

/// `PATCH /api/connections/{id}`: what may change on a connection after it opened.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    pub name: String,
}

async fn rename(
    State(session): State<Session>,
    ConnPath(id): ConnPath,
    body: Result<Json<Rename>, JsonRejection>,
) -> Result<Json<ConnView>, ApiError> {
    let Json(body) = body?;
    name::check(&body.name).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    session.rename(id, &body.name)?;
    Ok(Json(ConnView::from(&session.brief(id)?)))
}

/// `DELETE /api/connections/{id}?close=true`: close properly first, forget when the
/// close completes (202); without `close`, forget at once (204).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ForgetQuery {
    #[serde(default)]
    close: bool,
}

async fn forget(
    State(session): State<Session>,
    ConnPath(id): ConnPath,
    q: Result<Query<ForgetQuery>, QueryRejection>,
) -> Result<StatusCode, ApiError> {
    let Query(q) = q?;
    if q.close {
        session.close_then_forget(id).await?;
        return Ok(StatusCode::ACCEPTED);
    }
    session.forget(id)?;
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
    ConnPath(id): ConnPath,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Json<PageView>, ApiError> {
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

/// Matches one search page returns when `limit` is not given: a few screenfuls of a list.
const DEFAULT_SEARCH_LIMIT: usize = 500;
/// Most matches one search page returns: the UI fetches the records themselves by `seq`,
/// so a page is only numbers, but a list never needs more at once.
pub const MAX_SEARCH_LIMIT: usize = 10_000;

#[derive(Debug, Deserialize)]
struct SearchParams {
    q: Option<String>,
    /// `1`: letters must match in case; by default either case matches.
    case: Option<String>,
    kinds: Option<String>,
    dir: Option<String>,
    before: Option<u64>,
    /// Only records with a greater seq: a live view asks for the rows it has not decided.
    after: Option<u64>,
    limit: Option<usize>,
    /// Most records this request reads (at most the engine's bound).
    scan: Option<u64>,
}

#[derive(Debug, Serialize)]
struct SearchView {
    /// Matching seqs, newest first.
    matches: Vec<u64>,
    /// The `before` of the next page; `null` once the oldest record was searched.
    next: Option<u64>,
    /// Records this request read.
    scanned: u64,
}

/// A comma-separated list of words, each checked by `parse`.
fn word_list<T>(
    text: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
    what: &str,
) -> Result<Vec<T>, ApiError> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(|w| parse(w).ok_or_else(|| ApiError::BadRequest(format!("{what}: {w:?} is not one"))))
        .collect()
}

/// `GET /api/connections/{id}/search?q=&case=1&kinds=text,event&dir=in,out&before=SEQ&after=SEQ&limit=N&scan=N`:
/// the seqs of the records that match, newest first, searched over whole records with
/// `after < seq < before`. Each request reads a bounded number of records; `next`
/// continues where it stopped (`null` once it reached `after` or the oldest record).
async fn search(
    State(session): State<Session>,
    ConnPath(id): ConnPath,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<SearchView>, ApiError> {
    let Query(p) = params?;
    let kinds = word_list(
        p.kinds.as_deref(),
        |w| Body::KINDS.contains(&w).then(|| w.to_owned()),
        "kinds: a record kind (text, binary, event, …)",
    )?;
    let dirs = word_list(
        p.dir.as_deref(),
        |w| match w {
            "in" => Some(Dir::In),
            "out" => Some(Dir::Out),
            "meta" => Some(Dir::Meta),
            _ => None,
        },
        "dir: in, out or meta",
    )?;
    let case_sensitive = match p.case.as_deref() {
        None | Some("0" | "false") => false,
        Some("1" | "true") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!("case={other:?}: use 1 or 0")));
        }
    };
    let query = SearchQuery {
        text: p.q.unwrap_or_default(),
        case_sensitive,
        kinds,
        dirs,
    };
    let bounds = SearchBounds {
        before: p.before.unwrap_or(u64::MAX),
        after: p.after.unwrap_or(0),
        limit: p
            .limit
            .unwrap_or(DEFAULT_SEARCH_LIMIT)
            .min(MAX_SEARCH_LIMIT),
        max_scan: p.scan.unwrap_or(MAX_SCAN_RECORDS),
    };
    // The scan takes the session's lock per chunk and reads whole records: the blocking
    // pool keeps it off the workers that run the connections.
    let page = tokio::task::spawn_blocking(move || session.search(id, &query, bounds))
        .await
        .map_err(|e| ApiError::Refused(format!("searching stopped: {e}")))??;
    let SearchPage {
        matches,
        next,
        scanned,
    } = page;
    Ok(Json(SearchView {
        matches,
        next,
        scanned,
    }))
}

/// Records per page of an export: the session's lock is held only while one page is read,
/// so a long recording never stalls the connections or the API, and the export holds
/// one page in memory, not the whole file.
const EXPORT_PAGE: usize = 1024;

async fn export(
    State(session): State<Session>,
    ConnPath(id): ConnPath,
) -> Result<Response, ApiError> {
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
    ConnPath(id): ConnPath,
    body: Result<Json<SendRequest>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(req) = body?;
    session.send(id, command_of(req)?).await?;
    Ok(StatusCode::ACCEPTED)
}

/// The engine command a send request asks for, its payload checked and decoded.
pub(crate) fn command_of(req: SendRequest) -> Result<Command, ApiError> {
    Ok(match req {
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
    })
}

async fn close(
    State(session): State<Session>,
    ConnPath(id): ConnPath,
) -> Result<StatusCode, ApiError> {
    session.close(id).await?;
    Ok(StatusCode::ACCEPTED)
}
