//! The SSE demos. Each response is a raw streaming body rather than axum's `Sse`, because the
//! demos need exact control over the bytes: comments, `retry:` blocks, base64 data and, for the
//! flaky stream, a connection dropped mid-body. A stream is a plain `Stream` (no spawned task):
//! when the client goes away hyper drops it, and with it the demo; every stream also holds a
//! tracker token and ends on shutdown.

use std::{io, time::Duration, time::SystemTime};

use axum::{
    body::{Body, Bytes},
    extract::{State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures_util::{Stream, stream};
use serde::Deserialize;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::{sync::CancellationToken, task::task_tracker::TaskTrackerToken};

use super::{
    DemoState,
    error::DemoError,
    feed::{self, Pacer, Shape},
    params::{Params, last_event_id},
};

pub(in crate::demo) mod wire;

/// Largest `POST /demo/sse/chat` body: a prompt of a few thousand characters in JSON.
pub(super) const CHAT_BODY_LIMIT: usize = 64 * 1024;
/// Longest prompt, in characters; the answer quotes it, so this also bounds the answer.
const MAX_PROMPT_CHARS: usize = 4000;
/// How much of the prompt the answer quotes back.
const QUOTED_PROMPT_CHARS: usize = 200;

/// The last event of an LLM-style stream, as OpenAI-style APIs send it.
const CHAT_DONE: &str = "data: [DONE]\n\n";

/// Stands in for the connection error that makes hyper abort a response mid-body.
const FLAKY_DROP: &str = "the flaky demo drops the connection here on purpose";

/// `GET /demo/sse/ticker`: named events with ids, the shared ticker feed. Resumes after
/// `Last-Event-ID`; once `count` events were sent, a reconnection gets 204.
pub(super) async fn ticker(
    State(state): State<DemoState>,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, DemoError> {
    let shape = Shape::from_params(&params, 100)?;
    let event = one_line("event", params.text("event")?)?.to_owned();
    let last = last_event_id(&headers)?;
    let Some(limit) = resume(shape.count, last) else {
        return Ok(no_content());
    };
    let stream = paced(
        &state,
        String::new(),
        Pacer::new(shape.rate, limit),
        last + 1,
        Ending::Clean(None),
        move |n, out| {
            let data = feed::tick_json(n, SystemTime::now(), shape.size);
            wire::event(out, Some(&event), Some(n), &data);
        },
    );
    Ok(event_stream(stream))
}

/// `GET /demo/sse/flaky`: `retry:`, then events numbered from `Last-Event-ID` + 1, and after
/// `every` events the connection is dropped without ending the chunked body, as a network
/// failure would. The drop comes when the next event would have, so the last one is flushed.
pub(super) async fn flaky(
    State(state): State<DemoState>,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, DemoError> {
    let every = params.int("every")?;
    let retry_ms = params.int("retry_ms")?;
    let rate = params.int("rate")?;
    let last = last_event_id(&headers)?;
    let Some(remaining) = resume(params.opt_int("count"), last) else {
        return Ok(no_content());
    };
    let (limit, ending) = match remaining {
        Some(left) if left <= every => (left, Ending::Clean(None)),
        _ => (every, Ending::Abrupt),
    };
    let mut prelude = String::new();
    wire::retry(&mut prelude, retry_ms);
    if last > 0 {
        wire::comment(&mut prelude, &format!("resuming after event {last}"));
    }
    let stream = paced(
        &state,
        prelude,
        Pacer::new(rate, Some(limit)),
        last + 1,
        ending,
        |n, out| {
            let data = feed::tick_json(n, SystemTime::now(), None);
            wire::event(out, None, Some(n), &data);
        },
    );
    Ok(event_stream(stream))
}

/// `GET /demo/sse/retry`: `retry:`, a few events, then a clean end; the client reconnects
/// after `retry_ms` with `Last-Event-ID`, and once `total` events were sent it gets 204,
/// which tells EventSource to stop.
pub(super) async fn retry(
    State(state): State<DemoState>,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, DemoError> {
    let retry_ms = params.int("retry_ms")?;
    let per_connection = params.int("per_connection")?;
    let total = params.int("total")?;
    let rate = params.int("rate")?;
    let last = last_event_id(&headers)?;
    let Some(Some(remaining)) = resume(Some(total), last) else {
        return Ok(no_content());
    };
    let mut prelude = String::new();
    wire::retry(&mut prelude, retry_ms);
    let stream = paced(
        &state,
        prelude,
        Pacer::new(rate, Some(remaining.min(per_connection))),
        last + 1,
        Ending::Clean(None),
        |n, out| {
            let data = feed::tick_json(n, SystemTime::now(), None);
            wire::event(out, None, Some(n), &data);
        },
    );
    Ok(event_stream(stream))
}

/// `GET /demo/sse/binary`: the WebSocket binary stream's payloads as base64 events.
pub(super) async fn binary(
    State(state): State<DemoState>,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, DemoError> {
    // Base64 turns 3 bytes into 4.
    let shape = Shape::from_params(&params, 134)?;
    let size = usize::try_from(params.int("size")?).unwrap_or(usize::MAX);
    let last = last_event_id(&headers)?;
    let Some(limit) = resume(shape.count, last) else {
        return Ok(no_content());
    };
    let stream = paced(
        &state,
        String::new(),
        Pacer::new(shape.rate, limit),
        last + 1,
        Ending::Clean(None),
        move |n, out| {
            let payload = feed::binary_payload(n, SystemTime::now(), size);
            wire::event_base64(out, Some(n), &payload);
        },
    );
    Ok(event_stream(stream))
}

/// `GET /demo/sse/heartbeat`: a `: heartbeat` comment every `interval_ms`; after `count`
/// of them the stream goes silent but stays open until `hold_s` runs out.
pub(super) async fn heartbeat(
    State(state): State<DemoState>,
    params: Params,
) -> Result<Response, DemoError> {
    let interval_ms = params.int("interval_ms")?;
    let count = params.opt_int("count");
    let hold = Duration::from_secs(params.int("hold_s")?);
    let mut interval = tokio::time::interval(Duration::from_millis(interval_ms));
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let guard = Guard::new(&state);
    let stream = stream::unfold(
        (guard, interval, 0_u64),
        move |(guard, mut interval, sent)| async move {
            if count.is_some_and(|c| sent >= c) {
                // Silent, and the connection stays open: a client notices only by the
                // heartbeats that stop coming.
                tokio::select! {
                    () = tokio::time::sleep(hold) => {}
                    () = guard.stop.cancelled() => {}
                }
                return None;
            }
            tokio::select! {
                _ = interval.tick() => {}
                () = guard.stop.cancelled() => return None,
            }
            let sent = sent + 1;
            let mut out = String::new();
            let now = feed::rfc3339_micros(SystemTime::now());
            wire::comment(&mut out, &format!("heartbeat {sent} {now}"));
            Some((Ok(Bytes::from(out)), (guard, interval, sent)))
        },
    );
    Ok(event_stream(stream))
}

/// `GET /demo/sse/silent`: headers, optionally one event, then nothing until `hold_s` runs
/// out, with the connection open all the while.
pub(super) async fn silent(
    State(state): State<DemoState>,
    params: Params,
) -> Result<Response, DemoError> {
    let first = params.int("first")? == 1;
    let hold = Duration::from_secs(params.int("hold_s")?);
    let mut prelude = String::new();
    if first {
        wire::event(
            &mut prelude,
            None,
            None,
            "this stream goes silent now; the connection stays open",
        );
    }
    let guard = Guard::new(&state);
    let until = Instant::now() + hold;
    let stream = stream::unfold((guard, Some(prelude)), move |(guard, prelude)| async move {
        if let Some(prelude) = prelude.filter(|p| !p.is_empty()) {
            return Some((Ok(Bytes::from(prelude)), (guard, None)));
        }
        tokio::select! {
            () = tokio::time::sleep_until(until) => {}
            () = guard.stop.cancelled() => {}
        }
        None
    });
    Ok(event_stream(stream))
}

/// The body of `POST /demo/sse/chat`.
#[derive(Debug, Deserialize)]
struct ChatRequest {
    prompt: String,
}

/// `POST /demo/sse/chat` with `{"prompt": "…"}`: the answer streams as `data: {"token": …}`
/// events at `rate` tokens per second, then `data: [DONE]`, then the stream ends, the way
/// OpenAI-style APIs stream completions.
pub(super) async fn chat(
    State(state): State<DemoState>,
    params: Params,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, DemoError> {
    let rate = params.int("rate")?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            DemoError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the request body must be at most {CHAT_BODY_LIMIT} bytes"),
            )
        } else {
            DemoError::new(
                StatusCode::BAD_REQUEST,
                "bad_body",
                "the request body could not be read",
            )
        }
    })?;
    let request: ChatRequest = serde_json::from_slice(&body).map_err(|err| {
        DemoError::new(
            StatusCode::BAD_REQUEST,
            "bad_body",
            format!(r#"the body must be JSON like {{"prompt": "…"}}: {err}"#),
        )
    })?;
    let prompt = request.prompt.trim();
    if prompt.is_empty() {
        return Err(DemoError::new(
            StatusCode::BAD_REQUEST,
            "bad_body",
            "`prompt` must not be empty",
        ));
    }
    let chars = prompt.chars().count();
    if chars > MAX_PROMPT_CHARS {
        return Err(DemoError::new(
            StatusCode::BAD_REQUEST,
            "bad_body",
            format!("`prompt` must be at most {MAX_PROMPT_CHARS} characters, got {chars}"),
        ));
    }
    let tokens = tokenize(&answer(prompt));
    let count = u64::try_from(tokens.len()).unwrap_or(u64::MAX);
    let stream = paced(
        &state,
        String::new(),
        Pacer::new(rate, Some(count)),
        1,
        Ending::Clean(Some(CHAT_DONE)),
        move |n, out| {
            let token = usize::try_from(n - 1)
                .ok()
                .and_then(|i| tokens.get(i))
                .map_or("", String::as_str);
            let data = serde_json::json!({ "token": token }).to_string();
            wire::event(out, None, None, &data);
        },
    );
    Ok(event_stream(stream))
}

/// A canned answer that quotes the prompt, so the user sees their input came through.
fn answer(prompt: &str) -> String {
    let mut quoted: String = prompt
        .chars()
        .take(QUOTED_PROMPT_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if prompt.chars().count() > QUOTED_PROMPT_CHARS {
        quoted.push('…');
    }
    format!(
        "You asked: \"{quoted}\". This demo does not think; it streams a canned answer one \
         token at a time, the way LLM APIs do over Server-Sent Events. Each token is a data \
         event holding a small JSON object, the client appends tokens as they arrive, and a \
         final [DONE] event marks the end before the server closes the stream. The request \
         was a POST with a JSON body, which EventSource cannot send, so clients read the \
         response body as an event stream themselves."
    )
}

/// Splits text the way an LLM's tokens look on the wire: words keep their leading space,
/// and punctuation comes as tokens of its own.
fn tokenize(text: &str) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        let starts_token = if c.is_whitespace() {
            current.chars().any(|p| !p.is_whitespace())
        } else if c.is_ascii_punctuation() {
            !current.trim().is_empty()
        } else {
            current
                .chars()
                .last()
                .is_some_and(|p| p.is_ascii_punctuation())
        };
        if starts_token && !current.is_empty() {
            tokens.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// Where a resumed stream stands: `None` when all `count` events were already sent (answer
/// 204), otherwise how many are left (`None` inside: unlimited).
fn resume(count: Option<u64>, last: u64) -> Option<Option<u64>> {
    match count {
        None => Some(None),
        Some(count) if last < count => Some(Some(count - last)),
        Some(_) => None,
    }
}

fn one_line<'a>(name: &str, value: &'a str) -> Result<&'a str, DemoError> {
    if value.is_empty() || value.contains(['\r', '\n']) {
        return Err(DemoError::bad_param(format!(
            "`{name}` must be one non-empty line"
        )));
    }
    Ok(value)
}

/// 204: WHATWG says a client must not reconnect after it, so it ends a finished demo.
fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// The response for a demo stream.
pub(super) fn event_stream<S>(stream: S) -> Response
where
    S: Stream<Item = Result<Bytes, io::Error>> + Send + 'static,
{
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Asks reverse proxies (nginx) not to buffer the stream, should one sit in front.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// What every demo stream holds: its tracker token, counted by `Demo::live` until the
/// stream is dropped, and the shutdown token it ends on.
pub(super) struct Guard {
    pub(super) stop: CancellationToken,
    _live: TaskTrackerToken,
}

impl Guard {
    pub(super) fn new(state: &DemoState) -> Self {
        Self {
            stop: state.shutdown.clone(),
            _live: state.tasks.token(),
        }
    }
}

/// How a paced stream ends once its pacer runs out.
enum Ending {
    /// End the body properly, after writing this last chunk if there is one.
    Clean(Option<&'static str>),
    /// Fail the body, which makes hyper drop the connection without the final chunk.
    Abrupt,
}

/// A stream that writes `prelude` at once, then `render(n, out)` for n = `first`, `first`+1, …
/// in the bursts `pacer` hands out, one chunk per burst, then ends as `ending` says.
fn paced<R>(
    state: &DemoState,
    prelude: String,
    pacer: Pacer,
    first: u64,
    ending: Ending,
    render: R,
) -> impl Stream<Item = Result<Bytes, io::Error>> + Send + 'static
where
    R: FnMut(u64, &mut String) + Send + 'static,
{
    struct Paced<R> {
        guard: Guard,
        prelude: String,
        pacer: Pacer,
        next: u64,
        ending: Option<Ending>,
        render: R,
    }
    let start = Paced {
        guard: Guard::new(state),
        prelude,
        pacer,
        next: first,
        ending: Some(ending),
        render,
    };
    stream::unfold(Some(start), |paced| async move {
        let mut paced = paced?;
        if !paced.prelude.is_empty() {
            let prelude = std::mem::take(&mut paced.prelude);
            return Some((Ok(Bytes::from(prelude)), Some(paced)));
        }
        let burst = tokio::select! {
            burst = paced.pacer.next_burst() => burst,
            () = paced.guard.stop.cancelled() => return None,
        };
        match burst {
            Some(burst) => {
                let mut out = String::new();
                for _ in 0..burst {
                    (paced.render)(paced.next, &mut out);
                    paced.next += 1;
                }
                Some((Ok(Bytes::from(out)), Some(paced)))
            }
            None => match paced.ending.take()? {
                Ending::Clean(None) => None,
                Ending::Clean(Some(last)) => Some((Ok(Bytes::from_static(last.as_bytes())), None)),
                Ending::Abrupt => Some((Err(io::Error::other(FLAKY_DROP)), None)),
            },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_leading_spaces_and_split_punctuation() {
        assert_eq!(
            tokenize("Hello, big world."),
            vec!["Hello", ",", " big", " world", "."]
        );
        assert_eq!(tokenize("a").concat(), "a");
        let text = answer("why \"SSE\"?");
        assert_eq!(tokenize(&text).concat(), text);
    }

    #[test]
    fn resume_counts_what_is_left() {
        assert_eq!(resume(None, 7), Some(None));
        assert_eq!(resume(Some(10), 0), Some(Some(10)));
        assert_eq!(resume(Some(10), 9), Some(Some(1)));
        assert_eq!(resume(Some(10), 10), None);
    }
}
