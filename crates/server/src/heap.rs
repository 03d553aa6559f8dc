//! How the process's allocator keeps freed memory: the two ways Streamscope uses memory
//! want opposite settings, and a long-running server must give forgotten recordings'
//! memory back. The workspace's one exception to `unsafe_code = "deny"` lives here:
//! glibc's `mallopt` and `malloc_trim` have no safe wrapper. Elsewhere (not glibc) every
//! function here does nothing.

use std::time::Duration;

use streamscope_engine::session::Session;

/// How often the server looks whether recordings were dropped (connections forgotten).
const RELEASE_EVERY: Duration = Duration::from_secs(2);

/// Recording memory freed since the last look that is worth giving back to the system:
/// less is not worth walking the heap for.
const RELEASE_AFTER: usize = 16 << 20;

/// For `sscope ws|sse`: every frame becomes a record that is allocated, printed and
/// freed. With glibc's defaults, freeing a large record at the top of the heap trims it
/// and the next one grows it again, so the kernel zeroes fresh pages for every 64 KiB
/// message (15 % of an SSE run, BENCHMARKS.md). Keeping up to 64 MiB of freed heap stops
/// that churn; the heap still only holds what was once in use. Call it before any other
/// thread exists.
#[allow(unsafe_code)]
pub fn tune_for_streaming() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator's thresholds.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
    }
}

/// For the server (`sscope serve`, the desktop app): recordings live long and are dropped
/// whole when a connection is forgotten, and that memory must go back to the system.
/// Every full recording segment (1 MiB) gets a mapping of its own, which freeing unmaps;
/// with glibc's defaults the threshold rises past 1 MiB after the first free and the
/// segments land in the heap, where freed ones stay. Measured with 100 connections of
/// 4 MiB each (`sscope serve`, then DELETE): RSS 430 → 331 MiB before, 430 → 124 MiB with
/// this alone, 430 → 20 MiB with [`release_dropped_recordings`] as well. Call it before
/// any other thread exists.
#[allow(unsafe_code)]
pub fn tune_for_recordings() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator's thresholds.
    unsafe {
        // A fixed threshold (mallopt turns the rising one off), at the segment size.
        let segment = streamscope_engine::recording::memory::SEGMENT_SIZE;
        libc::mallopt(
            libc::M_MMAP_THRESHOLD,
            libc::c_int::try_from(segment).unwrap_or(libc::c_int::MAX),
        );
    }
}

/// Gives freed heap pages back to the system, wherever they are in the heap: what the
/// mapping threshold leaves behind, a recording's smaller first segments and its index.
/// Takes a few milliseconds on a large heap: call it off the runtime's workers.
#[allow(unsafe_code)]
fn release() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages; it takes the allocator's own locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Gives the memory of forgotten recordings back to the system once at least 16 MiB of
/// them went. The allocator keeps freed memory for reuse, so without this a server whose
/// connections were forgotten would keep its peak size for good. Ends with the session.
pub async fn release_dropped_recordings(session: Session) {
    let mut high = session.memory_use().0;
    loop {
        tokio::select! {
            () = session.stopped() => return,
            () = tokio::time::sleep(RELEASE_EVERY) => {}
        }
        let used = session.memory_use().0;
        if high.saturating_sub(used) >= RELEASE_AFTER {
            let _ = tokio::task::spawn_blocking(release).await;
            high = used;
        } else {
            high = high.max(used);
        }
    }
}
