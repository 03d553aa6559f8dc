//! Finds the `sscope` binary under test. Building it is left to the caller, so the suite
//! checks the same binary a user runs instead of a copy compiled for the tests.

use std::path::PathBuf;

/// The `sscope` to run: `$SSCOPE_BIN` when set, else `sscope` in the target directory the
/// test executable was built into (`target/<profile>/deps/<test>` → `target/<profile>/sscope`).
///
/// Panics when it is missing, saying how to build it: a test that cannot find the binary
/// must fail, not pass.
pub fn sscope_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("SSCOPE_BIN") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "SSCOPE_BIN={} is not a file: point it at a built sscope",
            path.display()
        );
        return path;
    }
    let exe = std::env::current_exe().expect("the test executable's own path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test executable lives in target/<profile>/deps/");
    let path = profile_dir.join(format!("sscope{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} not found: run `cargo build -p sscope` first (same CARGO_TARGET_DIR), or set SSCOPE_BIN",
        path.display()
    );
    path
}
