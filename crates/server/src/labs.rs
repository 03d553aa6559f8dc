//! `/api/labs`: the labs list with the Claims card, starting a run, and following it. A run
//! is the labs crate's runner in a task of its own; its connections are opened in the
//! server's session, so the UI shows them in panes like any other, and this module keeps
//! only what the run said (steps, connections, result) for the UI to poll.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};
use streamscope_engine::session::Session;
use streamscope_engine::{ConnId, Proto, Timestamp};
use streamscope_labs::{CLAIMS, Context, LABS, LabError, LabResult, Progress, RunsIn};
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;

/// Runs kept for polling; the oldest finished one goes first.
pub const KEPT_RUNS: usize = 32;
/// Runs going at once: each opens several connections and measures timing, and two at a
/// time already disturb each other's figures.
pub const MAX_RUNNING: usize = 2;
/// Steps kept per run: far more than any lab says.
const MAX_STEPS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum RunState {
    Running,
    Done,
    Failed,
}

#[derive(Debug, Serialize)]
struct Step {
    t: String,
    text: String,
}

#[derive(Debug, Serialize)]
struct RunConn {
    id: String,
    proto: &'static str,
    role: String,
}

#[derive(Debug, Serialize)]
struct Run {
    run: String,
    lab: &'static str,
    state: RunState,
    started: String,
    steps: Vec<Step>,
    conns: Vec<RunConn>,
    result: Option<LabResult>,
    error: Option<String>,
}

#[derive(Debug, Default)]
struct Runs {
    next: u64,
    runs: VecDeque<Run>,
}

/// The runs, shared by the routes and the running tasks.
#[derive(Clone)]
pub struct LabState {
    runs: Arc<Mutex<Runs>>,
    session: Session,
    base: String,
    stop: CancellationToken,
}

impl LabState {
    /// `base` is the server's own `http://127.0.0.1:PORT`; `stop` ends every run.
    pub fn new(session: Session, base: String, stop: CancellationToken) -> Self {
        Self {
            runs: Arc::default(),
            session,
            base,
            stop,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Runs> {
        // Plain data: a panicking holder left nothing half-done that matters.
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn with_run(&self, run: &str, f: impl FnOnce(&mut Run)) {
        if let Some(r) = self.lock().runs.iter_mut().find(|r| r.run == run) {
            f(r);
        }
    }
}

pub fn router(state: LabState) -> Router {
    Router::new()
        .route("/labs", get(list))
        .route("/labs/{name}", post(start))
        .route("/labs/runs/{run}", get(one))
        .with_state(state)
}

async fn list() -> Json<Value> {
    Json(json!({ "labs": LABS, "claims": CLAIMS }))
}

/// What a run tells the list as it goes.
struct Report {
    state: LabState,
    run: String,
}

impl Progress for Report {
    fn step(&self, text: &str) {
        self.state.with_run(&self.run, |r| {
            if r.steps.len() < MAX_STEPS {
                r.steps.push(Step {
                    t: Timestamp::now().to_string(),
                    text: text.to_owned(),
                });
            }
        });
    }

    fn conn(&self, id: ConnId, proto: Proto, role: &str) {
        self.state.with_run(&self.run, |r| {
            r.conns.push(RunConn {
                id: id.to_string(),
                proto: match proto {
                    Proto::Ws => "ws",
                    Proto::Sse => "sse",
                },
                role: role.to_owned(),
            });
        });
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    #[serde(default)]
    quick: bool,
}

async fn start(
    State(state): State<LabState>,
    Path(name): Path<String>,
    body: Option<Json<StartBody>>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Some(info) = streamscope_labs::find(&name) else {
        return Err(ApiError::NotFound(format!(
            "no lab is called {name:?}; GET /api/labs lists them"
        )));
    };
    if info.runs_in == RunsIn::Page {
        return Err(ApiError::PageOnly(
            LabError::PageOnly(info.name).to_string(),
        ));
    }
    let quick = body.map(|Json(b)| b.quick).unwrap_or(false);
    let run = {
        let mut runs = state.lock();
        let running = runs
            .runs
            .iter()
            .filter(|r| r.state == RunState::Running)
            .count();
        if running >= MAX_RUNNING {
            return Err(ApiError::Busy(format!(
                "{running} labs are running; wait for one to finish"
            )));
        }
        while runs.runs.len() >= KEPT_RUNS {
            match runs.runs.iter().position(|r| r.state != RunState::Running) {
                Some(i) => {
                    runs.runs.remove(i);
                }
                None => break,
            }
        }
        runs.next += 1;
        let run = format!("lab-{}", runs.next);
        runs.runs.push_back(Run {
            run: run.clone(),
            lab: info.name,
            state: RunState::Running,
            started: Timestamp::now().to_string(),
            steps: Vec::new(),
            conns: Vec::new(),
            result: None,
            error: None,
        });
        run
    };
    let report = Arc::new(Report {
        state: state.clone(),
        run: run.clone(),
    });
    let ctx = Context::new(state.base.clone(), state.session.clone(), report).quick(quick);
    let task_state = state.clone();
    let task_run = run.clone();
    tokio::spawn(async move {
        let outcome = tokio::select! {
            outcome = streamscope_labs::run(info.name, &ctx) => outcome,
            () = task_state.stop.cancelled() => {
                Err(LabError::Failed("the server is shutting down".into()))
            }
        };
        task_state.with_run(&task_run, |r| match outcome {
            Ok(result) => {
                r.state = RunState::Done;
                r.result = Some(result);
            }
            Err(e) => {
                r.state = RunState::Failed;
                r.error = Some(e.to_string());
            }
        });
    });
    Ok((StatusCode::CREATED, Json(json!({ "run": run }))))
}

async fn one(
    State(state): State<LabState>,
    Path(run): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let runs = state.lock();
    let found = runs.runs.iter().find(|r| r.run == run).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no lab run {run:?} (runs are kept {KEPT_RUNS} at most)"
        ))
    })?;
    serde_json::to_value(found)
        .map(Json)
        .map_err(|e| ApiError::BadRequest(format!("the run could not be written as JSON: {e}")))
}
