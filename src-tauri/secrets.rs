//! The system keychain, for the secrets of saved connections and environments: bearer
//! tokens, basic-auth passwords, header values and variables marked secret. They are
//! never written in plain text (not to the server's `collections.json`, not to the UI's
//! settings file, not to an export); the UI reaches them only through these commands
//! (`ui/src/host/tauri.ts`).
//!
//! One keychain entry per secret, under the service [`SERVICE`] and the UI's key as the
//! user name (`saved/<item id>/bearer`, `env/<environment id>/<variable>`). Keys are
//! checked to be in those two namespaces, so a page can neither read nor overwrite any
//! other application's entries.
//!
//! The backend is the `keyring` crate's native store per platform: the macOS Keychain,
//! the Windows Credential Manager, and on Linux the kernel's keyutils (`linux-native`),
//! which needs no D-Bus secret service and so also works in a bare X session or under
//! Xvfb; its entries last until logout or reboot, after which the UI asks again.

use crate::error::ShellError;

/// The keychain service every entry is filed under.
pub(crate) const SERVICE: &str = "streamscope";
/// Longest key the UI may use, in bytes.
pub(crate) const MAX_KEY: usize = 512;
/// Largest secret, in bytes: a long token fits, a file does not.
pub(crate) const MAX_VALUE: usize = 64 * 1024;

/// That `key` is one of the UI's: `saved/<id>/<slot>` or `env/<id>/<name>`, printable.
pub(crate) fn check_key(key: &str) -> Result<(), ShellError> {
    let bad = |why: &str| ShellError::new("bad_key", format!("keychain key {key:?}: {why}"));
    if key.len() > MAX_KEY {
        return Err(bad("too long"));
    }
    if key.chars().any(char::is_control) {
        return Err(bad("holds a control character"));
    }
    let mut parts = key.splitn(3, '/');
    let (Some(space), Some(id), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("expected saved/<id>/<name> or env/<id>/<name>"));
    };
    if space != "saved" && space != "env" {
        return Err(bad("only saved/… and env/… keys are kept"));
    }
    if id.is_empty()
        || id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(bad("the id must be letters, digits, - or _"));
    }
    if rest.trim().is_empty() {
        return Err(bad("the name is empty"));
    }
    Ok(())
}

fn entry(key: &str) -> Result<keyring::Entry, ShellError> {
    check_key(key)?;
    keyring::Entry::new(SERVICE, key).map_err(keychain_error)
}

fn keychain_error(e: keyring::Error) -> ShellError {
    ShellError::new("keychain", format!("the system keychain refused: {e}"))
}

/// Runs `op` on the entry, and once more on a fresh entry when it says "no entry".
/// Observed with keyring 3.6's keyutils store: a process's first keychain call fails with
/// `NoEntry` even for a write, and the same call right after succeeds (presumably while
/// the store links the user's persistent keyring to the session one). Without this, the first secret
/// saved after launch is lost, and the first one read is asked for again.
/// `a_secret_is_kept_read_back_replaced_and_removed` starts with a write to hold it.
fn once_more<T>(
    key: &str,
    op: impl Fn(&keyring::Entry) -> keyring::Result<T>,
) -> Result<keyring::Result<T>, ShellError> {
    match op(&entry(key)?) {
        Err(keyring::Error::NoEntry) => Ok(op(&entry(key)?)),
        other => Ok(other),
    }
}

/// The secret under `key`, `None` when there is none.
pub(crate) fn get(key: &str) -> Result<Option<String>, ShellError> {
    match once_more(key, keyring::Entry::get_password)? {
        Ok(v) => Ok(Some(v)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(keychain_error(e)),
    }
}

pub(crate) fn set(key: &str, value: &str) -> Result<(), ShellError> {
    if value.len() > MAX_VALUE {
        return Err(ShellError::new(
            "too_large",
            format!(
                "a secret of {} bytes; the keychain keeps at most {MAX_VALUE}",
                value.len()
            ),
        ));
    }
    once_more(key, |e| e.set_password(value))?.map_err(keychain_error)
}

/// Removes the secret; removing one that is not there is not an error.
pub(crate) fn delete(key: &str) -> Result<(), ShellError> {
    match once_more(key, keyring::Entry::delete_credential)? {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(keychain_error(e)),
    }
}

// The keychain may block (a macOS unlock prompt): off the async runtime's workers.

#[tauri::command]
pub(crate) async fn secret_get(key: String) -> Result<Option<String>, ShellError> {
    tauri::async_runtime::spawn_blocking(move || get(&key))
        .await
        .map_err(|e| ShellError::new("keychain", e.to_string()))?
}

#[tauri::command]
pub(crate) async fn secret_set(key: String, value: String) -> Result<(), ShellError> {
    tauri::async_runtime::spawn_blocking(move || set(&key, &value))
        .await
        .map_err(|e| ShellError::new("keychain", e.to_string()))?
}

#[tauri::command]
pub(crate) async fn secret_delete(key: String) -> Result<(), ShellError> {
    tauri::async_runtime::spawn_blocking(move || delete(&key))
        .await
        .map_err(|e| ShellError::new("keychain", e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_uis_own_keys_are_accepted() {
        for ok in [
            "saved/i0123abcd/bearer",
            "saved/i1/header X-Api-Key",
            "env/e_1-a/token",
        ] {
            assert_eq!(check_key(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "bearer",
            "other/i1/bearer",
            "saved//bearer",
            "saved/i1/",
            "saved/../x",
            "saved/i 1/bearer",
            "saved/i1/a\nb",
        ] {
            assert_eq!(
                check_key(bad).map_err(|e| e.code),
                Err("bad_key"),
                "{bad:?}"
            );
        }
        assert!(check_key(&format!("saved/i1/{}", "x".repeat(600))).is_err());
    }

    /// The real keychain: on Linux the kernel's keyutils, as the desktop app uses it.
    /// A key unique to this run, removed at the end.
    #[test]
    fn a_secret_is_kept_read_back_replaced_and_removed() {
        // Setting first: the first keychain call of a process is the one that meets a
        // keyring not yet linked (see `set`).
        let key = format!("saved/test{}/bearer", std::process::id());
        set(&key, "tok-1").expect("set");
        assert_eq!(get(&key).expect("get").as_deref(), Some("tok-1"));
        set(&key, "tok-2").expect("replace");
        assert_eq!(get(&key).expect("get").as_deref(), Some("tok-2"));
        delete(&key).expect("delete");
        assert_eq!(get(&key).expect("get"), None);
        // Deleting what is not there is fine; an oversized value is refused.
        delete(&key).expect("delete again");
        let big = "x".repeat(MAX_VALUE + 1);
        assert_eq!(set(&key, &big).map_err(|e| e.code), Err("too_large"));
        assert_eq!(get(&key).expect("get"), None);
    }
}
