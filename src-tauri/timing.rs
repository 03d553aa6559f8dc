//! Launch timing for bench/launch.sh, on only when `STREAMSCOPE_TIMING` is set: prints
//! milestones to stderr (server started, window created, page loaded, UI interactive), in
//! ms since `main()` and as wall-clock time (so the benchmark can count from before
//! `exec`), and the page's own clock for the last stretch.
//!
//! "Interactive" means the UI has mounted (`#app` has content) and the page's main thread
//! answers a script: the shell asks every few milliseconds and each answer is a round
//! trip through the page's event loop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tauri::webview::PageLoadEvent;
use tauri::{Manager, Runtime, WebviewWindowBuilder};

/// How often the page is asked whether the UI is up.
const POLL: Duration = Duration::from_millis(4);

/// Gives up asking after this long (a UI that never mounts).
const GIVE_UP: Duration = Duration::from_secs(30);

/// Notes, on the page's clock, when `#app` first gets content.
const WATCH_MOUNT: &str = "(function () { if (window.top !== window) return; \
     const t = (window.__STREAMSCOPE_TIMING__ = {}); \
     document.addEventListener('DOMContentLoaded', function () { \
       const a = document.getElementById('app'); if (!a) return; \
       const seen = function () { if (a.children.length && !t.mounted) t.mounted = performance.now(); }; \
       seen(); if (!t.mounted) new MutationObserver(seen).observe(a, { childList: true }); \
     }); })();";

/// `false` until the UI has mounted (a page without `#app`, the server's "not built" page,
/// counts once parsed); then the page's own clock: ms from navigation start to the DOM
/// being parsed, to the load event, and to now.
const MOUNTED: &str = "(function () { const a = document.getElementById('app'); \
     if (document.readyState === 'loading' || (a && a.children.length === 0)) return false; \
     const n = performance.getEntriesByType('navigation')[0] || {}; \
     const t = window.__STREAMSCOPE_TIMING__ || {}; \
     return 'page clock: dom parsed ' + Math.round(n.domContentLoadedEventEnd || 0) + \
       ' ms, load event ' + Math.round(n.loadEventEnd || 0) + ' ms, UI mounted ' + \
       Math.round(t.mounted || 0) + ' ms, answered ' + Math.round(performance.now()) + \
       ' ms after navigation start'; })()";

pub fn enabled() -> bool {
    std::env::var_os("STREAMSCOPE_TIMING").is_some()
}

/// Prints one milestone (when timing is on).
pub fn report(what: &str, started: Instant) {
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    eprintln!(
        "streamscope: timing: {what} {} ms after main(), unix_ms={unix_ms}",
        started.elapsed().as_millis()
    );
}

/// Adds the probes to the main window's builder.
pub fn instrument<'a, R: Runtime, M: Manager<R>>(
    window: WebviewWindowBuilder<'a, R, M>,
    started: Instant,
) -> WebviewWindowBuilder<'a, R, M> {
    let polling = Arc::new(AtomicBool::new(false));
    window
        .initialization_script(WATCH_MOUNT)
        .on_page_load(move |window, page| {
            if page.event() != PageLoadEvent::Finished {
                return;
            }
            report("page loaded", started);
            if polling.swap(true, Ordering::SeqCst) {
                return;
            }
            let done = Arc::new(AtomicBool::new(false));
            std::thread::spawn(move || {
                let asked = Instant::now();
                while !done.load(Ordering::SeqCst) && asked.elapsed() < GIVE_UP {
                    let done = done.clone();
                    let _ = window.eval_with_callback(MOUNTED, move |answer| {
                        if answer != "false" && !done.swap(true, Ordering::SeqCst) {
                            report("interactive", started);
                            eprintln!("streamscope: timing: {}", answer.trim_matches('"'));
                        }
                    });
                    std::thread::sleep(POLL);
                }
            });
        })
}
