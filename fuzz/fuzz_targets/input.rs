//! Fuzzes the parsers of what a person types (`streamscope_model::input`).
//!
//! The fuzzer's bytes are one line of text (invalid UTF-8 is replaced, as a terminal
//! would hand it over). Checked:
//! - `parse_header` never panics; an accepted header has a non-empty RFC 9110 token name
//!   equal to the trimmed text before the first colon, a value with no CR, LF or NUL and
//!   no leading or trailing space or tab, and `"{name}: {value}"` parses back to the same
//!   pair; `NoColon` is returned exactly when the line has no colon.
//! - `parse_hex` never panics; accepted bytes re-encoded as hex (lower case, joined; and
//!   upper case with `0X` and `:` / ` ` / `-` separators) parse back to the same bytes,
//!   and the text held exactly two hex digits per byte; a `BadDigit` names a character
//!   that is in the text and is neither a hex digit nor a separator.
#![no_main]

use libfuzzer_sys::fuzz_target;
use streamscope_model::input::{HeaderError, HexError, parse_header, parse_hex};

fn is_token(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn hex(bytes: &[u8], upper: bool, sep: &str) -> String {
    bytes
        .iter()
        .map(|b| if upper { format!("{b:02X}") } else { format!("{b:02x}") })
        .collect::<Vec<_>>()
        .join(sep)
}

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    let line: &str = &line;

    match parse_header(line) {
        Ok((name, value)) => {
            assert!(!name.is_empty() && name.chars().all(is_token), "bad name {name:?}");
            let before_colon = line.split_once(':').map(|(n, _)| n.trim());
            assert_eq!(before_colon, Some(name.as_str()), "name is not the text before ':'");
            assert!(
                !value.contains(['\r', '\n', '\0']),
                "accepted value {value:?} holds CR, LF or NUL"
            );
            assert!(
                !value.starts_with([' ', '\t']) && !value.ends_with([' ', '\t']),
                "value {value:?} is not trimmed"
            );
            let again = format!("{name}: {value}");
            assert_eq!(
                parse_header(&again),
                Ok((name.clone(), value.clone())),
                "{again:?} does not parse back"
            );
        }
        Err(HeaderError::NoColon(_)) => assert!(!line.contains(':'), "NoColon with a colon"),
        Err(_) => assert!(line.contains(':'), "a colon-less line not refused as NoColon"),
    }

    match parse_hex(line) {
        Ok(bytes) => {
            let digits = line
                .trim()
                .strip_prefix("0x")
                .or_else(|| line.trim().strip_prefix("0X"))
                .unwrap_or(line.trim())
                .chars()
                .filter(char::is_ascii_hexdigit)
                .count();
            assert_eq!(digits, bytes.len() * 2, "not two hex digits per byte");
            assert_eq!(parse_hex(&hex(&bytes, false, "")), Ok(bytes.clone()));
            for sep in [" ", ":", "-", "\t"] {
                let text = format!("0X{}", hex(&bytes, true, sep));
                assert_eq!(parse_hex(&text), Ok(bytes.clone()), "{text:?} does not parse back");
            }
        }
        Err(HexError::BadDigit(c, pos)) => {
            assert!(!c.is_ascii_hexdigit() && !c.is_whitespace() && c != ':' && c != '-');
            assert!(line.contains(c), "BadDigit({c:?}) is not in the text");
            // The position counts characters of what was typed, from 1: the column a
            // person looks at.
            assert_eq!(
                line.chars().nth(pos.wrapping_sub(1)),
                Some(c),
                "BadDigit({c:?}, {pos}) does not point at {c:?} in {line:?}"
            );
        }
        Err(HexError::OddLength) => {}
    }
});
