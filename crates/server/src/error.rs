//! `ApiError`: the one error the control API answers with, a status plus
//! `{"code", "message"}`. The UI branches on `code`, never on the text; internal
//! details are logged, not sent.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use streamscope_engine::ConnId;
use streamscope_engine::session::SessionError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("this request needs the launch token (Authorization: Bearer)")]
    Unauthorized,
    #[error("requests from other web pages are refused (Origin is not this app)")]
    BadOrigin,
    #[error("the Host header must name this server's loopback address and port")]
    BadHost,
    #[error("no connection {0}")]
    UnknownConn(ConnId),
    #[error("connection {0} has ended and takes no commands")]
    Ended(ConnId),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    InvalidUrl(String),
    #[error("{0}")]
    InvalidJson(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Refused(String),
    #[error("no such API route: {0}")]
    NotFound(String),
    #[error("this route does not take that method")]
    MethodNotAllowed,
    #[error("{0}")]
    Gone(String),
    /// A lab that runs in the page, asked of the server.
    #[error("{0}")]
    PageOnly(String),
    #[error("{0}")]
    Busy(String),
    #[error("{0}")]
    Conflict(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::BadOrigin | ApiError::BadHost => StatusCode::FORBIDDEN,
            ApiError::UnknownConn(_) | ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Ended(_) => StatusCode::CONFLICT,
            ApiError::BadRequest(_) | ApiError::InvalidUrl(_) | ApiError::InvalidJson(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::PageOnly(_) => StatusCode::CONFLICT,
            ApiError::Busy(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
        }
    }

    /// The stable, machine-readable name of the error.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::BadOrigin => "bad_origin",
            ApiError::BadHost => "bad_host",
            ApiError::UnknownConn(_) => "unknown_connection",
            ApiError::Ended(_) => "connection_ended",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::InvalidUrl(_) => "invalid_url",
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::TooLarge(_) => "payload_too_large",
            ApiError::Refused(_) => "refused",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Gone(_) => "gone",
            ApiError::PageOnly(_) => "runs_in_page",
            ApiError::Busy(_) => "busy",
            ApiError::Conflict(_) => "conflict",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "code": self.code(), "message": self.to_string() });
        (self.status(), Json(body)).into_response()
    }
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::UnknownConn(id) => ApiError::UnknownConn(id),
            SessionError::Ended(id) => ApiError::Ended(id),
            SessionError::Refused(m) => ApiError::Refused(m),
            SessionError::Invalid(m) => ApiError::BadRequest(m),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(format!(
                "the request body is larger than the limit: {}",
                r.body_text()
            )),
            _ => ApiError::BadRequest(format!(
                "the request body is not what this route takes: {}",
                r.body_text()
            )),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        // axum's own rejection is plain text; the UI needs `code`.
        ApiError::BadRequest(format!(
            "the query string is not what this route takes: {}",
            r.body_text()
        ))
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        // axum's own rejection is plain text (e.g. a segment that is not UTF-8).
        ApiError::BadRequest(format!(
            "the path is not what this route takes: {}",
            r.body_text()
        ))
    }
}
