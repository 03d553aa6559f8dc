//! Streamscope's desktop app: a thin shell around the embedded server.
//!
//! It starts the server on a free loopback port with a fresh token, opens the main window
//! on the server's UI, and adds what only a desktop can: the native save dialog for
//! exports ([`export`]), the native open dialog for imports ([`import`]), window size and position remembered across launches (the
//! window-state plugin), and settings kept in the app's config directory ([`settings`]),
//! since the window's own storage is per port. Quitting closes every connection properly
//! and stops the server. Everything else belongs to the server and the UI, which run the
//! same in a browser opened on `sscope serve`.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod error;
mod export;
mod import;
mod secrets;
mod settings;
mod timing;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use streamscope_server::{Server, ServerConfig};
use tauri::webview::NewWindowResponse;
use tauri::{AppHandle, Manager, Url, WebviewUrl, WebviewWindowBuilder};
use tauri_plugin_window_state::StateFlags;

use settings::Settings;

/// How long quitting waits for connections to close properly before dropping them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// What the shell's commands need to reach the embedded server.
pub struct ShellState {
    pub addr: SocketAddr,
    pub token: String,
}

fn main() -> ExitCode {
    let started = Instant::now();
    let timing = timing::enabled();

    // Before any other thread exists: forgotten recordings' memory goes back to the
    // system (streamscope_server::heap).
    streamscope_server::heap::tune_for_recordings();
    let context = tauri::generate_context!();
    // Recorded sessions go to the app's data directory (Tauri's app data directory for
    // its identifier: ~/.local/share/dev.streamscope.desktop on Linux), or to
    // $STREAMSCOPE_DATA_DIR; without one the app still runs, recording in memory.
    let data_dir = streamscope_server::default_data_dir(&context.config().identifier);
    if data_dir.is_none() {
        eprintln!("streamscope: no data directory for this user: recordings stay in memory");
    }
    let config = ServerConfig {
        ui_dir: packaged_ui(context.package_info()),
        data_dir,
        ..ServerConfig::default()
    };
    // One runtime for everything: Tauri's async runtime (multi-threaded tokio) also
    // carries the server's tasks.
    let server = match tauri::async_runtime::block_on(Server::start(config)) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("streamscope: cannot start the embedded server on 127.0.0.1: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("streamscope: serving on {}", server.base_url());
    if timing {
        timing::report("server started", started);
    }
    if !server.ui_built {
        eprintln!("streamscope: the UI is not built; the window says how (make ui)");
    }

    let app = match build_app(context, &server, started, timing) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("streamscope: cannot start the window: {e}");
            tauri::async_runtime::block_on(server.shutdown(SHUTDOWN_GRACE));
            return ExitCode::FAILURE;
        }
    };
    quit_on_signals(app.handle().clone());
    tauri::async_runtime::spawn(streamscope_server::heap::release_dropped_recordings(
        server.session.clone(),
    ));

    // Returns once the last window has closed (or on `exit`); the window-state plugin has
    // saved the window's place by then.
    let code = app.run_return(|_, _| {});

    tauri::async_runtime::block_on(server.shutdown(SHUTDOWN_GRACE));
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// The UI installed with a package (`make deb` bundles ui/dist as the resource `ui/`);
/// `None` in a source tree, where the server serves ui/dist itself.
fn packaged_ui(info: &tauri::PackageInfo) -> Option<PathBuf> {
    let dir = tauri::utils::platform::resource_dir(info, &tauri::Env::default())
        .ok()?
        .join("ui");
    dir.join("index.html").is_file().then_some(dir)
}

fn build_app(
    context: tauri::Context,
    server: &Server,
    started: Instant,
    timing: bool,
) -> tauri::Result<tauri::App> {
    let ui_url: Url = server
        .ui_url()
        .parse()
        .expect("the server's UI URL is a valid URL");
    tauri::Builder::default()
        .plugin(
            tauri_plugin_window_state::Builder::new()
                .with_state_flags(StateFlags::SIZE | StateFlags::POSITION | StateFlags::MAXIMIZED)
                .build(),
        )
        .plugin(tauri_plugin_dialog::init())
        .manage(ShellState {
            addr: server.addr,
            token: server.token.clone(),
        })
        .invoke_handler(tauri::generate_handler![
            export::save_export,
            import::import_file,
            settings::save_settings,
            secrets::secret_get,
            secrets::secret_set,
            secrets::secret_delete
        ])
        .setup(move |app| {
            if let Err(e) = open_main_window(app, ui_url, started, timing) {
                eprintln!("streamscope: cannot open the window: {e}");
                app.handle().exit(1);
            }
            Ok(())
        })
        .build(context)
}

/// The main window, on the server's UI. Navigation stays on the server's origin: the
/// capability that lets the page call the shell's commands matches by URL, so no other
/// page may ever load in this window.
fn open_main_window(
    app: &mut tauri::App,
    ui_url: Url,
    started: Instant,
    timing: bool,
) -> tauri::Result<()> {
    let settings = Settings::new(app.path().app_config_dir()?.join(settings::FILE_NAME));
    let origin = ui_url.origin();
    let init = settings::init_script(
        &origin.ascii_serialization(),
        &launch_id(),
        &settings.load(),
    );
    app.manage(settings);

    let mut window = WebviewWindowBuilder::new(app, "main", WebviewUrl::External(ui_url))
        .title("Streamscope")
        .inner_size(1280.0, 820.0)
        .min_inner_size(760.0, 480.0)
        .center()
        .initialization_script(init)
        .on_navigation(move |url| url.origin() == origin)
        .on_new_window(|_, _| NewWindowResponse::Deny)
        // A recording dropped on the window is the page's to import (HTML5 drop, as in a
        // browser); Tauri's own handler would take file drops before the page sees them.
        .disable_drag_drop_handler();
    if timing {
        window = timing::instrument(window, started);
    }
    window.build()?;
    if timing {
        timing::report("window created", started);
    }
    Ok(())
}

/// Tells this launch from the previous ones (not secret: see [`settings::init_script`]).
fn launch_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}-{:x}", std::process::id(), nanos)
}

/// Ctrl-C, SIGTERM or SIGHUP quits as closing the window does (connections closed, server
/// stopped); a second one ends the process at once.
fn quit_on_signals(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        let Ok(mut signals) = streamscope_server::signals::StopSignals::new() else {
            return;
        };
        if signals.recv().await.is_none() {
            return;
        }
        app.exit(0);
        if signals.recv().await.is_some() {
            std::process::exit(130);
        }
    });
}
