//! `sscope lab`: a lab run headless. Starts the embedded server on a free loopback port (the
//! labs' peers and byte counters live there), runs the lab in a session of its own, prints
//! the steps on stderr as they happen and the figures and conclusion on stdout.
//!
//! Exit status: 0 when the lab ran (whatever it concluded), 1 when it could not, 2 for bad
//! arguments (clap).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use serde_json::{Value, json};
use streamscope_engine::{ConnId, Proto};
use streamscope_labs::{Context, LABS, LabResult, Progress, RunsIn};
use streamscope_server::{Server, ServerConfig};

#[derive(Debug, Args)]
pub(crate) struct LabArgs {
    /// The lab to run, or `list`.
    #[arg(value_name = "NAME|list")]
    pub name: String,
    /// Print one JSON object: {"lab", "figures": [{"name", "ws", "sse", "unit"}], "conclusion", "notes"}.
    #[arg(long)]
    pub json: bool,
    /// Fewer messages and shorter waits: a first look in a few seconds.
    #[arg(long)]
    pub quick: bool,
}

/// Steps to stderr, so stdout holds only the result.
struct Steps;

impl Progress for Steps {
    fn step(&self, text: &str) {
        eprintln!("· {text}");
    }
    fn conn(&self, id: ConnId, _: Proto, role: &str) {
        eprintln!("  {id}: {role}");
    }
}

pub(crate) fn run(args: &LabArgs) -> ExitCode {
    if args.name == "list" {
        list(args.json);
        return ExitCode::SUCCESS;
    }
    let runtime = match crate::runtime(tokio::runtime::Builder::new_multi_thread()) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    runtime.block_on(async {
        let server = match Server::start(ServerConfig::default()).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("sscope: cannot start the embedded server on 127.0.0.1: {e}");
                return ExitCode::from(1);
            }
        };
        let ctx = Context::new(server.base_url(), server.session.clone(), Arc::new(Steps))
            .quick(args.quick);
        let outcome = streamscope_labs::run(&args.name, &ctx).await;
        server.shutdown(Duration::from_secs(2)).await;
        match outcome {
            Ok(result) => {
                print_result(&result, args.json);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("sscope: {e}");
                ExitCode::from(1)
            }
        }
    })
}

fn list(as_json: bool) {
    for lab in LABS {
        let place = match lab.runs_in {
            RunsIn::Engine => "",
            RunsIn::Page => " (in the app only)",
        };
        if as_json {
            println!(
                "{}",
                json!({ "name": lab.name, "title": lab.title, "question": lab.question, "runs_in": lab.runs_in })
            );
        } else {
            println!("{:<18}{}{place}", lab.name, lab.question);
        }
    }
}

fn shown(v: &Value, unit: &str) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        other if unit.is_empty() => other.to_string(),
        other => format!("{other} {unit}"),
    }
}

fn print_result(result: &LabResult, as_json: bool) {
    if as_json {
        let out = json!({
            "lab": result.lab,
            "figures": result.figures,
            "conclusion": result.conclusion,
            "notes": result.notes,
        });
        println!("{out}");
        return;
    }
    let rows: Vec<(String, String, String)> = result
        .figures
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                shown(&f.ws, &f.unit),
                shown(&f.sse, &f.unit),
            )
        })
        .collect();
    let w0 = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let w1 = rows
        .iter()
        .map(|r| r.1.chars().count())
        .max()
        .unwrap_or(0)
        .max("WebSocket".len());
    println!("{:<w0$}  {:<w1$}  SSE", "", "WebSocket");
    for (name, ws, sse) in rows {
        println!("{name:<w0$}  {ws:<w1$}  {sse}");
    }
    println!();
    println!("{}", result.conclusion);
    for note in &result.notes {
        println!("  note: {note}");
    }
}
