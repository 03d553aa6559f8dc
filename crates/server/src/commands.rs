//! API routes for session commands the server runs to the end on a client's behalf:
//! `POST /api/connections/{id}/repeat` starts the repeat sender, `DELETE` on the same
//! path stops it. A client asks once and reads the progress from the connection's
//! listing (`repeat` in `GET /api/connections` and the live socket's `conns`), so a
//! reloaded page or another tab sees the repeat as it is. Close-then-forget is the
//! `?close=true` form of `DELETE /api/connections/{id}` (in `api`).
//!
//! The repeat itself (timing, backpressure, replacement) is the engine session's; this
//! module only reads and checks the request.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use streamscope_engine::session::{RepeatSpec, RepeatStatus, Session};

use crate::api::{ConnPath, SendRequest, command_of};
use crate::error::ApiError;

/// `POST /api/connections/{id}/repeat`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatRequest {
    /// What to send, as `POST …/send` takes it.
    pub message: SendRequest,
    /// Milliseconds between two sends; the first goes at once.
    pub interval_ms: u64,
    /// Sends in all; absent repeats until stopped.
    #[serde(default)]
    pub count: Option<u64>,
}

/// A running repeat as the API shows it, in a connection's listing.
#[derive(Debug, Serialize)]
pub struct RepeatView {
    pub id: String,
    pub interval_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    pub sent: u64,
}

impl From<&RepeatStatus> for RepeatView {
    fn from(r: &RepeatStatus) -> Self {
        RepeatView {
            id: format!("r{}", r.id),
            interval_ms: u64::try_from(r.interval.as_millis()).unwrap_or(u64::MAX),
            count: r.count,
            sent: r.sent,
        }
    }
}

#[derive(Debug, Serialize)]
struct Started {
    id: String,
}

pub(crate) async fn start_repeat(
    State(session): State<Session>,
    ConnPath(id): ConnPath,
    body: Result<Json<RepeatRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body?;
    let spec = RepeatSpec {
        command: command_of(req.message)?,
        interval: Duration::from_millis(req.interval_ms),
        count: req.count,
    };
    let repeat = session.start_repeat(id, spec)?;
    let body = Started {
        id: format!("r{repeat}"),
    };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// Stops the repeat; 204 whether or not one was running, so a client's Stop is never an
/// error when the repeat finished a moment before.
pub(crate) async fn stop_repeat(
    State(session): State<Session>,
    ConnPath(id): ConnPath,
) -> Result<StatusCode, ApiError> {
    session.stop_repeat(id)?;
    Ok(StatusCode::NO_CONTENT)
}
