//! The one error the shell's commands return to the UI: a `code` to branch on and a
//! `message` to show, like the server's `ApiError`.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ShellError {
    /// `bad_path`, `unreachable`, `refused`, `io` or `too_large`.
    pub code: &'static str,
    pub message: String,
}

impl ShellError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        ShellError {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn io(what: impl std::fmt::Display, e: std::io::Error) -> Self {
        ShellError::new("io", format!("{what}: {e}"))
    }
}

impl std::fmt::Display for ShellError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ShellError {}
