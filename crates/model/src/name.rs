//! Connection names: the one bound on how long a name may be, and the two ways a name is
//! held to it. What a person types is refused when too long ([`check`]), so they see why;
//! what is derived for them (a long URL's path) is cut short ([`shorten`]). The API, the
//! session and the chart legend all rely on this bound; none writes its own.

/// Longest connection name, in characters: a pane's title, not a document. Every layout
/// of a name (list, legend, chart) stays cheap under it.
pub const MAX_NAME: usize = 200;

/// A name a person gave is longer than [`MAX_NAME`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("name: at most {MAX_NAME} characters, not {chars}")]
pub struct NameTooLong {
    pub chars: usize,
}

/// Accepts a name a person typed, or says how long it is. Counts characters, but stops
/// counting just past the limit, so a 15 MiB name costs no more than a short one.
pub fn check(name: &str) -> Result<(), NameTooLong> {
    if name.chars().nth(MAX_NAME).is_none() {
        return Ok(());
    }
    Err(NameTooLong {
        chars: name.chars().count(),
    })
}

/// `name` held to [`MAX_NAME`] characters: cut with an ellipsis when longer.
pub fn shorten(name: &str) -> String {
    match name.char_indices().nth(MAX_NAME - 1) {
        Some((cut, _)) if name[cut..].chars().nth(1).is_some() => {
            let mut short = name[..cut].to_owned();
            short.push('…');
            short
        }
        _ => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_up_to_the_limit_pass_unchanged() {
        let exact = "é".repeat(MAX_NAME);
        assert_eq!(check(&exact), Ok(()));
        assert_eq!(shorten(&exact), exact);
        assert_eq!(shorten("ticker"), "ticker");
    }

    #[test]
    fn longer_names_are_refused_or_cut_to_the_limit() {
        let long = "é".repeat(MAX_NAME + 1);
        assert_eq!(
            check(&long),
            Err(NameTooLong {
                chars: MAX_NAME + 1
            })
        );
        let short = shorten(&long);
        assert_eq!(short.chars().count(), MAX_NAME);
        assert!(short.ends_with('…'));
        assert!(short.starts_with("éé"));
    }
}
