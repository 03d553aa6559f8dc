//! Reading a Postman collection (format v2.1, as Postman's "Export" writes it) into saved
//! connections: the requests that are streams, i.e. a `ws://`/`wss://` URL, or an HTTP
//! request that asks for `text/event-stream` (its `Accept` header). Folders become part
//! of the name ("Folder / Request"); every other request is skipped and counted in a
//! note. Postman writes variables as `{{name}}`, as Streamscope does, so URLs and headers
//! keep them, and the collection's variables become an environment named after it.
//!
//! Secrets are left out, as in a Streamscope file: a bearer token or basic password is
//! dropped (the saved connection says `auth` and asks for it when opened), and an
//! `Authorization`, `Cookie` or `*-Key`/`*-Token` header keeps its name, its value dropped
//! and marked secret. A collection variable whose name reads as a secret is kept secret
//! and empty.

use serde_json::{Map, Value, json};

/// A Postman collection, read into the pieces of a Streamscope file.
pub(crate) struct Read {
    pub(crate) name: String,
    /// (name, pane settings), in Postman's order, folders walked depth first.
    pub(crate) items: Vec<(String, Map<String, Value>)>,
    /// The collection's variables, as (name, value, secret).
    pub(crate) vars: Vec<(String, String, bool)>,
    /// What the reader left out or changed, for the user.
    pub(crate) notes: Vec<String>,
}

/// Whether `doc` is a Postman collection: `info.schema` names Postman's collection schema.
pub(crate) fn is_postman(doc: &Value) -> bool {
    doc.pointer("/info/schema")
        .and_then(Value::as_str)
        .is_some_and(|s| s.contains("schema.getpostman.com/json/collection/"))
}

/// Folders nest; a file deeper than this is refused rather than walked.
const MAX_DEPTH: usize = 32;

/// Reads a Postman collection; an error names the JSON path of what is wrong.
pub(crate) fn read(doc: &Value) -> Result<Read, String> {
    let schema = doc
        .pointer("/info/schema")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !schema.contains("/v2.1") && !schema.contains("/v2.0") {
        return Err(format!(
            "info.schema: {schema:?} is not a Postman collection v2.1 (export it from Postman as Collection v2.1)"
        ));
    }
    let name = doc
        .pointer("/info/name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("Postman collection")
        .to_owned();
    let mut out = Read {
        name,
        items: Vec::new(),
        vars: Vec::new(),
        notes: Vec::new(),
    };
    let items = doc
        .get("item")
        .and_then(Value::as_array)
        .ok_or("item: a Postman collection has a list of items")?;
    let mut skipped = 0usize;
    walk(items, "item", "", 0, &mut out, &mut skipped)?;
    if skipped > 0 {
        out.notes.push(format!(
            "{skipped} request(s) that are neither WebSocket (ws://, wss://) nor SSE (Accept: text/event-stream) were left out"
        ));
    }
    for (i, v) in doc
        .get("variable")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(key) = v.get("key").and_then(Value::as_str) else {
            return Err(format!("variable[{i}].key: a variable needs a name"));
        };
        let value = match v.get("value") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        let secret = looks_secret(key) || v.get("type").and_then(Value::as_str) == Some("secret");
        if secret && !value.is_empty() {
            out.notes.push(format!(
                "the variable {key:?} looks secret: its value was left out, enter it under Environment"
            ));
        }
        out.vars.push((
            key.to_owned(),
            if secret { String::new() } else { value },
            secret,
        ));
    }
    Ok(out)
}

fn walk(
    items: &[Value],
    at: &str,
    prefix: &str,
    depth: usize,
    out: &mut Read,
    skipped: &mut usize,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("{at}: folders nested deeper than {MAX_DEPTH}"));
    }
    for (i, it) in items.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let name = it
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("request")
            .trim();
        let full = if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix} / {name}")
        };
        if let Some(children) = it.get("item") {
            let children = children
                .as_array()
                .ok_or_else(|| format!("{here}.item: a folder holds a list of items"))?;
            walk(
                children,
                &format!("{here}.item"),
                &full,
                depth + 1,
                out,
                skipped,
            )?;
            continue;
        }
        let Some(req) = it.get("request") else {
            return Err(format!(
                "{here}: neither a request nor a folder (no \"request\" or \"item\")"
            ));
        };
        match request(req, &format!("{here}.request"), &full, &mut out.notes)? {
            Some(config) => out.items.push((full, config)),
            None => *skipped += 1,
        }
    }
    Ok(())
}

/// Header names whose values are credentials.
fn secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "authorization"
        || n == "proxy-authorization"
        || n == "cookie"
        || n.ends_with("-key")
        || n.ends_with("-token")
        || n.contains("secret")
}

fn looks_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "token", "secret", "password", "passwd", "apikey", "api_key", "api-key",
    ]
    .iter()
    .any(|s| n.contains(s))
}

/// One Postman request as pane settings, or `None` when it is not a stream.
fn request(
    req: &Value,
    at: &str,
    name: &str,
    notes: &mut Vec<String>,
) -> Result<Option<Map<String, Value>>, String> {
    // A request may be a bare URL string.
    let (url, method, headers, body, auth) = match req {
        Value::String(u) => (u.clone(), "GET".to_owned(), Vec::new(), None, None),
        Value::Object(o) => {
            let url = match o.get("url") {
                Some(Value::String(u)) => u.clone(),
                Some(Value::Object(u)) => u
                    .get("raw")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{at}.url.raw: the URL as text is missing"))?
                    .to_owned(),
                _ => return Err(format!("{at}.url: a request needs a URL")),
            };
            let method = o
                .get("method")
                .and_then(Value::as_str)
                .unwrap_or("GET")
                .to_ascii_uppercase();
            let headers = match o.get("header") {
                Some(Value::Array(h)) => h.clone(),
                Some(Value::String(_)) | None => Vec::new(),
                Some(_) => return Err(format!("{at}.header: a list of {{key, value}}")),
            };
            let body = o
                .get("body")
                .filter(|b| b.get("mode").and_then(Value::as_str) == Some("raw"))
                .and_then(|b| b.get("raw"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            (url, method, headers, body, o.get("auth").cloned())
        }
        _ => return Err(format!("{at}: a request is an object or a URL")),
    };
    let lower = url.trim_start().to_ascii_lowercase();
    let ws = lower.starts_with("ws://") || lower.starts_with("wss://");
    let sse = headers.iter().any(|h| {
        h.get("key")
            .and_then(Value::as_str)
            .is_some_and(|k| k.eq_ignore_ascii_case("accept"))
            && h.get("value")
                .and_then(Value::as_str)
                .is_some_and(|v| v.to_ascii_lowercase().contains("text/event-stream"))
    });
    if !ws && !sse {
        return Ok(None);
    }
    let mut rows = Vec::new();
    for (j, h) in headers.iter().enumerate() {
        let key = h
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{at}.header[{j}].key: a header needs a name"))?;
        // The engine sends Accept itself on SSE requests.
        if sse && key.eq_ignore_ascii_case("accept") {
            continue;
        }
        let value = h.get("value").and_then(Value::as_str).unwrap_or("");
        let on = h.get("disabled").and_then(Value::as_bool) != Some(true);
        let secret = secret_header(key);
        if secret && !value.is_empty() && !value.trim_start().starts_with("{{") {
            notes.push(format!(
                "{name}: the {key} header's value was left out (a secret); enter it when opening"
            ));
        }
        // A value that is only a variable is kept: the variable carries the secret.
        let keep =
            !secret || value.trim_start().starts_with("{{") && value.trim_end().ends_with("}}");
        rows.push(json!({
            "name": key,
            "value": if keep { value } else { "" },
            "on": on,
            "secret": secret && !keep,
        }));
    }
    let mut config = Map::new();
    config.insert("url".into(), Value::String(url.trim().to_owned()));
    config.insert("name".into(), Value::String(name.to_owned()));
    config.insert("headers".into(), Value::Array(rows));
    match auth
        .as_ref()
        .and_then(|a| a.get("type"))
        .and_then(Value::as_str)
    {
        Some("bearer") => {
            config.insert("auth".into(), "bearer".into());
            notes.push(format!(
                "{name}: the bearer token was left out (a secret); enter it when opening"
            ));
        }
        Some("basic") => {
            let user = auth
                .as_ref()
                .and_then(|a| a.get("basic"))
                .and_then(Value::as_array)
                .and_then(|kv| {
                    kv.iter()
                        .find(|e| e.get("key").and_then(Value::as_str) == Some("username"))
                })
                .and_then(|e| e.get("value"))
                .and_then(Value::as_str)
                .unwrap_or("");
            config.insert("auth".into(), "basic".into());
            config.insert("basicUser".into(), user.into());
            notes.push(format!(
                "{name}: the basic-auth password was left out (a secret); enter it when opening"
            ));
        }
        Some("noauth") | None => {}
        Some(other) => notes.push(format!(
            "{name}: Postman auth {other:?} has no equivalent here and was left out"
        )),
    }
    if sse {
        let method = if method == "POST" { "POST" } else { "GET" };
        config.insert("method".into(), method.into());
        if let Some(body) = body.filter(|_| method == "POST") {
            config.insert("body".into(), Value::String(body));
        }
    }
    Ok(Some(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collection(items: Value) -> Value {
        json!({
            "info": {"name": "Realtime", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
            "item": items,
            "variable": [{"key": "host", "value": "api.local"}, {"key": "apiToken", "value": "t0k"}]
        })
    }

    #[test]
    fn streams_are_read_and_the_rest_counted() {
        let doc = collection(json!([
            {"name": "Socket", "request": {"method": "GET", "url": {"raw": "wss://{{host}}/ws"},
                "header": [{"key": "X-Api-Key", "value": "abc"}, {"key": "X-Team", "value": "core", "disabled": true}]}},
            {"name": "Folder", "item": [
                {"name": "Events", "request": {"method": "POST", "url": "https://{{host}}/events",
                    "header": [{"key": "Accept", "value": "text/event-stream"}, {"key": "Authorization", "value": "{{apiToken}}"}],
                    "body": {"mode": "raw", "raw": "{\"q\":1}"},
                    "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "SECRET"}]}}}
            ]},
            {"name": "Plain", "request": {"method": "GET", "url": "https://{{host}}/users"}}
        ]));
        assert!(is_postman(&doc));
        let r = read(&doc).expect("reads");
        assert_eq!(r.name, "Realtime");
        let names: Vec<&str> = r.items.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Socket", "Folder / Events"]);
        let ws = &r.items[0].1;
        assert_eq!(ws["url"], "wss://{{host}}/ws");
        assert_eq!(
            ws["headers"][0],
            json!({"name": "X-Api-Key", "value": "", "on": true, "secret": true})
        );
        assert_eq!(ws["headers"][1]["on"], false);
        let sse = &r.items[1].1;
        assert_eq!(sse["method"], "POST");
        assert_eq!(sse["body"], "{\"q\":1}");
        assert_eq!(sse["auth"], "bearer");
        assert!(sse.get("bearer").is_none());
        // Accept is the engine's; a header that is only a variable keeps it.
        assert_eq!(
            sse["headers"],
            json!([{"name": "Authorization", "value": "{{apiToken}}", "on": true, "secret": false}])
        );
        assert!(
            !serde_json::to_string(&r.items)
                .expect("json")
                .contains("SECRET")
        );
        assert!(
            r.notes.iter().any(|n| n.contains("1 request(s)")),
            "{:?}",
            r.notes
        );
        assert_eq!(
            r.vars,
            [
                ("host".into(), "api.local".into(), false),
                ("apiToken".into(), String::new(), true)
            ]
        );
    }

    #[test]
    fn a_bad_postman_file_names_the_path() {
        let no_url = collection(
            json!([{"name": "f", "item": [{"name": "x", "request": {"method": "GET"}}]}]),
        );
        assert_eq!(
            read(&no_url).err().as_deref(),
            Some("item[0].item[0].request.url: a request needs a URL")
        );
        let v1 = json!({"info": {"schema": "https://schema.getpostman.com/json/collection/v1.0.0/collection.json"}, "item": []});
        assert!(read(&v1).err().is_some_and(|e| e.contains("v2.1")));
    }
}
