#!/usr/bin/env bash
# Installs what building and testing Streamscope needs on Debian/Ubuntu, idempotently:
# nothing is installed twice, and a machine that already has everything is left alone.
#
#   scripts/setup.sh            build + test prerequisites
#
# Needs root (or sudo) only when something is missing.
set -euo pipefail

need_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_packages=(build-essential pkg-config curl python3 python3-pip time)
# The desktop app (Tauri v2 on WebKitGTK) and its smoke test under Xvfb: WebKitWebDriver
# comes from webkit2gtk-driver; ImageMagick renders the icons and the screen shots.
apt_packages+=(libwebkit2gtk-4.1-dev xvfb xauth webkit2gtk-driver chromium imagemagick)
# The tap's browser test trusts the proxy's generated CA in a temporary NSS database
# (certutil), as a user does for Chromium; openssl makes the page server's certificate.
apt_packages+=(libnss3-tools openssl)
# The UI is built with Node and npm (Debian's are recent enough from bookworm on).
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || apt_packages+=(nodejs npm)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  need_root apt-get update -qq
  need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# Rust: Debian's cargo is too old for edition 2024, so use rustup when cargo is missing.
if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: installing Rust with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi

# The interop tests run sscope against third-party servers: Python websockets and aiohttp
# (brotli for its br-encoded streams).
if ! python3 -c 'import websockets, aiohttp, brotli' >/dev/null 2>&1; then
  echo "setup: installing Python packages websockets, aiohttp and brotli"
  python3 -m pip install --quiet websockets aiohttp brotli 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages websockets aiohttp brotli
fi

# Node 18 or newer for Vite.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 18 ]; then
  echo "setup: Node $node_major is too old for the UI build; install Node 18 or newer (e.g. from NodeSource)" >&2
  exit 1
fi

# The desktop smoke test drives the app through tauri-driver (it speaks WebDriver to
# WebKitWebDriver). Built once into ~/.cargo/bin, outside the project's target directory.
if ! command -v tauri-driver >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
  echo "setup: installing tauri-driver"
  env -u CARGO_TARGET_DIR cargo install tauri-driver --version '^2' --locked
fi
