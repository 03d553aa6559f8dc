//! A deliberately plain reading of the WHATWG "event stream interpretation", line at a
//! time, with none of the parser's incremental machinery: the parser's unit tests and the
//! fuzz target compare the parser with it. It holds the whole stream in memory and knows
//! no limits, so it is for tests only; Chromium's own `EventSource` is the independent
//! reference (ui/e2e/eventsource.mjs, in the browser tests).

use super::Item;

/// The items a stream yields, read the plain way: CR and CRLF become LF first, then the
/// text is split into lines and each line is interpreted on its own.
pub fn read(stream: &[u8]) -> Vec<Item> {
    let mut normalised = Vec::with_capacity(stream.len());
    let mut i = 0;
    while i < stream.len() {
        match stream[i] {
            b'\r' => {
                normalised.push(b'\n');
                if stream.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b => normalised.push(b),
        }
        i += 1;
    }
    let text = String::from_utf8_lossy(&normalised);
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
    let mut out = Vec::new();
    let (mut data, mut event, mut id_buf, mut last_id) =
        (String::new(), String::new(), None::<String>, None::<String>);
    let mut lines: Vec<&str> = text.split('\n').collect();
    lines.pop(); // the text after the last LF is an unfinished line
    for line in lines {
        if line.is_empty() {
            last_id.clone_from(&id_buf);
            if data.is_empty() {
                event.clear();
                continue;
            }
            data.pop();
            out.push(Item::Event {
                event: if event.is_empty() {
                    "message".into()
                } else {
                    std::mem::take(&mut event)
                },
                data: std::mem::take(&mut data),
                id: last_id.clone(),
            });
            continue;
        }
        if let Some(c) = line.strip_prefix(':') {
            out.push(Item::Comment(c.to_owned()));
            continue;
        }
        let (name, value) = match line.split_once(':') {
            Some((n, v)) => (n, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match name {
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "event" => event = value.to_owned(),
            "id" if !value.contains('\0') => id_buf = Some(value.to_owned()),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                out.push(Item::Retry(value.parse().unwrap_or(u64::MAX)));
            }
            _ => {}
        }
    }
    out
}
