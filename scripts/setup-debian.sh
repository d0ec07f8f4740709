#!/usr/bin/env bash
# Installs what seglens needs at run time on Debian/Ubuntu: Mesa's Vulkan driver, so
# wgpu has an adapter (a software one, lavapipe, on machines without a GPU).
# Building needs no system -dev packages. Safe to run again: it installs only what is missing.
set -euo pipefail

packages=(mesa-vulkan-drivers libvulkan1)
# A real window needs these at run time (everything is loaded with dlopen, so building
# does not); SEGLENS_SETUP_XVFB=1 adds a virtual display for headless smoke runs.
packages+=(libxkbcommon-x11-0 libxcursor1 libxrandr2 libxi6 libx11-xcb1 libwayland-client0 libwayland-egl1 libegl1)
if [ "${SEGLENS_SETUP_XVFB:-0}" = 1 ]; then
    packages+=(xvfb xauth)
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
        sudo="sudo"
    fi
    echo "setup: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null; then
    echo "setup: cargo not found. seglens needs Rust 1.95 or newer (https://rustup.rs)." >&2
    exit 1
fi
