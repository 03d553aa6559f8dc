//! The one error a demo answers with: a status plus `{"code", "message"}`, the same shape as
//! the control API's errors, so a client branches on `code` and shows `message`.

use std::fmt;

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};

use super::{PREFIX, catalog::DemoSpec};

/// A refused demo request. `code` is stable and machine-readable; `message` is lowercase,
/// names the thing that was wrong and, where it helps, what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl DemoError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// A parameter value out of bounds or malformed.
    pub fn bad_param(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_param", message)
    }

    /// A bug on our side (the catalog and a handler disagree); never the client's fault.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    pub fn method_not_allowed(spec: &DemoSpec) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!(
                "{PREFIX}{} answers {} only",
                spec.path,
                spec.method.as_str()
            ),
        )
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for DemoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for DemoError {}

impl IntoResponse for DemoError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "code": self.code, "message": self.message });
        (self.status, Json(body)).into_response()
    }
}
