//! `/api/collections` and `/api/environments`: saved connection setups, kept in named
//! collections, and the environments whose `{{name}}` variables they use. The server
//! keeps them so that the desktop window and a browser on `sscope serve` see the same
//! ones: in `collections.json` in the data directory, or in memory with `--memory-only`
//! (the listing says which).
//!
//! What a saved connection holds is the pane's settings as the UI edits them (`config`,
//! an object this module bounds but does not interpret), except its secrets: a bearer
//! token, a basic-auth password, a header or variable marked secret must arrive empty,
//! or the request is refused. Secrets live in the desktop's keychain or are asked for
//! again in a browser; they never reach this store, its file or an export.
//!
//! Export and import speak one file format (`streamscope.collections`, version 1); an
//! import is checked whole before anything is added, and an error names the JSON path
//! of what is wrong. An import also reads a Postman collection v2.1's WebSocket and SSE
//! requests (`postman.rs`).

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use crate::error::ApiError;

/// The store's file in the data directory.
pub const FILE_NAME: &str = "collections.json";
/// What export files say they are.
pub const FORMAT: &str = "streamscope.collections";
pub const VERSION: u32 = 1;
/// Longest name of a collection, saved connection or environment, in characters
/// (as long as a connection's name may be).
pub const MAX_NAME: usize = 200;
/// Longest variable name; variables are typed into URLs as `{{name}}`.
pub const MAX_VAR_NAME: usize = 100;
/// Bounds on what one store holds: far above a person's use, small enough that a
/// runaway script cannot fill the disk or make every listing slow.
pub const MAX_COLLECTIONS: usize = 500;
pub const MAX_ITEMS: usize = 1_000;
pub const MAX_ENVIRONMENTS: usize = 100;
pub const MAX_VARS: usize = 500;
/// Largest pane settings object, serialized: a long POST body fits, a recording does not.
pub const MAX_CONFIG_BYTES: usize = 256 * 1024;
/// Largest file an import reads: a Postman export with many requests fits.
pub const MAX_IMPORT: usize = 16 << 20;
/// Largest variable value.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
struct Doc {
    #[serde(default)]
    collections: Vec<Collection>,
    #[serde(default)]
    environments: Vec<Environment>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Collection {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub items: Vec<Item>,
}

/// One saved connection setup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Item {
    pub id: String,
    pub name: String,
    /// The pane's settings, secrets empty.
    pub config: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Environment {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub vars: Vec<Var>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Var {
    pub name: String,
    /// Empty when `secret`: the value lives in the keychain or the page.
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub secret: bool,
}

/// The store: the document, and the file it is written to (none: memory only).
#[derive(Clone)]
pub struct Collections {
    inner: Arc<Mutex<Doc>>,
    file: Option<PathBuf>,
    /// Set when the file at start could not be read: said in every listing.
    notice: Option<String>,
}

impl Collections {
    /// A store kept in memory only.
    pub fn in_memory() -> Self {
        Collections {
            inner: Arc::default(),
            file: None,
            notice: None,
        }
    }

    /// The store in `dir`'s `collections.json`. A file that does not read as a store is
    /// kept aside (`collections.json.unreadable-<time>`), never overwritten, and the
    /// store starts empty with a notice saying where the old file went.
    pub fn open(dir: &FsPath) -> Self {
        let file = dir.join(FILE_NAME);
        let mut notice = None;
        let doc = match std::fs::read(&file) {
            Ok(bytes) => match serde_json::from_slice::<Doc>(&bytes) {
                Ok(doc) => doc,
                Err(e) => {
                    let secs = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0);
                    let aside = dir.join(format!("{FILE_NAME}.unreadable-{secs}"));
                    let moved = std::fs::rename(&file, &aside).is_ok();
                    let text = if moved {
                        format!(
                            "{} could not be read ({e}); it was kept as {} and the saved connections start empty",
                            file.display(),
                            aside.display()
                        )
                    } else {
                        format!("{} could not be read ({e})", file.display())
                    };
                    eprintln!("streamscope: {text}");
                    notice = Some(text);
                    Doc::default()
                }
            },
            Err(_) => Doc::default(),
        };
        Collections {
            inner: Arc::new(Mutex::new(doc)),
            file: Some(file),
            notice,
        }
    }

    /// Applies `change` to a copy of the document, writes the copy, and keeps it only
    /// once written: a failed write changes nothing. The lock is a tokio mutex held
    /// across the write, so writes land in the order they were made.
    async fn change<T>(
        &self,
        change: impl FnOnce(&mut Doc) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut doc = self.inner.lock().await;
        let mut next = doc.clone();
        let out = change(&mut next)?;
        if let Some(file) = &self.file {
            let bytes = serde_json::to_vec_pretty(&next)
                .map_err(|e| ApiError::Refused(format!("saving the collections: {e}")))?;
            let file = file.clone();
            tokio::task::spawn_blocking(move || write_atomically(&file, &bytes))
                .await
                .map_err(|e| ApiError::Refused(format!("saving the collections: {e}")))?
                .map_err(|e| ApiError::Refused(format!("saving the collections: {e}")))?;
        }
        *doc = next;
        Ok(out)
    }
}

/// Writes beside the file and renames over it, so a crash leaves the old file or the
/// new one, never half of one.
fn write_atomically(file: &FsPath, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = file.with_extension("json.tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, file)
}

pub fn router(state: Collections) -> Router {
    Router::new()
        .route("/collections", get(list).post(create))
        .route("/collections/export", get(export))
        .route(
            "/collections/import",
            post(import).layer(axum::extract::DefaultBodyLimit::max(MAX_IMPORT)),
        )
        .route(
            "/collections/{cid}",
            axum::routing::patch(rename).delete(remove),
        )
        .route("/collections/{cid}/items", post(add_item))
        .route(
            "/collections/{cid}/items/{iid}",
            axum::routing::patch(edit_item).delete(remove_item),
        )
        .route("/collections/{cid}/items/{iid}/duplicate", post(duplicate))
        .route("/environments", get(environments).put(set_environments))
        .with_state(state)
}

fn new_id(prefix: char) -> String {
    format!("{prefix}{:016x}", rand::random::<u64>())
}

/// A name as typed: trimmed, not empty, no control characters, at most [`MAX_NAME`].
fn check_name(what: &str, raw: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(ApiError::BadRequest(format!("{what}: the name is empty")));
    }
    if name.chars().count() > MAX_NAME {
        return Err(ApiError::BadRequest(format!(
            "{what}: the name is longer than {MAX_NAME} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "{what}: the name holds a control character (a line break or tab)"
        )));
    }
    Ok(name.to_owned())
}

fn nonempty_str(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::String(s)) if !s.is_empty())
}

/// Checks a pane's settings: an object of bounded size whose secrets are empty.
/// `at` names where it sits, for the message.
fn check_config(at: &str, config: &Map<String, Value>) -> Result<(), ApiError> {
    let size = serde_json::to_vec(config).map(|v| v.len()).unwrap_or(0);
    if size > MAX_CONFIG_BYTES {
        return Err(ApiError::TooLarge(format!(
            "{at}: the settings take {size} bytes; at most {MAX_CONFIG_BYTES} are kept"
        )));
    }
    match config.get("url") {
        Some(Value::String(_)) => {}
        _ => {
            return Err(ApiError::BadRequest(format!(
                "{at}.url: a saved connection needs its URL as a string"
            )));
        }
    }
    let refuse = |field: &str| {
        ApiError::BadRequest(format!(
            "{at}.{field} holds a secret, and secrets are never stored: send it empty \
             (the desktop app keeps it in the system keychain; a browser asks for it when opening)"
        ))
    };
    for field in ["bearer", "basicPass"] {
        if nonempty_str(config.get(field)) {
            return Err(refuse(field));
        }
    }
    if let Some(headers) = config.get("headers") {
        let Some(rows) = headers.as_array() else {
            return Err(ApiError::BadRequest(format!(
                "{at}.headers: a list of {{name, value, on, secret}} rows"
            )));
        };
        for (i, row) in rows.iter().enumerate() {
            let secret = row.get("secret").and_then(Value::as_bool).unwrap_or(false);
            if secret && nonempty_str(row.get("value")) {
                return Err(refuse(&format!("headers[{i}].value")));
            }
        }
    }
    Ok(())
}

/// A variable name as `{{name}}` reads it: a letter or `_`, then letters, digits, `_`,
/// `-` and `.`.
pub(crate) fn var_name_ok(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && name.len() <= MAX_VAR_NAME
}

fn check_vars(at: &str, vars: &[Var]) -> Result<(), ApiError> {
    if vars.len() > MAX_VARS {
        return Err(ApiError::TooLarge(format!(
            "{at}: {} variables; at most {MAX_VARS}",
            vars.len()
        )));
    }
    for (i, v) in vars.iter().enumerate() {
        if !var_name_ok(&v.name) {
            return Err(ApiError::BadRequest(format!(
                "{at}[{i}].name {:?}: a variable name starts with a letter or _ and holds only \
                 letters, digits, _, - and . (at most {MAX_VAR_NAME})",
                v.name
            )));
        }
        if vars[..i].iter().any(|w| w.name == v.name) {
            return Err(ApiError::BadRequest(format!(
                "{at}[{i}].name: {:?} is defined twice",
                v.name
            )));
        }
        if v.secret && !v.value.is_empty() {
            return Err(ApiError::BadRequest(format!(
                "{at}[{i}].value: {:?} is secret, and secrets are never stored: send it empty",
                v.name
            )));
        }
        if v.value.len() > MAX_VALUE_BYTES {
            return Err(ApiError::TooLarge(format!(
                "{at}[{i}].value: longer than {MAX_VALUE_BYTES} bytes"
            )));
        }
    }
    Ok(())
}

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(v)| v).map_err(ApiError::from)
}

fn collection<'a>(doc: &'a mut Doc, cid: &str) -> Result<&'a mut Collection, ApiError> {
    doc.collections
        .iter_mut()
        .find(|c| c.id == cid)
        .ok_or_else(|| ApiError::NotFound(format!("no collection {cid:?}")))
}

fn item<'a>(c: &'a mut Collection, iid: &str) -> Result<&'a mut Item, ApiError> {
    let name = c.name.clone();
    c.items
        .iter_mut()
        .find(|i| i.id == iid)
        .ok_or_else(|| ApiError::NotFound(format!("no saved connection {iid:?} in {name:?}")))
}

#[derive(Serialize)]
struct Listing {
    /// False with `--memory-only`: gone when the server stops.
    persisted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    notice: Option<String>,
    collections: Vec<Collection>,
    environments: Vec<Environment>,
}

async fn list(State(s): State<Collections>) -> Json<Listing> {
    let doc = s.inner.lock().await;
    Json(Listing {
        persisted: s.file.is_some(),
        notice: s.notice.clone(),
        collections: doc.collections.clone(),
        environments: doc.environments.clone(),
    })
}

#[derive(Deserialize)]
struct NameBody {
    name: String,
}

async fn create(
    State(s): State<Collections>,
    b: Result<Json<NameBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let name = check_name("collection", &body(b)?.name)?;
    let c = s
        .change(|doc| {
            if doc.collections.len() >= MAX_COLLECTIONS {
                return Err(ApiError::Refused(format!(
                    "there are {MAX_COLLECTIONS} collections already; delete one first"
                )));
            }
            let c = Collection {
                id: new_id('k'),
                name,
                items: Vec::new(),
            };
            doc.collections.push(c.clone());
            Ok(c)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

async fn rename(
    State(s): State<Collections>,
    Path(cid): Path<String>,
    b: Result<Json<NameBody>, JsonRejection>,
) -> Result<Json<Collection>, ApiError> {
    let name = check_name("collection", &body(b)?.name)?;
    s.change(|doc| {
        let c = collection(doc, &cid)?;
        c.name = name;
        Ok(c.clone())
    })
    .await
    .map(Json)
}

async fn remove(
    State(s): State<Collections>,
    Path(cid): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.change(|doc| {
        collection(doc, &cid)?;
        doc.collections.retain(|c| c.id != cid);
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

#[derive(Deserialize)]
struct ItemBody {
    name: String,
    config: Map<String, Value>,
}

async fn add_item(
    State(s): State<Collections>,
    Path(cid): Path<String>,
    b: Result<Json<ItemBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let b = body(b)?;
    let name = check_name("saved connection", &b.name)?;
    check_config("config", &b.config)?;
    let it = s
        .change(|doc| {
            let c = collection(doc, &cid)?;
            if c.items.len() >= MAX_ITEMS {
                return Err(ApiError::Refused(format!(
                    "{:?} holds {MAX_ITEMS} saved connections already",
                    c.name
                )));
            }
            let it = Item {
                id: new_id('i'),
                name,
                config: b.config,
            };
            c.items.push(it.clone());
            Ok(it)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(it)).into_response())
}

#[derive(Deserialize)]
struct ItemPatch {
    name: Option<String>,
    config: Option<Map<String, Value>>,
}

async fn edit_item(
    State(s): State<Collections>,
    Path((cid, iid)): Path<(String, String)>,
    b: Result<Json<ItemPatch>, JsonRejection>,
) -> Result<Json<Item>, ApiError> {
    let b = body(b)?;
    let name = b
        .name
        .as_deref()
        .map(|n| check_name("saved connection", n))
        .transpose()?;
    if let Some(config) = &b.config {
        check_config("config", config)?;
    }
    s.change(|doc| {
        let it = item(collection(doc, &cid)?, &iid)?;
        if let Some(name) = name {
            it.name = name;
        }
        if let Some(config) = b.config {
            it.config = config;
        }
        Ok(it.clone())
    })
    .await
    .map(Json)
}

async fn remove_item(
    State(s): State<Collections>,
    Path((cid, iid)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.change(|doc| {
        let c = collection(doc, &cid)?;
        item(c, &iid)?;
        c.items.retain(|i| i.id != iid);
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// A copy after the original, named "… copy" (cut to fit [`MAX_NAME`]).
async fn duplicate(
    State(s): State<Collections>,
    Path((cid, iid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let it = s
        .change(|doc| {
            let c = collection(doc, &cid)?;
            if c.items.len() >= MAX_ITEMS {
                return Err(ApiError::Refused(format!(
                    "{:?} holds {MAX_ITEMS} saved connections already",
                    c.name
                )));
            }
            let at = c
                .items
                .iter()
                .position(|i| i.id == iid)
                .ok_or_else(|| ApiError::NotFound(format!("no saved connection {iid:?}")))?;
            let from = &c.items[at];
            let base: String = from.name.chars().take(MAX_NAME - 5).collect();
            let copy = Item {
                id: new_id('i'),
                name: format!("{base} copy"),
                config: from.config.clone(),
            };
            c.items.insert(at + 1, copy.clone());
            Ok(copy)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(it)).into_response())
}

async fn environments(State(s): State<Collections>) -> Json<Vec<Environment>> {
    Json(s.inner.lock().await.environments.clone())
}

/// An environment as a client sends it: without an id when new.
#[derive(Deserialize)]
struct EnvBody {
    id: Option<String>,
    name: String,
    #[serde(default)]
    vars: Vec<Var>,
}

#[derive(Deserialize)]
struct EnvsBody {
    environments: Vec<EnvBody>,
}

fn check_envs(at: &str, envs: Vec<EnvBody>) -> Result<Vec<Environment>, ApiError> {
    if envs.len() > MAX_ENVIRONMENTS {
        return Err(ApiError::TooLarge(format!(
            "{at}: {} environments; at most {MAX_ENVIRONMENTS}",
            envs.len()
        )));
    }
    let mut out: Vec<Environment> = Vec::with_capacity(envs.len());
    for (i, e) in envs.into_iter().enumerate() {
        let name = check_name(&format!("{at}[{i}]"), &e.name)?;
        if out.iter().any(|o| o.name == name) {
            return Err(ApiError::BadRequest(format!(
                "{at}[{i}].name: {name:?} is used by another environment"
            )));
        }
        check_vars(&format!("{at}[{i}].vars"), &e.vars)?;
        let id = match e.id {
            Some(id) if !id.is_empty() && id.len() <= 64 && !out.iter().any(|o| o.id == id) => id,
            _ => new_id('e'),
        };
        out.push(Environment {
            id,
            name,
            vars: e.vars,
        });
    }
    Ok(out)
}

/// Replaces the environments: the editor sends the whole list it shows.
async fn set_environments(
    State(s): State<Collections>,
    b: Result<Json<EnvsBody>, JsonRejection>,
) -> Result<Json<Vec<Environment>>, ApiError> {
    let envs = check_envs("environments", body(b)?.environments)?;
    s.change(|doc| {
        doc.environments = envs;
        Ok(doc.environments.clone())
    })
    .await
    .map(Json)
}

/// The file a teammate opens: collections without ids, environments with secret values
/// empty, and per saved connection the secrets it needs (`to_fill`).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportFile {
    format: String,
    version: u32,
    collections: Vec<ExportCollection>,
    #[serde(default)]
    environments: Vec<ExportEnv>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportCollection {
    name: String,
    #[serde(default)]
    items: Vec<ExportItem>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportItem {
    name: String,
    config: Map<String, Value>,
    /// The secrets left out, to be filled in by whoever opens it: `bearer`, `basic`,
    /// `header NAME`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    to_fill: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportEnv {
    name: String,
    #[serde(default)]
    vars: Vec<Var>,
}

/// The secrets a saved connection's settings need and do not hold.
fn to_fill(config: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    match config.get("auth").and_then(Value::as_str) {
        Some("bearer") => out.push("bearer".to_owned()),
        Some("basic") => out.push("basic".to_owned()),
        _ => {}
    }
    for row in config
        .get("headers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if row.get("secret").and_then(Value::as_bool) == Some(true) {
            let name = row.get("name").and_then(Value::as_str).unwrap_or("");
            out.push(format!("header {name}"));
        }
    }
    out
}

#[derive(Deserialize)]
struct ExportQuery {
    /// One collection's id; all of them when absent.
    collection: Option<String>,
}

async fn export(
    State(s): State<Collections>,
    q: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let doc = s.inner.lock().await;
    let chosen: Vec<&Collection> = match &q.collection {
        Some(cid) => vec![
            doc.collections
                .iter()
                .find(|c| &c.id == cid)
                .ok_or_else(|| ApiError::NotFound(format!("no collection {cid:?}")))?,
        ],
        None => doc.collections.iter().collect(),
    };
    let file = ExportFile {
        format: FORMAT.to_owned(),
        version: VERSION,
        collections: chosen
            .into_iter()
            .map(|c| ExportCollection {
                name: c.name.clone(),
                items: c
                    .items
                    .iter()
                    .map(|i| ExportItem {
                        name: i.name.clone(),
                        config: i.config.clone(),
                        to_fill: to_fill(&i.config),
                    })
                    .collect(),
            })
            .collect(),
        environments: doc
            .environments
            .iter()
            .map(|e| ExportEnv {
                name: e.name.clone(),
                vars: e.vars.clone(),
            })
            .collect(),
    };
    Ok(Json(file).into_response())
}

#[derive(Serialize)]
struct Imported {
    collections: Vec<Collection>,
    /// Environments added; one whose name exists already is skipped (named here).
    environments: Vec<Environment>,
    skipped_environments: Vec<String>,
    /// What a Postman import left out or changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
}

/// A Postman collection as the pieces of a Streamscope file, with its notes.
fn from_postman(doc: &Value) -> Result<(ExportFile, Vec<String>), ApiError> {
    let read = crate::postman::read(doc).map_err(|e| {
        ApiError::BadRequest(format!("a Postman collection, but not one this reads: {e}"))
    })?;
    let mut notes = read.notes;
    if read.items.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "the Postman collection {:?} has no WebSocket (ws://, wss://) or SSE (Accept: text/event-stream) request",
            read.name
        )));
    }
    let mut vars = Vec::new();
    for (name, value, secret) in read.vars {
        if var_name_ok(&name) {
            vars.push(Var {
                name,
                value,
                secret,
            });
        } else {
            notes.push(format!(
                "the variable {name:?} was left out: a name here starts with a letter or _ and holds only letters, digits, _, - and ."
            ));
        }
    }
    let environments = if vars.is_empty() {
        Vec::new()
    } else {
        vec![ExportEnv {
            name: read.name.clone(),
            vars,
        }]
    };
    let file = ExportFile {
        format: FORMAT.to_owned(),
        version: VERSION,
        collections: vec![ExportCollection {
            name: read.name,
            items: read
                .items
                .into_iter()
                .map(|(name, config)| ExportItem {
                    name: name.chars().take(MAX_NAME).collect(),
                    config,
                    to_fill: Vec::new(),
                })
                .collect(),
        }],
        environments,
    };
    Ok((file, notes))
}

/// Adds the file's collections (new ids) and the environments whose names are new.
/// The whole file is checked first: one bad field refuses it all, named by its path.
async fn import(
    State(s): State<Collections>,
    bytes: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    // axum's own rejection is plain text; the UI needs `code`.
    let bytes = bytes.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(format!(
                "the file is larger than {} MiB, more than a collections file holds",
                MAX_IMPORT >> 20
            ))
        } else {
            ApiError::BadRequest(format!("reading the file: {}", r.body_text()))
        }
    })?;
    // A Postman collection (v2.1) is read by its own reader; anything else must be ours.
    let mut notes = Vec::new();
    let postman = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .filter(crate::postman::is_postman);
    let file: ExportFile = if let Some(doc) = postman {
        let (file, n) = from_postman(&doc)?;
        notes = n;
        file
    } else {
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::BadRequest(format!(
                "this is not a JSON file: {inner} (export a collection from Streamscope to get one)"
            ))
        } else {
            ApiError::BadRequest(format!(
                "not a Streamscope collections file: at {path}: {inner}"
            ))
        }
        })?
    };
    if file.format != FORMAT {
        return Err(ApiError::BadRequest(format!(
            "format is {:?}; a Streamscope collections file says {FORMAT:?}",
            file.format
        )));
    }
    if file.version != VERSION {
        return Err(ApiError::BadRequest(format!(
            "version {} is not one this build reads (it reads {VERSION}); update Streamscope",
            file.version
        )));
    }
    let mut collections = Vec::with_capacity(file.collections.len());
    for (ci, c) in file.collections.into_iter().enumerate() {
        let name = check_name(&format!("collections[{ci}]"), &c.name)?;
        if c.items.len() > MAX_ITEMS {
            return Err(ApiError::TooLarge(format!(
                "collections[{ci}]: {} saved connections; at most {MAX_ITEMS}",
                c.items.len()
            )));
        }
        let mut items = Vec::with_capacity(c.items.len());
        for (ii, it) in c.items.into_iter().enumerate() {
            let at = format!("collections[{ci}].items[{ii}]");
            let item_name = check_name(&at, &it.name)?;
            check_config(&format!("{at}.config"), &it.config)?;
            items.push(Item {
                id: new_id('i'),
                name: item_name,
                config: it.config,
            });
        }
        collections.push(Collection {
            id: new_id('k'),
            name,
            items,
        });
    }
    let envs = check_envs(
        "environments",
        file.environments
            .into_iter()
            .map(|e| EnvBody {
                id: None,
                name: e.name,
                vars: e.vars,
            })
            .collect(),
    )?;
    let answer = s
        .change(|doc| {
            if doc.collections.len() + collections.len() > MAX_COLLECTIONS {
                return Err(ApiError::Refused(format!(
                    "importing would pass {MAX_COLLECTIONS} collections; delete some first"
                )));
            }
            doc.collections.extend(collections.iter().cloned());
            let mut added = Vec::new();
            let mut skipped = Vec::new();
            for e in envs {
                if doc.environments.iter().any(|d| d.name == e.name) {
                    skipped.push(e.name);
                } else if doc.environments.len() < MAX_ENVIRONMENTS {
                    doc.environments.push(e.clone());
                    added.push(e);
                } else {
                    skipped.push(e.name);
                }
            }
            Ok(Imported {
                collections,
                environments: added,
                skipped_environments: skipped,
                notes,
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}
