//! The UI's settings and saved messages, kept in the app's config directory.
//!
//! In a browser the UI keeps them in `localStorage`. In the window that storage belongs to
//! the origin `http://127.0.0.1:PORT`, and the port changes every launch, so the shell
//! keeps them instead: it hands the stored map to the page before the page's own scripts
//! run (an initialization script), and `ui/src/host/tauri.ts` sends the whole map back
//! after each change (`save_settings`). What the map holds is the UI's business; the
//! shell only stores it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::ShellError;

/// The file in the app's config directory.
pub(crate) const FILE_NAME: &str = "ui-settings.json";

/// Settings and saved messages are small; this only stops a runaway page from filling
/// the disk through the shell.
pub(crate) const MAX_BYTES: usize = 16 << 20;

pub(crate) type Entries = BTreeMap<String, String>;

/// Where the settings live; one writer at a time, so saves land in the order they ran.
pub(crate) struct Settings {
    path: PathBuf,
    write: tokio::sync::Mutex<()>,
}

impl Settings {
    pub(crate) fn new(path: PathBuf) -> Self {
        Settings {
            path,
            write: tokio::sync::Mutex::new(()),
        }
    }

    /// The stored map; empty when there is none yet or it cannot be read (a damaged file
    /// is kept aside as `…json.bad` rather than silently overwritten later).
    pub(crate) fn load(&self) -> Entries {
        let text = match std::fs::read(&self.path) {
            Ok(text) => text,
            Err(_) => return Entries::new(),
        };
        match serde_json::from_slice(&text) {
            Ok(entries) => entries,
            Err(e) => {
                eprintln!("streamscope: ignoring {}: {e}", self.path.display());
                let _ = std::fs::rename(&self.path, self.path.with_extension("json.bad"));
                Entries::new()
            }
        }
    }

    /// Replaces the stored map: written beside the file and renamed over it, so a crash
    /// mid-write keeps the previous settings.
    pub(crate) async fn save(&self, entries: &Entries) -> Result<(), ShellError> {
        let json = serde_json::to_vec_pretty(entries).expect("a map of strings serialises");
        if json.len() > MAX_BYTES {
            return Err(ShellError::new(
                "too_large",
                format!(
                    "settings are {} bytes, more than the {MAX_BYTES} kept",
                    json.len()
                ),
            ));
        }
        let _one_writer = self.write.lock().await;
        if let Some(dir) = self.path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| ShellError::io(format!("creating {}", dir.display()), e))?;
        }
        let tmp = self.path.with_extension("json.tmp");
        tokio::fs::write(&tmp, &json)
            .await
            .map_err(|e| ShellError::io(format!("writing {}", tmp.display()), e))?;
        tokio::fs::rename(&tmp, &self.path)
            .await
            .map_err(|e| ShellError::io(format!("saving {}", self.path.display()), e))
    }

    #[cfg(test)]
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.path
    }
}

/// Script run in the main frame before the page's own: defines
/// `window.__STREAMSCOPE_SHELL__ = { launch, settings }` for our origin only. `launch`
/// tells a reload in the same launch (whose newer map the page keeps in sessionStorage)
/// from a fresh start.
pub(crate) fn init_script(origin: &str, launch: &str, entries: &Entries) -> String {
    let origin = serde_json::to_string(origin).expect("a string serialises");
    let launch = serde_json::to_string(launch).expect("a string serialises");
    let entries = serde_json::to_string(entries).expect("a map of strings serialises");
    format!(
        "(function () {{\n\
         if (window.location.origin !== {origin}) return;\n\
         Object.defineProperty(window, '__STREAMSCOPE_SHELL__', {{\n\
         value: Object.freeze({{ launch: {launch}, settings: Object.freeze({entries}) }}),\n\
         }});\n\
         }})();"
    )
}

/// Stores the UI's whole settings map.
#[tauri::command]
pub(crate) async fn save_settings(
    settings: tauri::State<'_, Settings>,
    entries: Entries,
) -> Result<(), ShellError> {
    settings.save(&entries).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn settings_survive_a_restart_and_a_damaged_file_is_set_aside() {
        let dir = std::env::temp_dir().join(format!("streamscope-settings-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let settings = Settings::new(dir.join("nested").join(FILE_NAME));
        assert!(settings.load().is_empty());

        let mut entries = Entries::new();
        entries.insert("sscope.theme".into(), "dark".into());
        entries.insert("quote\"and\u{2028}line".into(), "</script>".into());
        settings.save(&entries).await.expect("saved");
        assert_eq!(Settings::new(settings.path().to_owned()).load(), entries);

        std::fs::write(settings.path(), b"{not json").expect("damage");
        assert!(settings.load().is_empty());
        assert!(settings.path().with_extension("json.bad").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn oversized_settings_are_refused() {
        let settings = Settings::new(std::env::temp_dir().join("streamscope-never-written.json"));
        let mut entries = Entries::new();
        entries.insert("big".into(), "x".repeat(MAX_BYTES + 1));
        let err = settings.save(&entries).await.expect_err("too large");
        assert_eq!(err.code, "too_large");
        assert!(!settings.path().exists());
    }

    #[test]
    fn init_script_only_speaks_to_our_origin_and_escapes_the_map() {
        let mut entries = Entries::new();
        entries.insert("k".into(), "'); alert(1); ('".into());
        let script = init_script("http://127.0.0.1:4242", "L1", &entries);
        assert!(script.contains(r#"window.location.origin !== "http://127.0.0.1:4242""#));
        assert!(script.contains(r#"{"k":"'); alert(1); ('"}"#));
        assert!(script.contains(r#"launch: "L1""#));
    }
}
