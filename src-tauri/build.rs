//! Tauri's build step for the desktop app: reads tauri.conf.json beside the root
//! Cargo.toml, the capabilities and the shell's permissions under src-tauri/.

fn main() {
    // tauri-build looks in ./capabilities and ./permissions unless told otherwise, and
    // does not watch the patterns it is given.
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    println!("cargo:rerun-if-changed=src-tauri/permissions");
    let manifest =
        tauri_build::AppManifest::new().permissions_path_pattern("src-tauri/permissions/*.toml");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("src-tauri/capabilities/*.json")
        .app_manifest(manifest);
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri build step failed: {e:#}");
    }
}
