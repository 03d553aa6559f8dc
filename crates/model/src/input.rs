//! Parsers for what a person types: `-H 'Name: value'` header lines and hex payloads.
//!
//! Shared by the CLI and the control API so both accept and refuse the same input with
//! the same words.

/// Why a header line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("header {0:?} has no colon: write it as 'Name: value'")]
    NoColon(String),
    #[error("header {0:?} has an empty name: write it as 'Name: value'")]
    EmptyName(String),
    #[error("header name {0:?} may hold only letters, digits and !#$%&'*+-.^_`|~")]
    BadName(String),
    #[error("the value of header {0:?} holds a control character (such as CR, LF or NUL)")]
    BadValue(String),
}

/// Splits `Name: value` at the first colon; surrounding whitespace of the value is
/// trimmed, as HTTP does.
pub fn parse_header(line: &str) -> Result<(String, String), HeaderError> {
    let Some((name, value)) = line.split_once(':') else {
        return Err(HeaderError::NoColon(line.to_owned()));
    };
    let name = name.trim();
    if name.is_empty() {
        return Err(HeaderError::EmptyName(line.to_owned()));
    }
    if !is_token(name) {
        return Err(HeaderError::BadName(name.to_owned()));
    }
    let value = value.trim_matches(|c| c == ' ' || c == '\t');
    if !is_field_value(value) {
        return Err(HeaderError::BadValue(name.to_owned()));
    }
    Ok((name.to_owned(), value.to_owned()))
}

/// True when `s` may be sent as a header value: RFC 9110 field-value, which holds no
/// control character but HTAB. CR and LF would end the header and start another; the
/// rest are refused by HTTP libraries, which would drop the header without a word.
pub fn is_field_value(s: &str) -> bool {
    !s.chars().any(|c| c.is_ascii_control() && c != '\t')
}

/// True when `s` is an RFC 9110 token: a header name or a WebSocket subprotocol.
pub fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

/// Why an auth helper's input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the bearer token holds a control character (such as CR, LF or NUL)")]
    BearerControl,
    #[error("basic auth is written as user:password")]
    BasicNoColon,
}

/// The `Authorization` header for a bearer token.
pub fn bearer_header(token: &str) -> Result<(String, String), AuthError> {
    if !is_field_value(token) {
        return Err(AuthError::BearerControl);
    }
    Ok(("Authorization".into(), format!("Bearer {token}")))
}

/// The `Authorization` header for basic auth from `user:password`.
pub fn basic_header(pair: &str) -> Result<(String, String), AuthError> {
    use base64::Engine as _;
    if !pair.contains(':') {
        return Err(AuthError::BasicNoColon);
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(pair.as_bytes());
    Ok(("Authorization".into(), format!("Basic {encoded}")))
}

/// Why hex text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    #[error(
        "{0:?} is not a hex digit (at character {1}); write bytes as hex like '48 65 6c 6c 6f' or '48656c6c6f'"
    )]
    BadDigit(char, usize),
    #[error("odd number of hex digits: every byte needs two")]
    OddLength,
}

/// Parses hex bytes. Whitespace, `:` and `-` may separate bytes and a leading `0x` is
/// allowed, so output copied from hexdumps and other tools pastes as is.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, HexError> {
    // Positions in messages count characters of what was typed, from 1.
    let lead = text.chars().take_while(|c| c.is_whitespace()).count();
    let rest = text.trim_start();
    let (skip, body) = match rest.get(..2) {
        Some("0x" | "0X") => (2, &rest[2..]),
        _ => (0, rest),
    };
    let mut out = Vec::with_capacity(body.len() / 2);
    let mut high: Option<u8> = None;
    for (i, c) in body.chars().enumerate() {
        if c.is_whitespace() || c == ':' || c == '-' {
            if high.is_some() {
                return Err(HexError::OddLength);
            }
            continue;
        }
        let Some(v) = c.to_digit(16) else {
            return Err(HexError::BadDigit(c, lead + skip + i + 1));
        };
        let v = v as u8;
        match high.take() {
            Some(h) => out.push(h << 4 | v),
            None => high = Some(v),
        }
    }
    if high.is_some() {
        return Err(HexError::OddLength);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn headers_split_at_the_first_colon() {
        assert_eq!(
            parse_header("X-Time: 12:30 "),
            Ok(("X-Time".into(), "12:30".into()))
        );
        assert_eq!(
            parse_header("X-Empty:"),
            Ok(("X-Empty".into(), String::new()))
        );
        assert!(matches!(
            parse_header("NoColon"),
            Err(HeaderError::NoColon(_))
        ));
        assert!(matches!(
            parse_header(": v"),
            Err(HeaderError::EmptyName(_))
        ));
        assert!(matches!(
            parse_header("Bad Name: v"),
            Err(HeaderError::BadName(_))
        ));
        assert!(matches!(
            parse_header("X: a\nb"),
            Err(HeaderError::BadValue(_))
        ));
    }

    #[test]
    fn auth_helpers_build_the_header_or_say_what_is_wrong() {
        assert_eq!(
            bearer_header("t0k"),
            Ok(("Authorization".into(), "Bearer t0k".into()))
        );
        assert_eq!(bearer_header("a\nb"), Err(AuthError::BearerControl));
        assert_eq!(
            basic_header("user:pass"),
            Ok(("Authorization".into(), "Basic dXNlcjpwYXNz".into()))
        );
        assert_eq!(basic_header("user"), Err(AuthError::BasicNoColon));
        assert!(is_token("graphql-ws"));
        assert!(!is_token(""));
        assert!(!is_token("a b"));
    }

    #[test]
    fn hex_accepts_common_separators() {
        assert_eq!(parse_hex("48 65:6c-6C 6f"), Ok(b"Hello".to_vec()));
        assert_eq!(parse_hex("0x00ff"), Ok(vec![0, 255]));
        assert_eq!(parse_hex(""), Ok(vec![]));
        assert_eq!(parse_hex("4 8"), Err(HexError::OddLength));
        assert_eq!(parse_hex("abc"), Err(HexError::OddLength));
        assert_eq!(parse_hex("zz"), Err(HexError::BadDigit('z', 1)));
        assert_eq!(parse_hex("zz "), Err(HexError::BadDigit('z', 1)));
        assert_eq!(parse_hex("\u{a0}zz"), Err(HexError::BadDigit('z', 2)));
        assert_eq!(parse_hex(" 0x0g"), Err(HexError::BadDigit('g', 5)));
    }

    proptest! {
        #[test]
        fn hex_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64), sep in "[ :]?") {
            let text = bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(&sep);
            prop_assert_eq!(parse_hex(&text), Ok(bytes));
        }

        /// Lines with CR, LF and NUL where an injection would put them: nothing accepted
        /// carries one onto the wire, and what is accepted writes back as itself.
        #[test]
        fn header_parser_never_lets_a_line_break_through(
            line in "[A-Za-z0-9 :\t\r\n\u{0}-]{0,40}"
        ) {
            let after_colon = line.split_once(':').map(|(_, v)| v);
            match parse_header(&line) {
                Ok((name, value)) => {
                    prop_assert!(is_token(&name), "{name:?}");
                    prop_assert!(!value.contains(['\r', '\n', '\0']), "{value:?}");
                    prop_assert!(!value.starts_with([' ', '\t']) && !value.ends_with([' ', '\t']));
                    prop_assert_eq!(
                        parse_header(&format!("{name}: {value}")),
                        Ok((name.clone(), value.clone()))
                    );
                }
                Err(HeaderError::NoColon(_)) => prop_assert!(after_colon.is_none()),
                Err(_) => prop_assert!(after_colon.is_some()),
            }
            if after_colon.is_some_and(|v| v.contains(['\r', '\n', '\0'])) {
                prop_assert!(parse_header(&line).is_err(), "{line:?} accepted");
            }
        }
    }
}
