#!/usr/bin/env bash
# Installs what building and testing Cirrus needs, idempotently. Safe to run again.
#
#   - a Rust toolchain >= the workspace rust-version, with rustfmt and clippy;
#   - a C and C++ compiler (the fuzz target builds libFuzzer);
#   - python3 (benchmarks and the demo's generated data).
#
# Set CIRRUS_SKIP_APT=1 to never call apt-get.
set -euo pipefail

log() { printf '[install] %s\n' "$*" >&2; }

need_rust="1.94.1"
apt_packages=()

if ! command -v cc >/dev/null 2>&1 || ! command -v c++ >/dev/null 2>&1; then
  apt_packages+=(build-essential)
fi
if ! command -v python3 >/dev/null 2>&1; then
  apt_packages+=(python3 python3-venv)
fi
if ! command -v pkg-config >/dev/null 2>&1; then
  apt_packages+=(pkg-config)
fi

if ((${#apt_packages[@]})); then
  if [[ "${CIRRUS_SKIP_APT:-0}" == 1 ]]; then
    log "missing Debian packages: ${apt_packages[*]} (CIRRUS_SKIP_APT=1, not installing)"
  else
    sudo=""
    if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
    log "installing Debian packages: ${apt_packages[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${apt_packages[@]}"
  fi
fi

if [[ -d "$HOME/.cargo/bin" ]]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  log "error: no Rust toolchain. Install Rust >= $need_rust with rustup (https://rustup.rs), then run this again."
  exit 1
fi
have_rust=$(rustc --version | awk '{print $2}')
if [[ "$(printf '%s\n%s\n' "$need_rust" "$have_rust" | sort -V | head -n1)" != "$need_rust" ]]; then
  log "error: rustc $have_rust is older than the required $need_rust; update it (rustup update stable)."
  exit 1
fi
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    if command -v rustup >/dev/null 2>&1; then
      log "adding rustup component $component"
      rustup component add "$component"
    else
      log "error: cargo $component is missing and rustup is not available to add it."
      exit 1
    fi
  fi
done
log "ok: rustc $have_rust, $(cargo fmt --version), $(cargo clippy --version)"
