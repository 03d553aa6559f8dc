//! Checking a demo's query string against its catalog entry: unknown names, repeated names,
//! malformed values and bounds all become a 400 before any socket or stream starts. Handlers
//! then read typed values whose defaults come from the catalog.

use axum::{
    extract::{FromRequestParts, Query},
    http::{HeaderMap, StatusCode, request::Parts},
};

use super::{
    PREFIX,
    catalog::{DemoSpec, ParamKind},
    error::DemoError,
};

/// A demo's parameters, checked against the catalog entry the router attached to the route.
#[derive(Debug)]
pub(super) struct Params {
    spec: &'static DemoSpec,
    given: Vec<(&'static str, Value)>,
}

#[derive(Debug)]
enum Value {
    Int(u64),
    Text(String),
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = DemoError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, DemoError> {
        let spec = parts
            .extensions
            .get::<&'static DemoSpec>()
            .copied()
            .ok_or_else(|| DemoError::internal("demo route mounted without its catalog entry"))?;
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map_err(|_| DemoError::bad_param("the query string could not be decoded"))?;
        Self::check(spec, pairs)
    }
}

impl Params {
    /// Checks `pairs` against `spec`. An empty value counts as absent, so a form that leaves
    /// a field blank gets the default.
    pub(super) fn check(
        spec: &'static DemoSpec,
        pairs: Vec<(String, String)>,
    ) -> Result<Self, DemoError> {
        let mut given: Vec<(&'static str, Value)> = Vec::new();
        let mut seen: Vec<&'static str> = Vec::new();
        for (name, raw) in pairs {
            let Some(param) = spec.params.iter().find(|p| p.name == name) else {
                return Err(unknown(spec, &name));
            };
            if seen.contains(&param.name) {
                return Err(DemoError::bad_param(format!(
                    "`{name}` is given more than once"
                )));
            }
            seen.push(param.name);
            if raw.is_empty() {
                continue;
            }
            let value = match param.kind {
                ParamKind::Int { min, max, .. } => match raw.parse::<u64>() {
                    Ok(v) if (min..=max).contains(&v) => Value::Int(v),
                    _ => {
                        return Err(DemoError::bad_param(format!(
                            "`{name}` must be an integer from {min} to {max}, got `{}`",
                            clip(&raw)
                        )));
                    }
                },
                ParamKind::Text { max_len, .. } => {
                    if raw.len() > max_len {
                        return Err(DemoError::bad_param(format!(
                            "`{name}` must be at most {max_len} bytes, got {}",
                            raw.len()
                        )));
                    }
                    Value::Text(raw)
                }
            };
            given.push((param.name, value));
        }
        Ok(Self { spec, given })
    }

    /// An integer parameter that has a default in the catalog.
    pub(super) fn int(&self, name: &str) -> Result<u64, DemoError> {
        self.opt_int(name).ok_or_else(|| self.no_default(name))
    }

    /// An integer parameter, `None` when absent and without a default.
    pub(super) fn opt_int(&self, name: &str) -> Option<u64> {
        self.given
            .iter()
            .find_map(|(n, v)| match v {
                Value::Int(i) if *n == name => Some(*i),
                _ => None,
            })
            .or_else(|| match self.kind(name) {
                Some(ParamKind::Int { default, .. }) => default,
                _ => None,
            })
    }

    /// A text parameter that has a default in the catalog.
    pub(super) fn text(&self, name: &str) -> Result<&str, DemoError> {
        self.opt_text(name).ok_or_else(|| self.no_default(name))
    }

    /// A text parameter, `None` when absent and without a default.
    pub(super) fn opt_text(&self, name: &str) -> Option<&str> {
        self.given
            .iter()
            .find_map(|(n, v)| match v {
                Value::Text(t) if *n == name => Some(t.as_str()),
                _ => None,
            })
            .or_else(|| match self.kind(name) {
                Some(ParamKind::Text { default, .. }) => default,
                _ => None,
            })
    }

    fn kind(&self, name: &str) -> Option<ParamKind> {
        self.spec
            .params
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.kind)
    }

    fn no_default(&self, name: &str) -> DemoError {
        DemoError::internal(format!(
            "{PREFIX}{} reads `{name}`, which its catalog entry does not define with a default",
            self.spec.path
        ))
    }
}

/// The `Last-Event-ID` a reconnecting SSE client sends; 0 when absent or empty. The demos
/// number events 1, 2, 3 …, so anything else was not sent by them.
pub(super) fn last_event_id(headers: &HeaderMap) -> Result<u64, DemoError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(0);
    };
    let text = value.to_str().unwrap_or("\u{fffd}").trim();
    if text.is_empty() {
        return Ok(0);
    }
    text.parse::<u64>().map_err(|_| {
        DemoError::new(
            StatusCode::BAD_REQUEST,
            "bad_last_event_id",
            format!(
                "last-event-id must be an event id this demo sent (an integer), got `{}`",
                clip(text)
            ),
        )
    })
}

fn unknown(spec: &DemoSpec, name: &str) -> DemoError {
    let known: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
    let takes = if known.is_empty() {
        "takes no parameters".to_owned()
    } else {
        format!("takes {}", known.join(", "))
    };
    DemoError::new(
        StatusCode::BAD_REQUEST,
        "unknown_param",
        format!(
            "unknown parameter `{}` for {PREFIX}{}, which {takes}",
            clip(name),
            spec.path
        ),
    )
}

/// Keeps an echoed client value short enough for an error message.
fn clip(s: &str) -> &str {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return s;
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::catalog::CATALOG;

    fn spec(path: &str) -> &'static DemoSpec {
        CATALOG
            .iter()
            .find(|s| s.path == path)
            .expect("path in catalog")
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_come_from_the_catalog() {
        let p = Params::check(spec("/ws/ticker"), vec![]).expect("no params is fine");
        assert_eq!(p.int("rate"), Ok(5));
        assert_eq!(p.opt_int("count"), None);
    }

    #[test]
    fn given_values_override_defaults_and_blank_means_default() {
        let p = Params::check(spec("/ws/ticker"), pairs(&[("rate", "50"), ("count", "")]))
            .expect("valid");
        assert_eq!(p.int("rate"), Ok(50));
        assert_eq!(p.opt_int("count"), None);
    }

    #[test]
    fn out_of_bounds_and_malformed_values_are_refused() {
        for (name, value) in [
            ("rate", "0"),
            ("rate", "-1"),
            ("rate", "abc"),
            ("size", "1e9"),
        ] {
            let err = Params::check(spec("/ws/ticker"), pairs(&[(name, value)]))
                .expect_err("must refuse");
            assert_eq!(err.code(), "bad_param", "{name}={value}");
            assert!(err.message().contains(name), "{}", err.message());
        }
    }

    #[test]
    fn unknown_and_repeated_names_are_refused() {
        let err = Params::check(spec("/ws/echo"), pairs(&[("rate", "1")])).expect_err("unknown");
        assert_eq!(err.code(), "unknown_param");
        assert!(err.message().contains("takes no parameters"));
        let err = Params::check(spec("/ws/ticker"), pairs(&[("rate", "1"), ("rate", "2")]))
            .expect_err("repeated");
        assert!(err.message().contains("more than once"));
    }

    #[test]
    fn text_longer_than_its_bound_is_refused() {
        let long = "x".repeat(124);
        let err =
            Params::check(spec("/ws/scripted"), pairs(&[("reason", &long)])).expect_err("too long");
        assert!(err.message().contains("123 bytes"), "{}", err.message());
    }

    #[test]
    fn last_event_id_must_be_a_number_when_present() {
        let mut headers = HeaderMap::new();
        assert_eq!(last_event_id(&headers), Ok(0));
        headers.insert("last-event-id", "17".parse().expect("header"));
        assert_eq!(last_event_id(&headers), Ok(17));
        headers.insert("last-event-id", "abc".parse().expect("header"));
        assert_eq!(
            last_event_id(&headers).map_err(|e| e.code()),
            Err("bad_last_event_id")
        );
    }
}
