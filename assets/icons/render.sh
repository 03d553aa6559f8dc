#!/usr/bin/env bash
# Renders icon.svg to the PNG sizes and the .ico that tauri.conf.json's bundle.icon lists.
# Chromium draws the SVG (ImageMagick's own SVG renderer ignores gradients and opacity);
# ImageMagick scales and packs. The outputs are committed; run this after editing the SVG.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
timeout 60 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
  --user-data-dir="$tmp/profile" --default-background-color=00000000 \
  --window-size=512,512 --force-device-scale-factor=2 \
  --screenshot="$tmp/full.png" "file://$PWD/icon.svg" 2>/dev/null
# Drawn at twice the size, then scaled down, for smooth edges at every size.
for s in 32 128 256 512; do
  convert "$tmp/full.png" -filter Lanczos -resize "${s}x${s}" "PNG32:${s}x${s}.png"
done
convert 256x256.png 128x128.png 32x32.png \( 256x256.png -resize 48x48 \) \( 256x256.png -resize 16x16 \) icon.ico
