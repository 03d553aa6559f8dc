//! Launch timing for bench/launch.sh, on only when `STREAMSCOPE_TIMING` is set: prints
//! milestones to stderr (server started, window created, page loaded, UI interactive), in
//! ms since `main()` and as wall-clock time (so the benchmark can count from before
//! `exec`), and the page's own clock for the last stretch.
//!
//! "Interactive" means the UI has mounted (`#app` has content), a frame has been rendered
//! with it, and the page's main thread is free to answer: a probe injected before the
//! page's own scripts watches `#app`, then waits for the next animation frame and one more
//! task, and resolves a promise. The shell reports the moment the answer reaches it. On
//! Linux it asks once and WebKitGTK awaits the promise: polling the page throughout
//! start-up would be work for both processes, and on two cores that work delays the
//! start-up being measured. Other webviews cannot await a script's promise, so there the
//! shell asks every few milliseconds once the page has loaded.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tauri::webview::PageLoadEvent;
use tauri::{Manager, Runtime, WebviewWindow, WebviewWindowBuilder};

/// Runs before the page's scripts: `window.__STREAMSCOPE_TIMING__.ready` resolves once
/// `#app` has content and a frame has been rendered after it (a page without `#app`, the
/// server's "not built" page, counts once parsed). Page-clock times go beside it.
const WATCH_MOUNT: &str = "(function () { if (window.top !== window) return; \
     const t = (window.__STREAMSCOPE_TIMING__ = {}); \
     t.ready = new Promise(function (resolve) { \
       const frame = function () { requestAnimationFrame(function () { \
         t.frame = performance.now(); \
         setTimeout(function () { t.answered = performance.now(); resolve(true); }, 0); }); }; \
       document.addEventListener('DOMContentLoaded', function () { \
         const a = document.getElementById('app'); if (!a) { frame(); return; } \
         let watch = null; \
         const seen = function () { if (!a.children.length || t.mounted) return; \
           t.mounted = performance.now(); if (watch) watch.disconnect(); frame(); }; \
         seen(); if (!t.mounted) { watch = new MutationObserver(seen); watch.observe(a, { childList: true }); } \
       }); }); })();";

/// The page's own clock, once ready: ms from navigation start to the DOM being parsed, to
/// the load event, to the UI mounting, to the first frame after it, and to the answer.
const PAGE_CLOCK: &str = "(function () { \
     const n = performance.getEntriesByType('navigation')[0] || {}; \
     const t = window.__STREAMSCOPE_TIMING__ || {}; \
     const ms = function (v) { return Math.round(v || 0); }; \
     return 'page clock: dom parsed ' + ms(n.domContentLoadedEventEnd) + ' ms, load event ' + \
       ms(n.loadEventEnd) + ' ms, UI mounted ' + ms(t.mounted) + ' ms, frame ' + ms(t.frame) + \
       ' ms, answered ' + ms(t.answered) + ' ms after navigation start'; })()";

/// With `STREAMSCOPE_TIMING=detail`: every resource the page fetched and every mark it
/// set (`performance.mark`), each as `name@start+duration` in page-clock ms.
const PAGE_ENTRIES: &str = "'page entries: ' + performance.getEntries() \
     .filter(function (e) { return e.entryType !== 'navigation'; }) \
     .map(function (e) { return e.entryType.charAt(0) + ':' + e.name.replace(/^.*\\//, '') + '@' + \
       Math.round(e.startTime) + (e.duration ? '+' + Math.round(e.duration) : ''); }).join(' ')";

pub(crate) fn enabled() -> bool {
    std::env::var_os("STREAMSCOPE_TIMING").is_some()
}

fn detail() -> bool {
    std::env::var_os("STREAMSCOPE_TIMING").is_some_and(|v| v == "detail")
}

/// Prints one milestone (when timing is on).
pub(crate) fn report(what: &str, started: Instant) {
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    eprintln!(
        "streamscope: timing: {what} {} ms after main(), unix_ms={unix_ms}",
        started.elapsed().as_millis()
    );
}

/// Adds the probes to the main window's builder.
pub(crate) fn instrument<'a, R: Runtime, M: Manager<R>>(
    window: WebviewWindowBuilder<'a, R, M>,
    started: Instant,
) -> WebviewWindowBuilder<'a, R, M> {
    let asked = Arc::new(AtomicBool::new(false));
    window
        .initialization_script(WATCH_MOUNT)
        .on_page_load(move |window, page| {
            if page.event() != PageLoadEvent::Finished {
                return;
            }
            report("page loaded", started);
            if !asked.swap(true, Ordering::SeqCst) {
                await_ready(window, started);
            }
        })
}

/// Reports "interactive" when the page's ready promise has resolved, then the page clock.
fn ready<R: Runtime>(window: &WebviewWindow<R>, started: Instant) {
    report("interactive", started);
    let _ = window.eval_with_callback(PAGE_CLOCK, |clock| {
        eprintln!("streamscope: timing: {}", clock.trim_matches('"'));
    });
    if detail() {
        let _ = window.eval_with_callback(PAGE_ENTRIES, |entries| {
            eprintln!("streamscope: timing: {}", entries.trim_matches('"'));
        });
    }
}

/// One call that the page answers when its ready promise resolves.
#[cfg(target_os = "linux")]
fn await_ready<R: Runtime>(window: WebviewWindow<R>, started: Instant) {
    let page = window.clone();
    let asked = window.with_webview(move |webview| {
        use webkit2gtk::WebViewExt;
        webview.inner().call_async_javascript_function(
            "return await window.__STREAMSCOPE_TIMING__.ready;",
            None,
            None,
            None,
            None::<&webkit2gtk::gio::Cancellable>,
            move |answer| match answer {
                Ok(_) => ready(&page, started),
                Err(e) => eprintln!("streamscope: timing: the page did not answer: {e}"),
            },
        );
    });
    if let Err(e) = asked {
        eprintln!("streamscope: timing: cannot ask the page: {e}");
    }
}

/// Asks every few milliseconds whether the ready promise has resolved (where the webview
/// cannot await a script's promise).
#[cfg(not(target_os = "linux"))]
fn await_ready<R: Runtime>(window: WebviewWindow<R>, started: Instant) {
    use std::time::Duration;
    /// How often the page is asked.
    const POLL: Duration = Duration::from_millis(4);
    /// Gives up asking after this long (a UI that never mounts).
    const GIVE_UP: Duration = Duration::from_secs(30);
    const ANSWERED: &str = "!!(window.__STREAMSCOPE_TIMING__ || {}).answered";
    let done = Arc::new(AtomicBool::new(false));
    std::thread::spawn(move || {
        let asking = Instant::now();
        while !done.load(Ordering::SeqCst) && asking.elapsed() < GIVE_UP {
            let done = done.clone();
            let page = window.clone();
            let _ = window.eval_with_callback(ANSWERED, move |answer| {
                if answer == "true" && !done.swap(true, Ordering::SeqCst) {
                    ready(&page, started);
                }
            });
            std::thread::sleep(POLL);
        }
    });
}
