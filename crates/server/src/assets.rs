//! The UI's files at `/`: the built UI (`ui/dist`) when there is one, otherwise a
//! small page that says how to build it and lists what the server offers.

use std::path::{Component, Path, PathBuf};

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// Where the UI's built files are looked for by default: beside the sources.
pub fn default_ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/dist")
}

#[derive(Debug, Clone)]
pub struct UiFiles {
    dir: Option<PathBuf>,
}

impl UiFiles {
    /// Serves `dir` when it holds an `index.html`.
    pub fn new(dir: Option<PathBuf>) -> Self {
        let dir = dir.filter(|d| d.join("index.html").is_file());
        UiFiles { dir }
    }

    pub fn is_built(&self) -> bool {
        self.dir.is_some()
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json" | "map") => "application/json",
        Some("woff2") => "font/woff2",
        Some("ttf") => "font/ttf",
        _ => "application/octet-stream",
    }
}

/// Serves a file of the built UI, `index.html` for `/` and for client-side routes.
pub async fn serve(State(files): State<UiFiles>, req: Request) -> Response {
    let Some(dir) = &files.dir else {
        return Html(NOT_BUILT).into_response();
    };
    let rel = req.uri().path().trim_start_matches('/');
    let rel = Path::new(if rel.is_empty() { "index.html" } else { rel });
    // Only plain path segments: no `..`, no absolute paths.
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut path = dir.join(rel);
    if !path.is_file() {
        if rel.extension().is_some() {
            return StatusCode::NOT_FOUND.into_response();
        }
        path = dir.join("index.html");
    }
    match tokio::fs::read(&path).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, content_type(&path))], bytes).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

const NOT_BUILT: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Streamscope</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem;color:#222}
code{background:#f3f3f3;padding:.1rem .3rem;border-radius:3px}</style></head>
<body><h1>Streamscope</h1>
<p>The server is running, but the UI has not been built. Build it with
<code>make ui</code> (or <code>cd ui &amp;&amp; npm ci &amp;&amp; npm run build</code>) and reload.</p>
<p>Meanwhile: the demo endpoints are listed at <a href="/demo">/demo</a>, and the control
API is under <code>/api</code> (it needs the launch token).</p>
</body></html>"#;
