//! `OpenSpec`: the one translation from what a user asks for to a connection's options.
//!
//! Both front ends fill an [`OpenSpec`] (the API deserialises `POST /api/connections`
//! into it; `sscope ws|sse` builds it from flags) and call [`OpenSpec::plan`]. Every
//! check of user input that reaches the wire lives here: the URL and its scheme, header
//! names and values, auth headers, subprotocols (RFC 6455 tokens), `Last-Event-ID`, the
//! method and the POST-when-body rule, and every default (taken from the engine's
//! constants). What is refused names its field in [`SpecError`]; the front ends word the
//! field their way (a JSON key, a flag) and add their own advice.
//!
//! Left to the front ends: what only they have (the CLI's `--send`, `--count`,
//! `--timeout`; the session's connection name is carried here but checked there).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::conn::sse::Method;
use crate::conn::ws::DEFAULT_DEFLATE;
use crate::conn::{CommonOptions, SseOptions, WsOptions};
use crate::tls::TlsOptions;
use streamscope_model::Proto;
use streamscope_model::input::{
    basic_header, bearer_header, is_field_value, is_token, parse_header,
};

/// A header as the API takes it: `["Name", "value"]` or `"Name: value"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum HeaderSpec {
    Pair(String, String),
    Line(String),
}

/// Everything a connection can be opened with, as a user gives it. The serde names are
/// the API's JSON keys; absent fields take the engine's defaults.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenSpec {
    /// `ws` or `sse`; by default from the URL's scheme.
    pub proto: Option<String>,
    pub url: String,
    /// The connection's name in a session (checked by the session's owner).
    pub name: Option<String>,
    pub headers: Vec<HeaderSpec>,
    /// WebSocket subprotocols to offer, in order; each an RFC 6455 token.
    pub subprotocols: Vec<String>,
    /// Sent as `Authorization: Bearer …`.
    pub bearer: Option<String>,
    /// `user:password`, sent as `Authorization: Basic …`.
    pub basic: Option<String>,
    pub insecure: bool,
    pub ca_file: Option<PathBuf>,
    pub connect_timeout_secs: Option<f64>,
    // WebSocket
    pub ping_interval_secs: Option<f64>,
    pub pong_timeout_secs: Option<f64>,
    pub max_message: Option<usize>,
    pub max_frame: Option<usize>,
    /// Offer permessage-deflate (RFC 7692) as browsers do; absent means yes.
    pub deflate: Option<bool>,
    // SSE
    /// `GET` or `POST` in any case; by default `POST` when there is a body, else `GET`.
    pub method: Option<String>,
    pub body: Option<String>,
    pub last_event_id: Option<String>,
    /// Reconnect at all (after a failure, and after a clean end unless
    /// `reconnect_on_end` says otherwise); by default yes.
    pub reconnect: Option<bool>,
    /// Reconnect after the server ends the stream cleanly. By default yes for GET and
    /// no for POST: a POST that ended was answered, and sending it again
    /// is a new request (an LLM completion billed again), not a resumed stream.
    pub reconnect_on_end: Option<bool>,
    pub retry_ms: Option<u64>,
    pub max_attempts: Option<u32>,
    pub backoff: bool,
    pub idle_timeout_secs: Option<f64>,
    pub max_line: Option<usize>,
    pub max_event: Option<usize>,
}

/// A checked spec: the options of one connection.
#[derive(Debug, Clone)]
pub enum Plan {
    Ws(WsOptions),
    Sse(SseOptions),
}

impl Plan {
    pub fn proto(&self) -> Proto {
        match self {
            Plan::Ws(_) => Proto::Ws,
            Plan::Sse(_) => Proto::Sse,
        }
    }

    pub fn common_mut(&mut self) -> &mut CommonOptions {
        match self {
            Plan::Ws(o) => &mut o.common,
            Plan::Sse(o) => &mut o.common,
        }
    }
}

/// Which part of a spec was refused. Front ends name it their way: the API by
/// [`Field::key`], the CLI by its flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Proto,
    Url,
    Headers,
    Subprotocols,
    Bearer,
    Basic,
    CaFile,
    ConnectTimeout,
    PingInterval,
    PongTimeout,
    MaxMessage,
    MaxFrame,
    Method,
    Body,
    LastEventId,
    MaxAttempts,
    IdleTimeout,
    MaxLine,
    MaxEvent,
}

impl Field {
    /// The field's JSON key in [`OpenSpec`].
    pub fn key(self) -> &'static str {
        match self {
            Field::Proto => "proto",
            Field::Url => "url",
            Field::Headers => "headers",
            Field::Subprotocols => "subprotocols",
            Field::Bearer => "bearer",
            Field::Basic => "basic",
            Field::CaFile => "ca_file",
            Field::ConnectTimeout => "connect_timeout_secs",
            Field::PingInterval => "ping_interval_secs",
            Field::PongTimeout => "pong_timeout_secs",
            Field::MaxMessage => "max_message",
            Field::MaxFrame => "max_frame",
            Field::Method => "method",
            Field::Body => "body",
            Field::LastEventId => "last_event_id",
            Field::MaxAttempts => "max_attempts",
            Field::IdleTimeout => "idle_timeout_secs",
            Field::MaxLine => "max_line",
            Field::MaxEvent => "max_event",
        }
    }
}

/// A spec that cannot become a connection: which field, and why in words that do not
/// depend on the front end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", field.key())]
pub struct SpecError {
    pub field: Field,
    pub reason: String,
}

fn refuse(field: Field, reason: impl Into<String>) -> SpecError {
    SpecError {
        field,
        reason: reason.into(),
    }
}

/// Seconds given as a number: positive, finite and under about 30 years, so that
/// `Instant + d` cannot overflow.
fn secs(v: Option<f64>, field: Field) -> Result<Option<Duration>, SpecError> {
    match v {
        None => Ok(None),
        Some(s) if s.is_finite() && s > 0.0 && s < 1e9 => Ok(Some(Duration::from_secs_f64(s))),
        Some(s) => Err(refuse(
            field,
            format!("must be a positive number of seconds, not {s}"),
        )),
    }
}

fn bytes(v: Option<usize>, field: Field) -> Result<Option<usize>, SpecError> {
    match v {
        Some(0) => Err(refuse(field, "must be at least 1 byte")),
        other => Ok(other),
    }
}

impl OpenSpec {
    /// The spec as JSON to keep with a recording, without its secrets: the bearer token,
    /// the basic credentials and the values of secret headers (Authorization, Cookie,
    /// Proxy-Authorization) are left out, and `secrets` names what was, so whoever
    /// connects again can ask for them.
    pub fn without_secrets(&self) -> serde_json::Value {
        let mut kept = self.clone();
        let mut secrets = Vec::new();
        if kept.bearer.take().is_some() {
            secrets.push("bearer".to_owned());
        }
        if kept.basic.take().is_some() {
            secrets.push("basic".to_owned());
        }
        kept.headers.retain(|h| {
            let name = match h {
                HeaderSpec::Pair(n, _) => n.as_str(),
                HeaderSpec::Line(l) => l.split(':').next().unwrap_or(""),
            };
            let secret = ["authorization", "cookie", "proxy-authorization"]
                .iter()
                .any(|s| s.eq_ignore_ascii_case(name.trim()));
            if secret {
                secrets.push(format!("header {}", name.trim()));
            }
            !secret
        });
        let mut v = serde_json::to_value(&kept).unwrap_or(serde_json::Value::Null);
        if let Some(o) = v.as_object_mut() {
            // Unset fields say nothing: keep what was set.
            o.retain(|_, v| !v.is_null() && *v != serde_json::json!([]));
            if !secrets.is_empty() {
                o.insert("secrets".into(), serde_json::json!(secrets));
            }
        }
        v
    }

    /// A spec for `url` with everything else at its default.
    pub fn new(url: impl Into<String>) -> Self {
        OpenSpec {
            url: url.into(),
            ..OpenSpec::default()
        }
    }

    /// Checks the spec and turns it into a connection's options. Nothing a peer could
    /// read as another header or request line gets through: every string that goes on
    /// the wire is checked here.
    pub fn plan(&self) -> Result<Plan, SpecError> {
        let proto = match self.proto.as_deref() {
            None => None,
            Some("ws") => Some(Proto::Ws),
            Some("sse") => Some(Proto::Sse),
            Some(other) => {
                return Err(refuse(
                    Field::Proto,
                    format!("{other:?} is neither \"ws\" nor \"sse\""),
                ));
            }
        };
        let (url, proto) = check_url(&self.url, proto)?;
        let common = self.common()?;
        match proto {
            Proto::Ws => self.ws(url, common).map(Plan::Ws),
            Proto::Sse => self.sse(url, common).map(Plan::Sse),
        }
    }

    fn common(&self) -> Result<CommonOptions, SpecError> {
        let mut headers = Vec::with_capacity(self.headers.len() + 1);
        for h in &self.headers {
            headers.push(header(h)?);
        }
        if let Some(t) = &self.bearer {
            headers.push(bearer_header(t).map_err(|e| refuse(Field::Bearer, e.to_string()))?);
        }
        if let Some(pair) = &self.basic {
            headers.push(basic_header(pair).map_err(|e| refuse(Field::Basic, e.to_string()))?);
        }
        if let Some(ca) = &self.ca_file {
            // A FIFO or a device would hang or flood the reader: only regular files. A
            // stat never blocks, so this is checked here, up front, whatever the scheme;
            // the TLS setup checks again when it reads the file (tls.rs).
            if !std::fs::metadata(ca).is_ok_and(|m| m.is_file()) {
                return Err(refuse(
                    Field::CaFile,
                    format!(
                        "{} is not a regular file: name a PEM file of CA certificates",
                        ca.display()
                    ),
                ));
            }
        }
        let mut common = CommonOptions {
            headers,
            tls: TlsOptions {
                insecure: self.insecure,
                ca_file: self.ca_file.clone(),
            },
            ..CommonOptions::default()
        };
        if let Some(d) = secs(self.connect_timeout_secs, Field::ConnectTimeout)? {
            common.connect_timeout = d;
        }
        Ok(common)
    }

    fn ws(&self, url: Url, common: CommonOptions) -> Result<WsOptions, SpecError> {
        let mut o = WsOptions::new(url);
        o.common = common;
        for p in &self.subprotocols {
            // RFC 6455 4.1: each subprotocol is a token; anything else (a comma, a
            // space, CR/LF) would change what the header says.
            if !is_token(p) {
                return Err(refuse(
                    Field::Subprotocols,
                    format!(
                        "{p:?} is not a subprotocol: a subprotocol is one token (letters, digits and !#$%&'*+-.^_`|~)"
                    ),
                ));
            }
        }
        o.subprotocols = self.subprotocols.clone();
        o.ping_interval = secs(self.ping_interval_secs, Field::PingInterval)?;
        o.pong_timeout = secs(self.pong_timeout_secs, Field::PongTimeout)?;
        if o.pong_timeout.is_some() && o.ping_interval.is_none() {
            return Err(refuse(
                Field::PongTimeout,
                "needs a ping interval: only a ping is answered by a pong",
            ));
        }
        if let Some(m) = bytes(self.max_message, Field::MaxMessage)? {
            o.max_message = m;
        }
        if let Some(m) = bytes(self.max_frame, Field::MaxFrame)? {
            o.max_frame = m;
        }
        o.deflate = self.deflate.unwrap_or(DEFAULT_DEFLATE);
        Ok(o)
    }

    fn sse(&self, url: Url, common: CommonOptions) -> Result<SseOptions, SpecError> {
        let mut o = SseOptions::new(url);
        o.common = common;
        o.method = match self
            .method
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            // EventSource only GETs; a body means the user wants it sent.
            None if self.body.is_some() => Method::POST,
            None | Some("GET") => Method::GET,
            Some("POST") => Method::POST,
            Some(_) => {
                return Err(refuse(
                    Field::Method,
                    format!(
                        "{:?} is not a method for an event stream: use GET or POST",
                        self.method.as_deref().unwrap_or_default()
                    ),
                ));
            }
        };
        if o.method == Method::GET && self.body.is_some() {
            return Err(refuse(
                Field::Body,
                "a GET request carries no body: use POST, or leave the body out",
            ));
        }
        o.body = self.body.clone();
        if let Some(id) = &self.last_event_id {
            // It goes out as the Last-Event-ID header; the WHATWG parser would never
            // hold an id with NUL, and CR/LF cannot be in one.
            if id.contains(['\0', '\r', '\n']) {
                return Err(refuse(
                    Field::LastEventId,
                    "an event id cannot hold NUL, CR or LF",
                ));
            }
        }
        o.last_event_id = self.last_event_id.clone();
        o.reconnect = self.reconnect.unwrap_or(true);
        o.reconnect_on_end = self.reconnect_on_end.unwrap_or(o.method == Method::GET);
        if let Some(ms) = self.retry_ms {
            o.retry = Duration::from_millis(ms);
        }
        if self.max_attempts == Some(0) {
            return Err(refuse(Field::MaxAttempts, "must be at least 1"));
        }
        o.max_attempts = self.max_attempts;
        o.backoff = self.backoff;
        o.idle_timeout = secs(self.idle_timeout_secs, Field::IdleTimeout)?;
        if let Some(m) = bytes(self.max_line, Field::MaxLine)? {
            o.limits.max_line = m;
        }
        if let Some(m) = bytes(self.max_event, Field::MaxEvent)? {
            o.limits.max_event = m;
        }
        Ok(o)
    }
}

fn header(h: &HeaderSpec) -> Result<(String, String), SpecError> {
    let bad = |reason: String| refuse(Field::Headers, reason);
    match h {
        HeaderSpec::Line(line) => parse_header(line).map_err(|e| bad(e.to_string())),
        HeaderSpec::Pair(name, value) => {
            let name = name.trim();
            if !is_token(name) {
                return Err(bad(format!(
                    "header name {name:?} may hold only letters, digits and !#$%&'*+-.^_`|~"
                )));
            }
            let value = value.trim_matches(|c| c == ' ' || c == '\t');
            if !is_field_value(value) {
                return Err(bad(format!(
                    "the value of header {name:?} holds a control character (such as CR, LF or NUL)"
                )));
            }
            Ok((name.to_owned(), value.to_owned()))
        }
    }
}

/// Parses a URL and finds its protocol: the one asked for, which the scheme must fit,
/// or the scheme's. `ws:`/`wss:` is WebSocket, `http:`/`https:` SSE.
pub fn check_url(text: &str, proto: Option<Proto>) -> Result<(Url, Proto), SpecError> {
    let bad = |reason: String| refuse(Field::Url, reason);
    let example = match proto {
        Some(Proto::Ws) => "ws://localhost:8080/socket",
        Some(Proto::Sse) => "http://localhost:8080/events",
        None => "ws://host/path or https://host/events",
    };
    let url = match Url::parse(text.trim()) {
        Ok(u) => u,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Err(bad(format!(
                "{text:?} has no scheme: write a full URL like {example}"
            )));
        }
        Err(e) => return Err(bad(format!("{text:?} is not a valid URL ({e})"))),
    };
    let scheme = url.scheme();
    let of_scheme = match scheme {
        "ws" | "wss" => Some(Proto::Ws),
        "http" | "https" => Some(Proto::Sse),
        _ => None,
    };
    let proto = match (proto, of_scheme) {
        (Some(want), Some(got)) if want == got => want,
        (None, Some(got)) => got,
        (Some(Proto::Ws), Some(Proto::Sse)) => {
            let ws = if scheme == "https" { "wss" } else { "ws" };
            return Err(bad(format!(
                "{text:?} has scheme {scheme:?}: a WebSocket URL starts with ws:// or wss:// (here {ws}{})",
                &text.trim()[scheme.len()..]
            )));
        }
        (Some(Proto::Sse), Some(Proto::Ws)) => {
            return Err(bad(format!(
                "{text:?} has scheme {scheme:?}: an SSE URL starts with http:// or https://; this one is a WebSocket URL"
            )));
        }
        (Some(Proto::Ws), _) => {
            return Err(bad(format!(
                "{text:?} has scheme {scheme:?}: a WebSocket URL starts with ws:// or wss://"
            )));
        }
        (Some(Proto::Sse), _) => {
            return Err(bad(format!(
                "{text:?} has scheme {scheme:?}: an SSE URL starts with http:// or https://"
            )));
        }
        (None, None) => {
            return Err(bad(format!(
                "{text:?} has scheme {scheme:?}, neither WebSocket (ws://, wss://) nor SSE (http://, https://)"
            )));
        }
    };
    // A WHATWG parser reads `wss:/127.0.0.1`, `wss:127.0.0.1` and `wss:///h` as if
    // written `wss://…`: a typo that then connects somewhere (port 443 here) and fails
    // as "connection refused", far from its cause. Refused, with the likely meaning, so
    // the CLI, the API and the UI all say why; a URL with a host is never written so.
    // The scheme parsed, so the text has a colon and what follows the first one is the rest.
    let rest = text.split_once(':').map_or("", |(_, r)| r);
    let two_slashes = rest.starts_with("//") && !rest.starts_with("///");
    if of_scheme.is_some() && !two_slashes {
        let slashes = rest.chars().take_while(|&c| c == '/' || c == '\\').count();
        let meant = format!("{scheme}://{}", &rest[slashes..]);
        return Err(bad(format!(
            "{text:?} has {} after {scheme:?}: a URL has exactly two (\"//\"); did you mean {meant:?}?",
            match slashes {
                0 => "no slash".to_owned(),
                1 => "one slash".to_owned(),
                n => format!("{n} slashes"),
            }
        )));
    }
    // `ws:localhost` parses, with no host: refuse it rather than fail at connect time.
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad(format!(
            "{text:?} has no host: write a URL like {example}"
        )));
    }
    Ok((url, proto))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::handshake::request_bytes;
    use proptest::prelude::*;

    fn ws(url: &str) -> OpenSpec {
        OpenSpec::new(url)
    }

    #[test]
    fn proto_follows_the_scheme_unless_asked() {
        assert_eq!(ws("ws://h/x").plan().map(|p| p.proto()), Ok(Proto::Ws));
        assert!(matches!(
            OpenSpec::new("https://h/e").plan(),
            Ok(Plan::Sse(_))
        ));
        let mut s = OpenSpec::new("http://h/x");
        s.proto = Some("ws".into());
        let e = s.plan().unwrap_err();
        assert_eq!(e.field, Field::Url);
        assert!(e.reason.contains("ws://h/x"), "{e}");
        let e = OpenSpec::new("ftp://h/x").plan().unwrap_err();
        assert_eq!(e.field, Field::Url);
        assert!(OpenSpec::new("ws://").plan().is_err());
        let e = OpenSpec::new("localhost/x").plan().unwrap_err();
        assert!(e.reason.contains("no scheme"), "{e}");
    }

    #[test]
    fn a_url_without_two_slashes_is_refused_with_the_likely_meaning() {
        for (typed, meant) in [
            ("wss:/127.0.0.1", "wss://127.0.0.1"),
            ("ws:localhost:9/x", "ws://localhost:9/x"),
            ("https:///h/events", "https://h/events"),
            ("WSS:/h", "wss://h"),
        ] {
            let e = ws(typed).plan().unwrap_err();
            assert_eq!(e.field, Field::Url, "{typed}");
            assert!(e.reason.contains(meant), "{typed}: {e}");
        }
        assert!(ws("wss://127.0.0.1").plan().is_ok());
        assert!(ws("  ws://h/x  ").plan().is_ok());
    }

    #[test]
    fn defaults_are_the_engines() {
        let Ok(Plan::Ws(o)) = ws("ws://h/x").plan() else {
            panic!("a ws plan")
        };
        assert_eq!(o.max_message, crate::conn::ws::DEFAULT_MAX_MESSAGE);
        assert_eq!(
            o.common.connect_timeout,
            crate::conn::DEFAULT_CONNECT_TIMEOUT
        );
        let Ok(Plan::Sse(o)) = OpenSpec::new("http://h/x").plan() else {
            panic!("an sse plan")
        };
        assert_eq!(o.retry, crate::conn::sse::DEFAULT_RETRY);
        assert_eq!(o.method, Method::GET);
        assert!(o.reconnect && o.reconnect_on_end);
    }

    /// The pane's option fields show the engine's defaults as placeholders; this keeps
    /// the UI's copy of them (`ui/src/store/open-defaults.json`) equal to the constants.
    #[test]
    fn the_uis_defaults_are_the_engines() {
        // Where cargo runs the test from, at run time: a binary built in another checkout
        // sharing the target directory must read this checkout's file.
        let path = std::env::var("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned())
            + "/../../ui/src/store/open-defaults.json";
        let text = std::fs::read_to_string(&path).expect("the UI's defaults file");
        let ui: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let want = serde_json::json!({
            "connect_timeout_secs": crate::conn::DEFAULT_CONNECT_TIMEOUT.as_secs(),
            "max_message": crate::conn::ws::DEFAULT_MAX_MESSAGE,
            "max_frame": crate::conn::ws::DEFAULT_MAX_FRAME,
            "retry_ms": crate::conn::sse::DEFAULT_RETRY.as_millis() as u64,
            "max_backoff_secs": crate::conn::sse::MAX_BACKOFF.as_secs(),
            "max_line": streamscope_model::sse::DEFAULT_MAX_LINE,
            "max_event": streamscope_model::sse::DEFAULT_MAX_EVENT,
        });
        assert_eq!(ui, want, "update {path} to the engine's defaults");
    }

    #[test]
    fn a_body_makes_a_post_and_get_refuses_one() {
        let mut s = OpenSpec::new("http://h/x");
        s.body = Some("{}".into());
        let Ok(Plan::Sse(o)) = s.plan() else {
            panic!("an sse plan")
        };
        assert_eq!(o.method, Method::POST);
        // A POST stream that ended is not sent again unless asked; a broken one is.
        assert!(o.reconnect && !o.reconnect_on_end);
        s.reconnect_on_end = Some(true);
        let Ok(Plan::Sse(o)) = s.plan() else {
            panic!("an sse plan")
        };
        assert!(o.reconnect_on_end);
        s.method = Some("get".into());
        assert_eq!(s.plan().unwrap_err().field, Field::Body);
        s.method = Some("PUT".into());
        assert_eq!(s.plan().unwrap_err().field, Field::Method);
    }

    #[test]
    fn the_smuggling_subprotocol_is_refused() {
        let mut s = ws("ws://h/x");
        s.subprotocols = vec!["chat\r\nX-Injected: yes\r\n\r\nGET /smuggled HTTP/1.1".to_owned()];
        let e = s.plan().unwrap_err();
        assert_eq!(e.field, Field::Subprotocols);
        assert!(e.to_string().starts_with("subprotocols: "), "{e}");
    }

    /// Text with the characters that break a request: CR, LF, NUL, colon, comma, space.
    fn hostile() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                4 => proptest::char::range('a', 'z'),
                1 => Just('\r'),
                1 => Just('\n'),
                1 => Just('\0'),
                1 => Just(':'),
                1 => Just(','),
                1 => Just(' '),
            ],
            0..12,
        )
        .prop_map(|cs| cs.into_iter().collect())
    }

    fn has_break(s: &str) -> bool {
        s.contains(['\r', '\n', '\0'])
    }

    proptest! {
        /// Whatever the strings, a spec either is refused naming the field that holds
        /// a line break, or becomes a request whose head parses with exactly the
        /// headers asked for: nothing can be smuggled.
        #[test]
        fn no_input_reaches_the_wire_as_another_header(
            name in hostile(),
            value in hostile(),
            line in hostile(),
            sub in hostile(),
            bearer in proptest::option::of(hostile()),
            id in proptest::option::of(hostile()),
        ) {
            let mut s = ws("ws://h/x");
            s.headers = vec![HeaderSpec::Pair(name.clone(), value.clone()), HeaderSpec::Line(line.clone())];
            s.subprotocols = vec![sub.clone()];
            s.bearer = bearer.clone();
            match s.plan() {
                Ok(Plan::Ws(o)) => {
                    prop_assert!(!has_break(&name) && !has_break(&value) && !has_break(&line) && !has_break(&sub));
                    prop_assert!(!bearer.as_deref().is_some_and(has_break));
                    let req = request_bytes(&o.url, "KEY", &o.common.headers, &o.subprotocols, o.deflate);
                    let mut parsed = [httparse::EMPTY_HEADER; 32];
                    let mut r = httparse::Request::new(&mut parsed);
                    let status = r.parse(&req);
                    prop_assert!(matches!(status, Ok(httparse::Status::Complete(n)) if n == req.len()), "{:?}", String::from_utf8_lossy(&req));
                    // Five of ours, one offering subprotocols, then the user's; a user
                    // header may replace one of ours of the same name.
                    prop_assert!(r.headers.len() <= 6 + o.common.headers.len());
                }
                Ok(Plan::Sse(_)) => prop_assert!(false, "a ws URL made an SSE plan"),
                Err(e) => {
                    let broken = match e.field {
                        Field::Headers => has_break(&value) || !is_token(name.trim())
                            || parse_header(&line).is_err(),
                        Field::Subprotocols => !is_token(&sub),
                        Field::Bearer => bearer.as_deref().is_some_and(has_break),
                        _ => false,
                    };
                    prop_assert!(broken, "{e}");
                }
            }

            let mut s = OpenSpec::new("http://h/events");
            s.last_event_id = id.clone();
            match s.plan() {
                Ok(_) => prop_assert!(!id.as_deref().is_some_and(has_break)),
                Err(e) => {
                    prop_assert_eq!(e.field, Field::LastEventId);
                    prop_assert!(id.as_deref().is_some_and(has_break));
                }
            }
        }
    }
}
